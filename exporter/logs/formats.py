"""Line formats: which part of a log line is the message, which its level, and how to tell the format.

A format parses one line into named fields; only `Content` is mined, `Level` (when the
format has it) gives the level label, any other field can become a label
(`labels_from_fields`). Formats are named presets for common layouts, or patterns in
logparser's notation (`<Date> <Time> <Level> <Component>: <Content>`), or found
automatically from the first lines of a source (`detect`): the preset that parses most of
them, else a *level column* (the token position where a level word sits on most lines),
else none (the whole line is mined); then the messages it leaves are read for header tokens it
did not cut (a host and a level, a logger and ` - `, a zone), which are cut too
(HeaderRestFormat). A line the chosen format does not parse is mined whole and counted, never
dropped.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

CONTENT = "Content"
LEVEL = "Level"

# Level words and letters as logs write them -> the level label. Single letters only count in a
# field that is a level by position (logcat, klog), never when searched for in free text.
LEVEL_WORDS = {"TRACE": "debug", "DEBUG": "debug", "FINE": "debug", "FINER": "debug", "FINEST": "debug",
               "VERBOSE": "debug", "TRC": "debug", "DBG": "debug", "VRB": "debug", "TRCE": "debug", "DBUG": "debug",
               "INFO": "info", "INF": "info", "INFORMATION": "info", "NOTICE": "info", "NOTE": "info", "LOG": "info",
               "CONFIG": "info", "WARN": "warning", "WARNING": "warning", "WRN": "warning", "ERROR": "error",
               "ERR": "error", "FAIL": "error", "SEVERE": "error", "FATAL": "critical", "FTL": "critical",
               "CRITICAL": "critical", "CRIT": "critical", "PANIC": "critical", "ALERT": "critical", "EMERG": "critical",
               "EMERGENCY": "critical", "SYSTEM": "info"}  # SYSTEM: MySQL 8's [System] (start, stop, ready)
LEVEL_LETTERS = {"V": "debug", "D": "debug", "T": "debug", "I": "info", "N": "info", "W": "warning", "E": "error",
                 "F": "critical", "C": "critical", "A": "critical"}
# Redis (and Valkey) mark the level with a sign: . debug, - verbose, * notice, # warning
LEVEL_MARKS = {".": "debug", "-": "debug", "*": "info", "#": "warning"}
SYSLOG_SEVERITIES = ["critical", "critical", "critical", "error", "warning", "info", "info", "debug"]  # 0..7
# Node's pino and bunyan write levels as numbers: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal
TENS_LEVELS = {10: "debug", 20: "debug", 30: "info", 40: "warning", 50: "error", 60: "critical"}


def level_name(word: str | None) -> str | None:
    """A level field's value -> debug/info/warning/error/critical, or None when it is not a level."""
    if not word:
        return None
    word = word.strip("[]():").strip().upper()
    if word in LEVEL_WORDS:
        return LEVEL_WORDS[word]
    if word[-1:].isdigit() and (word[:-1] in LEVEL_WORDS or word[:-1] == "D"):  # PostgreSQL's DEBUG1-5, MongoDB's D1-5
        return LEVEL_WORDS.get(word[:-1], "debug")
    if word.isdigit():  # a syslog severity (0-7, GELF too) or pino's and bunyan's tens
        number = int(word)
        return SYSLOG_SEVERITIES[number] if number < len(SYSLOG_SEVERITIES) else TENS_LEVELS.get(number)
    if len(word) == 1:
        return LEVEL_LETTERS.get(word) or LEVEL_MARKS.get(word)
    return None


@dataclass(frozen=True)
class Parsed:
    content: str
    level: str | None  # from the format's level field, None when the format has none
    fields: dict[str, str]
    from_fields: bool = False  # the content is built from the record's fields (it had no message of its own)


TIME_KEYS = ("ts", "time", "t", "timestamp", "@timestamp", "@t")  # left out of a message built from fields


def _as_message(pairs: dict[str, str], level_key: str | None) -> str:
    """A record without a message key, as the message to mine: its pairs (values as the caller quoted them) less
    the time and level ones."""
    return " ".join(f"{k}={v}" for k, v in pairs.items() if k != level_key and k not in TIME_KEYS)


class LineFormat:
    """A named way to cut a line into fields."""

    name: str
    has_level: bool

    def parse(self, line: str) -> Parsed | None:  # pragma: no cover - interface
        raise NotImplementedError

    def field_names(self) -> frozenset[str] | None:
        """The fields its records can have; None when any key can be one (JSON, logfmt)."""
        return None


# The container runtime's prefix of a line in a Kubernetes pod's log file (CRI): time, stream, full/partial tag.
_CRI_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}T\S+ (?:stdout|stderr) [FP] ")


def runtime_payload(line: str) -> str:
    """The application's own line inside a container runtime's: after CRI's `time stream tag `, or the `log`
    value of Docker's json-file record; any other line as it is. Records are cut on this text (a stack frame
    is indented inside the wrapper, not before it)."""
    match = _CRI_PREFIX.match(line)
    if match:
        return line[match.end():]
    if line.startswith('{"log":'):
        try:
            value = json.loads(line).get("log")
        except (ValueError, AttributeError):
            return line
        if isinstance(value, str):
            return value.rstrip("\r\n")
    return line


# A structured message: a quoted message, then nothing or key=value pairs (klog's InfoS/ErrorS, as every
# Kubernetes component writes: `"Observed a panic" controller="deployment"`). The quotes would mask the message
# whole (<STR>), so the message is unquoted; the pairs stay (their quoted values are masked).
_QUOTED_MESSAGE = re.compile(r'"(?:[^"\\]|\\.)*"(?=$|\s+[\w.-]+=)')


def structured_message(content: str) -> str:
    """`content` with a leading quoted message unquoted when pairs or nothing follow it."""
    if not content.startswith('"'):
        return content
    match = _QUOTED_MESSAGE.match(content)
    return _unquote(match.group(0)) + content[match.end():] if match else content


class RegexFormat(LineFormat):
    def __init__(self, name: str, regex: str):
        self.name, self.regex = name, re.compile(regex)
        if CONTENT not in self.regex.groupindex:
            raise ValueError(f"format {name!r} has no <{CONTENT}> field")
        self.has_level = LEVEL in self.regex.groupindex or "Priority" in self.regex.groupindex

    def field_names(self) -> frozenset[str] | None:
        return frozenset(self.regex.groupindex) - {"Level2", "Thread2"}  # log4j's alternation, merged when parsed

    def parse(self, line: str) -> Parsed | None:
        match = self.regex.match(line)
        if match is None:
            return None
        fields = {k: v for k, v in match.groupdict().items() if v is not None}
        level = level_name(fields.get(LEVEL))
        if level is None and fields.get("Priority", "").isdigit():  # syslog's PRI = facility * 8 + severity
            level = SYSLOG_SEVERITIES[int(fields["Priority"]) % 8]
        return Parsed(structured_message(fields.get(CONTENT, "")), level, fields)


class JsonFormat(LineFormat):
    """JSON lines: the message and level under the keys structured loggers and journald use; a record without a
    message key (a JSON access log) is mined as its pairs less the time and level ones."""

    # short_message: GELF (Graylog); @mt / @m / @l: Serilog's compact format (CLEF), whose message template @mt
    # is mined as it is written
    MESSAGE_KEYS = ("message", "msg", "MESSAGE", "log", "text", "@message", "event", "short_message", "@mt", "@m")
    # s: MongoDB's structured log (4.4 and later: "s":"I", "c":"NETWORK", "msg":...), read last of all
    LEVEL_KEYS = ("level", "severity", "lvl", "levelname", "log.level", "PRIORITY", "loglevel", "@level", "@l", "s")

    def __init__(self, name: str = "json"):
        self.name, self.has_level = name, True

    def parse(self, line: str) -> Parsed | None:
        if not line.startswith("{"):
            return None
        try:
            record = json.loads(line)
        except ValueError:
            return None
        if not isinstance(record, dict):
            return None
        message = next((record[k] for k in self.MESSAGE_KEYS if isinstance(record.get(k), str)), None)
        level_key = next((k for k in self.LEVEL_KEYS if record.get(k) is not None), None)
        level = str(record[level_key]) if level_key is not None else None
        if level is None and ("@mt" in record or "@m" in record):
            level = "info"  # CLEF: a record without @l is Information
        fields = {k: str(v) for k, v in record.items() if isinstance(v, str | int | float | bool)}
        if message is None:
            quoted = {k: json.dumps(v) if any(c.isspace() for c in v) else v for k, v in fields.items()}  # one token
            return Parsed(_as_message(quoted, level_key), level_name(level), fields, from_fields=True)
        return Parsed(message, level_name(level), fields)


_LOGFMT_PAIR = re.compile(r'([^\s="]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)(?:\s+|$)')


def _unquote(value: str) -> str:
    """A logfmt value as written -> its text (a quoted value is Go-quoted: JSON's escapes, mostly)."""
    if not value.startswith('"'):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")


class LogfmtFormat(LineFormat):
    """logfmt: `key=value` pairs, values quoted when they hold spaces, as Prometheus, Alertmanager, Loki,
    Grafana, go-kit, Go's slog text handler and logrus write them.

    The message is the value of the first message key JSON lines use (`msg`, `message`, ...); the
    other pairs are fields, not mined (logfmt puts a record's variable details there). A line
    without a message key is mined as its pairs less the time and level ones; a bare message that
    ends with ':' only introduces the pairs after it (auditd's `msg=audit(...):`), so they are mined
    with it.
    """

    def __init__(self, name: str = "logfmt"):
        self.name, self.has_level = name, True

    def parse(self, line: str) -> Parsed | None:
        fields: dict[str, str] = {}
        ends: dict[str, int] = {}
        end = 0
        stripped = line.strip()
        for match in _LOGFMT_PAIR.finditer(stripped):
            if match.start() != end:
                return None
            fields.setdefault(match.group(1), match.group(2))  # a repeated key keeps its first value
            ends.setdefault(match.group(1), match.end())
            end = match.end()
        if end != len(stripped) or len(fields) < 2:
            return None
        level_key = next((k for k in JsonFormat.LEVEL_KEYS if fields.get(k)), None)
        message_key = next((k for k in JsonFormat.MESSAGE_KEYS if k in fields), None)
        if message_key is not None and fields[message_key].endswith(":") and not fields[message_key].startswith('"'):
            content = f"{fields[message_key]} {stripped[ends[message_key]:]}"
        elif message_key is not None:
            content = _unquote(fields[message_key])
        else:
            content = _as_message(fields, level_key)  # the values as written, quoted where they hold spaces
        values = {k: _unquote(v) for k, v in fields.items()}
        return Parsed(content, level_name(values[level_key]) if level_key else None, values,
                      from_fields=message_key is None)


class LevelColumnFormat(LineFormat):
    """Whitespace-separated header columns ending with a level word at a fixed position (found by detect())."""

    def __init__(self, index: int):
        self.index, self.has_level = index, True
        self.name = f"level-column:{index}"

    def field_names(self) -> frozenset[str] | None:
        return frozenset({LEVEL})

    def parse(self, line: str) -> Parsed | None:
        parts = line.split(None, self.index + 1)
        if len(parts) <= self.index:
            return None
        level = level_name(parts[self.index]) if len(parts[self.index]) > 1 else None
        if level is None:
            return None
        return Parsed(parts[self.index + 1] if len(parts) > self.index + 1 else "", level,
                      {LEVEL: parts[self.index]})


class ColonColumnFormat(LineFormat):
    """Header columns ending with a `component:` token at a fixed position (found by detect())."""

    def __init__(self, index: int):
        self.index, self.has_level = index, False
        self.name = f"colon-column:{index}"

    def field_names(self) -> frozenset[str] | None:
        return frozenset({"Component"})

    def parse(self, line: str) -> Parsed | None:
        parts = line.split(None, self.index + 1)
        if len(parts) <= self.index or not parts[self.index].endswith(":"):
            return None
        return Parsed(parts[self.index + 1] if len(parts) > self.index + 1 else "", None,
                      {"Component": parts[self.index][:-1]})


class DelimitedFormat(LineFormat):
    """Header fields split by a delimiter (`|`, tab, `;`): the message is what follows the first `count`."""

    NAMES = {"|": "pipe", "\t": "tab", ";": "semicolon"}

    def __init__(self, delimiter: str, count: int):
        self.delimiter, self.count, self.has_level = delimiter, count, False
        self.name = f"delimited:{self.NAMES.get(delimiter, delimiter)}:{count}"

    def field_names(self) -> frozenset[str] | None:
        return frozenset(f"Field{i + 1}" for i in range(self.count))

    def parse(self, line: str) -> Parsed | None:
        fields = line.split(self.delimiter, self.count)
        if len(fields) <= self.count:
            return None
        words = (f for f in fields[:-1] if len(f) > 1 and not f.isdigit() and level_name(f))
        return Parsed(fields[self.count], level_name(next(words, None)),
                      {f"Field{i + 1}": value for i, value in enumerate(fields[:-1])})


_STAMP_TOKEN = re.compile(r"^[\[(]?\d[\d\-/.:,_T+Z]*[\])]?,?$")


class StampPrefixFormat(LineFormat):
    """A leading run of date/time-like tokens (digits and separators, one holding a time) before the message."""

    name, has_level = "stamp-prefix", False

    def field_names(self) -> frozenset[str] | None:
        return frozenset({"Timestamp"})

    def parse(self, line: str) -> Parsed | None:
        parts = line.split(None, 4)
        taken = 0
        timed = False  # a token with the time taken: a bare number after it is the message's, not the stamp's
        while taken < min(len(parts) - 1, 4) and _STAMP_TOKEN.match(parts[taken]) and not (
                timed and parts[taken].isdigit()):
            timed = timed or ":" in parts[taken]
            taken += 1
        if not taken or not any(":" in token for token in parts[:taken]):
            return None
        rest = line.split(None, taken)
        return Parsed(rest[taken] if len(rest) > taken else "", None, {"Timestamp": " ".join(parts[:taken])})


# Header tokens a detected format can leave at the start of the message: a level word, a lone separator, a date,
# a time or a zone, a bracketed number, a bracketed word, a word with digits (a host, a pid). Single letters count
# as a level only before a date or time ("W 2026-10-11 ...").
HEADER_SEPARATORS = frozenset({"-", "--", "|", ":", "::", ">", ">>", "=>", "->", "-->", "»"})
_DATE_TOKEN = re.compile(r"^[\[(]?(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
                         r"(?:T\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?)?[\])]?,?$")
_TIME_TOKEN = re.compile(r"^[\[(]?\d{1,2}:\d{2}:\d{2}(?:[.,:]\d{1,9})?[\])]?,?$")
_ZONE_TOKEN = re.compile(r"^[\[(]?(?:[+-]\d{2}:?\d{2}|UTC|GMT|Z)[\])]?,?$")
# A number in brackets or after '#': the kernel's uptime stamp ([12.345678]), a worker or connection id (#0, <12>)
_NUMBER_TOKEN = re.compile(r"^(?:\[\d+(?:\.\d+)?\]|\(\d+(?:\.\d+)?\)|<\d+(?:\.\d+)?>|#\d+):?,?$")
# A bracketed word: a thread, a logger or a context ([main], [pool-1-thread-3], {req=12})
_BRACKET_TOKEN = re.compile(r"^(?:\[[^\[\]\s]+\]|\{[^{}\s]+\}):?$")
_DIGITS = re.compile(r"\d+")
MAX_HEADER_REST = 5  # tokens at the start of a message that can still be header
HEADER_KINDS = ("level", "separator", "stamp", "number", "bracket", "id")


def digit_shape(text: str) -> str:
    """`text` with every run of digits as 0: node-3 and node-12 have one shape."""
    return _DIGITS.sub("0", text)


def header_level(token: str) -> str | None:
    """The level a header token names (`INFO`, `[warn]`, `<info>`, `Error:`), None when it names none."""
    return None if token.isdigit() else level_name(token.strip("<>"))


def header_token_kind(tokens: Sequence[str], i: int) -> str | None:
    """What header token tokens[i] is: one of HEADER_KINDS, or None (a word of the message, or unsure)."""
    token = tokens[i]
    if token in HEADER_SEPARATORS:
        return "separator"
    if _DATE_TOKEN.match(token) or _TIME_TOKEN.match(token) or _ZONE_TOKEN.match(token):
        return "stamp"
    if _NUMBER_TOKEN.match(token):
        return "number"
    if header_level(token) is None:
        if _BRACKET_TOKEN.match(token):
            return "bracket"
        return "id" if any(c.isdigit() for c in token) else None
    word = token.strip("[]()<>:")
    if len(word) > 1:  # as headers write levels (INFO, [info], <info>, Info:), not as a message uses one (cache error)
        return "level" if word.isupper() or token[:1] in "[<" or token.endswith(":") else None
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    return "level" if i == 0 and (_DATE_TOKEN.match(nxt) or _TIME_TOKEN.match(nxt)) else None


class HeaderRestFormat(LineFormat):
    """A detected format whose messages still begin with header tokens (found by detect(): a host and a level after
    the time, a logger and a ` - `, a zone after a bracketed time): on each line whose token `count - 1` of the
    message is of the same kind (one of HEADER_KINDS), the first `count` tokens are cut off; the
    level is read among them when the format gave none. Lines where it is not stay as the format parsed them."""

    def __init__(self, inner: LineFormat, count: int, kind: str):
        self.inner, self.count, self.kind = inner, count, kind
        self.name, self.has_level = f"{inner.name}>{kind}:{count}", True

    def field_names(self) -> frozenset[str] | None:
        inner = self.inner.field_names()
        return None if inner is None else inner | {LEVEL, "Header"}

    def parse(self, line: str) -> Parsed | None:
        parsed = self.inner.parse(line)
        if parsed is None or parsed.from_fields:
            return parsed
        tokens = parsed.content.split(None, self.count)
        if (len(tokens) < self.count or header_token_kind(tokens, self.count - 1) != self.kind
                or (self.kind == "level" and parsed.level is not None)):
            return parsed
        header = tokens[:self.count]
        level = parsed.level or next((header_level(t) for i, t in enumerate(header)
                                      if header_token_kind(header + tokens[self.count:self.count + 1], i) == "level"),
                                     None)
        return Parsed(tokens[self.count] if len(tokens) > self.count else "", level,
                      {**parsed.fields, "Header": " ".join(header), **({LEVEL: level} if level else {})})


class WholeLine(LineFormat):
    name, has_level = "none", False

    def field_names(self) -> frozenset[str] | None:
        return frozenset()

    def parse(self, line: str) -> Parsed | None:
        return Parsed(line, None, {})


# ---- presets ---------------------------------------------------------------------------------------
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MON = "(?:" + "|".join(_MONTHS) + ")"
_DOW = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_HMS = r"\d{1,2}:\d{2}:\d{2}(?:[.,:]\d{1,9})?"
_LEVEL_WORD = r"(?i:TRACE|DEBUG[1-5]?|FINEST|FINER|FINE|CONFIG|INFORMATION|INFO|NOTICE|NOTE|WARNING|WARN|ERROR|ERR|SEVERE" \
              r"|FATAL|CRITICAL|CRIT|PANIC|ALERT|EMERG|TRC|DBG|VRB|INF|WRN|FTL|LOG(?=:)|SYSTEM(?=\]))"
# A leading timestamp in the shapes loggers write: ISO 8601 (T or space, fractions, zone), yy/MM/dd,
# yyyy/MM/dd, yyMMdd HHmmss, dd-MMM-yyyy, dd/MMM/yyyy (space or colon before the time), yyyy.MM.dd, syslog's
# "MMM d HH:mm:ss", ctime's "EEE MMM d HH:mm:ss yyyy".
_TIMESTAMP = (r"(?:\d{4}-\d{2}-\d{2}(?:T| {1,2})" + _HMS + r"(?:Z|[+-]\d{2}:?\d{2}| [+-]\d{4})?"
              r"|\d{2,4}/\d{2}/\d{2}[ T]" + _HMS +
              r"|\d{6} \d{6}"
              r"|\d{2}-" + _MON + r"-\d{4} " + _HMS +
              r"|\d{2}/" + _MON + r"/\d{4}[: ]" + _HMS +
              r"|\d{4}\.\d{2}\.\d{2} " + _HMS +
              r"|" + _DOW + " " + _MON + r" [ \d]\d " + _HMS + r" \d{4}"
              r"|" + _MON + r" [ \d]\d " + _HMS + ")")
_GENERIC_COMPONENT = r"(?:(?P<Component>[\w$.@/#\-]+(?:\[\d+\])?): +|(?P<Caller>[\w$.@/#\-]+:\d+)\t)"
_THREAD = r"\[(?P<Thread>[^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*)\]"  # one level of nested brackets
_COMPONENT = r"(?P<Component>[\w$.@/\-]+(?:\([^)\s]*\))?)"

PRESET_PATTERNS: dict[str, str] = {
    # RFC 3164 syslog (and journalctl's default "short" output): host, program[pid]: message
    "syslog": r"^(?:<\d{1,3}>)?(?P<Timestamp>" + _MON + r" [ \d]\d " + _HMS + r"|\d{4}-\d{2}-\d{2}T" + _HMS +
              r"(?:Z|[+-]\d{2}:?\d{2})?) (?P<Host>\S+(?<!:)) "
              r"(?P<Component>[^\s\[:]+(?:\([^)]*\))?|[^\[:]+(?=\[\d+\]))(?:\[(?P<Pid>\d+)\])?:"
              r" ?(?P<Content>.*)$",
    # RFC 5424 syslog: <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG
    "syslog5424": r"^<(?P<Priority>\d{1,3})>1 (?P<Timestamp>\S+) (?P<Host>\S+) (?P<Component>\S+) (?P<Pid>\S+) "
                  r"(?P<MsgId>\S+) (?P<StructuredData>-|(?:\[[^\]]*\])+) ?(?P<Content>.*)$",
    # Apache httpd error log (2.2 and 2.4): [time] [module:level] [pid N:tid M] [client a:p] message
    "apache_error": r"^\[(?P<Timestamp>[^\]]+)\] \[(?:(?P<Module>[\w-]+):)?(?P<Level>[a-z]+\d?)\]"
                    r"(?: \[pid (?P<Pid>\d+)(?::tid \d+)?\])?(?: \[client (?P<Client>[^\]]+)\])? (?P<Content>.*)$",
    # nginx error log: yyyy/MM/dd HH:mm:ss [level] pid#tid: *conn message
    "nginx_error": r"^(?P<Timestamp>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[(?P<Level>\w+)\] (?P<Pid>\d+)#(?P<Tid>\d+):"
                   r" (?:\*\d+ )?(?P<Content>.*)$",
    # Common / combined access log (Apache, nginx): the request line is the message
    "access": r"^(?P<Client>\S+) \S+ (?P<User>\S+) \[(?P<Timestamp>[^\]]+)\] \"(?P<Content>[^\"]*)\" "
              r"(?P<Status>\d{3}) (?P<Size>\S+)(?: \"(?P<Referer>[^\"]*)\" \"(?P<UserAgent>[^\"]*)\")?.*$",
    # Log4j / Logback / Log4j2 layouts: timestamp, optional pid, optional "-", level and thread in
    # either order, logger, then ":" or " - " before the message
    "log4j": r"^(?P<Timestamp>" + _TIMESTAMP + r"|\d{2}:\d{2}:\d{2}[.,]\d{3}),? +(?:(?P<Pid>\d+) +)?(?:- +)?"
             r"(?:" + _THREAD + r" +(?P<Level>" + _LEVEL_WORD + r")|(?P<Level2>" + _LEVEL_WORD + r")(?: +" +
             _THREAD.replace("Thread", "Thread2") + r")?) +(?:" + _COMPONENT + r"(?: *:| +-) +|- +)?(?P<Content>.*)$",
    # Spring Boot's default console and file layout (Logback): time, level, pid, "---", optional [app], [thread],
    # logger, " : " before the message
    "springboot": r"^(?P<Timestamp>\d{4}-\d{2}-\d{2}[T ]" + _HMS + r"(?:Z|[+-]\d{2}:?\d{2})?) +(?P<Level>"
                  + _LEVEL_WORD + r") +(?P<Pid>\d+) +--- +(?:\[(?P<App>[^\]]*)\] +)?\[(?P<Thread>[^\]]*)\] +"
                  r"(?P<Component>\S+) +: (?P<Content>.*)$",
    # Python logging: the default "%(levelname)s:%(name)s:%(message)s", and "asctime - name - level - message"
    "python": r"^(?P<Level>DEBUG|INFO|WARNING|ERROR|CRITICAL):(?P<Component>[^:\s]*):(?P<Content>.*)$",
    "python_asctime": r"^(?P<Timestamp>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) - (?P<Component>\S+) - "
                      r"(?P<Level>DEBUG|INFO|WARNING|ERROR|CRITICAL) - (?P<Content>.*)$",
    # Tomcat catalina.out / java.util.logging OneLineFormatter: dd-MMM-yyyy HH:mm:ss.SSS LEVEL [thread] class msg
    "catalina": r"^(?P<Timestamp>\d{2}-" + _MON + r"-\d{4} \d{2}:\d{2}:\d{2}\.\d{3}) (?P<Level>[A-Z]+) "
                r"\[(?P<Thread>[^\]]+)\] (?P<Component>\S+) (?P<Content>.*)$",
    # java.util.logging's SimpleFormatter default (Tomcat before 8.5, Jenkins, plain Java programs) writes two lines:
    # "MMM d, yyyy h:mm:ss a source method", then "LEVEL: message"; the first is a header alone on its line (see
    # HEADER_ONLY_LINES), and the record's next line gives the level and the message
    "jul": r"^(?P<Timestamp>" + _MON + r" \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2}(?: [AP]M)?) (?P<Component>[\w$.]+)"
           r"(?: (?P<Method>[\w$<>.-]+))?(?P<Content>)$",
    # Kubernetes klog: Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg
    "klog": r"^(?P<Level>[IWEF])(?P<Timestamp>\d{4} \d{2}:\d{2}:\d{2}\.\d{6}) +(?P<Pid>\d+) (?P<Source>[^\]\s]+)\] "
            r"(?P<Content>.*)$",
    # Go's standard log package: yyyy/MM/dd HH:mm:ss[.micro] [file.go:line: ]message
    "golog": r"^(?P<Timestamp>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?) (?:(?P<Source>[\w./-]+\.go:\d+): )?"
             r"(?P<Content>.*)$",
    # .NET's console logger (Microsoft.Extensions.Logging): "info: Category[EventId]", the message on the next,
    # indented line (or after it, with SingleLine), an optional timestamp first
    "dotnet": r"^(?:\[?(?P<Timestamp>" + _TIMESTAMP + r"|\d{2}:\d{2}:\d{2}(?:[.,]\d+)?)\]? +)?"
              r"(?P<Level>trce|dbug|info|warn|fail|crit): (?P<Component>[^\s\[]+)\[(?P<EventId>\d+)\]"
              r"(?: (?P<Content>.*))?$",
    # Android logcat "threadtime": MM-dd HH:mm:ss.SSS pid tid L tag: message
    "logcat": r"^(?P<Timestamp>\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}) +(?P<Pid>\d+) +(?P<Tid>\d+) (?P<Level>[VDIWEFA]) "
              r"(?P<Component>.*?) *: (?P<Content>.*)$",
    # Kubernetes container logs as the kubelet writes them (CRI): time, stream, partial/full tag, the line
    "cri": r"^(?P<Timestamp>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) "
           r"(?P<Stream>stdout|stderr) (?P<Tag>[FP]) (?P<Content>.*)$",
    # Redis and Valkey: pid:role (X sentinel, C child, S replica, M primary), dd MMM yyyy HH:mm:ss.SSS, the level's
    # sign (. - * #), the message
    "redis": r"^(?P<Pid>\d+):(?P<Role>[XCSM]) (?P<Timestamp>\d{1,2} " + _MON + r" \d{4} " + _HMS + r") "
             r"(?P<Level>[.*#-]) (?P<Content>.*)$",
    # Ruby's Logger (Rails, Puma, Sidekiq before 6): L, [time #pid] LEVEL -- progname: message
    "ruby": r"^[DIWEFAU], \[(?P<Timestamp>[^\]#]+?) #(?P<Pid>\d+)\] +(?P<Level>[A-Z]+) -- (?P<Component>[^:]*?): "
            r"(?P<Content>.*)$",
    # Time and level in one bracket, then the message: Celery's "[%(asctime)s: %(levelname)s/%(processName)s]",
    # "[time LEVEL]", "[time] [LEVEL]" is the generic shape
    "bracketed": r"^\[(?P<Timestamp>" + _TIMESTAMP + r")[:,]? +(?P<Level>" + _LEVEL_WORD + r")"
                 r"(?:[/: ]+(?P<Process>[^\]]*))?\] +(?P<Content>.*)$",
    # Envoy's (and Istio's) default access log: [time] "request line" status flags ...; the request line is the
    # message, as in the common access log
    "envoy": r"^\[(?P<Timestamp>\d{4}-\d{2}-\d{2}T[^\]]+)\] \"(?P<Content>[^\"]*)\" (?P<Status>\d{3}) "
             r"(?P<Flags>\S+) .*$",
    # ClickHouse: yyyy.MM.dd HH:mm:ss.micro [ thread ] {query id} <Level> Logger: message
    "clickhouse": r"^(?P<Timestamp>\d{4}\.\d{2}\.\d{2} " + _HMS + r") \[ *(?P<Tid>\d+) *\] \{(?P<QueryId>[^}]*)\} "
                  r"<(?P<Level>\w+)> (?P<Component>.+?): (?P<Content>.*)$",
    # The level first, then the timestamp (Log4j's "%-5level [%thread] %date %file:%line - %msg", as Cassandra
    # writes it, or "%-5p %d [%t] %c - %m"): thread before or after the time, an optional "source - "
    "level_first": r"^(?P<Level>" + _LEVEL_WORD + r") +(?:" + _THREAD + r" +)?(?P<Timestamp>" + _TIMESTAMP
                   + r"),? +(?:\[[^\]]*\] +)?(?:(?P<Source>[\w$.@/\-]+(?::\d+)?) +- +)?(?P<Content>.*)$",
    # The generic shape: a leading timestamp (and zone), then optionally a level (after a pid or thread number, as
    # PostgreSQL and MariaDB write it, or a bracketed context: Jenkins' [id=12], Airflow's {file.py:42}), the level
    # followed by space, tab, " - " or a bracketed logger (Elasticsearch: [TS][INFO ][o.e.n.Node  ]), and a
    # "component:" before the message, or a caller's file:line and a tab (zap's console encoder); a bracketed level may
    # be padded on either side ([info     ], Fluent Bit's [ warn])
    "generic": r"^\[?(?P<Timestamp>" + _TIMESTAMP + r"(?: (?:UTC|GMT))?)\]?,?(?:[ \t]+|(?=\[))"
               r"(?:(?:[\[{][^\]}\s]+[\]}][ \t]+)?(?:\[?(?P<Pid>\d+)\]?(?: +|(?=\[)))?(?:[\w.-]+=\S* +)*(?:\[ *|\| *)?"
               r"(?P<Level>" + _LEVEL_WORD + r")"
               r"(?: *[\]|])?:?(?:[ \t]+-[ \t]+|[ \t]+|(?=\[))(?:\[(?P<Logger>[\w$.@/#\-]+) *\][ \t]+)?)?"
               + _GENERIC_COMPONENT + r"?(?P<Content>.*)$",
}

# journald's JSON export (journalctl -o json: MESSAGE, PRIORITY) and structured loggers' JSON lines
PRESETS: dict[str, Callable[[], LineFormat]] = {"json": JsonFormat, "logfmt": LogfmtFormat,
                                                "none": WholeLine}  # none: mine the whole line


def _preset(name: str, pattern: str) -> Callable[[], LineFormat]:
    return lambda: {"log4j": _Log4jFormat, "generic": _GenericFormat}.get(name, RegexFormat)(name, pattern)


PRESETS.update({name: _preset(name, pattern) for name, pattern in PRESET_PATTERNS.items()})


# Auto-detection tries the narrowest layouts first (a catalina line also parses as log4j, any
# line with a leading timestamp as generic); a later preset wins only by parsing clearly more.
DETECTION_ORDER = ["json", "logfmt", "cri", "syslog5424", "syslog", "apache_error", "nginx_error", "access", "envoy",
                   "jul", "catalina", "springboot", "klog", "redis", "ruby", "clickhouse", "dotnet", "logcat", "python",
                   "python_asctime", "golog", "log4j", "level_first", "bracketed", "generic"]

# Headers that a layout writes alone on their line, the message on the next line even when that is not indented
# (java.util.logging's two-line default): the record assembler joins that line to the header.
_HEADER_ONLY_LINES = re.compile(PRESET_PATTERNS["jul"])
_HEADER_ONLY_STARTS = frozenset(_MONTHS)


def is_header_alone(line: str) -> bool:
    """Whether a layout writes this line alone, its message on the next line. Cheap for the lines that are not:
    such a header starts with a month's name, so most lines are ruled out by their first three characters."""
    return line[:3] in _HEADER_ONLY_STARTS and _HEADER_ONLY_LINES.match(line) is not None


class _GenericFormat(RegexFormat):
    """`generic`, whose level word is optional and matched in any case: a lower-case one written as a word of
    running text (`[main] error count 3`: no bracket, pipe or padding around it, no `:`, tab or ` - ` after it)
    is the message's first word, not a level, so the message starts there."""

    def parse(self, line: str) -> Parsed | None:
        parsed = super().parse(line)
        if parsed is None or LEVEL not in parsed.fields or not parsed.fields[LEVEL].islower():
            return parsed
        match = self.regex.match(line)
        assert match is not None  # it parsed
        start, end = match.span(LEVEL)
        before, after = line[:start].rstrip(" "), line[end:]
        if before.endswith(("[", "|")) or not re.match(r" \w", after) or after.startswith(" - "):
            return parsed
        fields = {k: v for k, v in parsed.fields.items() if k not in (LEVEL, "Logger", "Component", "Caller")}
        content = structured_message(line[start:])
        return Parsed(content, None, {**fields, CONTENT: content})


class _Log4jFormat(RegexFormat):
    """log4j's level and thread may come in either order: the alternation's groups are merged."""

    def parse(self, line: str) -> Parsed | None:
        match = self.regex.match(line)
        if match is None:
            return None
        groups = match.groupdict()
        level = groups.pop("Level") or groups.pop("Level2")
        groups.pop("Level2", None)
        thread = groups.pop("Thread") or groups.pop("Thread2")
        groups.pop("Thread2", None)
        fields = {k: v for k, v in {**groups, LEVEL: level, "Thread": thread}.items() if v is not None}
        return Parsed(fields.get(CONTENT, ""), level_name(level), fields)


class ComponentInMessage(LineFormat):
    """`generic` with its `component:` (or caller) left at the start of the message, still a field: detection takes
    it when such a word begins only some of the messages (`InnoDB: ...` among MariaDB's, a method name in
    `getTasks: caller 1011 ...`), so that it is part of those messages, not a column of the header."""

    name, has_level = "generic_plain", True

    def __init__(self) -> None:
        self.inner = _GenericFormat("generic", PRESET_PATTERNS["generic"])

    def field_names(self) -> frozenset[str] | None:
        return self.inner.field_names()

    def parse(self, line: str) -> Parsed | None:
        parsed = self.inner.parse(line)
        if parsed is None or not ("Component" in parsed.fields or "Caller" in parsed.fields):
            return parsed
        match = self.inner.regex.match(line)
        assert match is not None  # it parsed
        group = "Component" if match.group("Component") is not None else "Caller"
        return Parsed(line[match.start(group):match.start(CONTENT)] + parsed.content, parsed.level, parsed.fields)


PRESETS["generic_plain"] = ComponentInMessage


def compile_pattern(pattern: str, name: str | None = None) -> RegexFormat:
    """A logparser-style pattern (`<Date> <Time> <Level> <Component>: <Content>`) as a format.

    `<Name>` is a field (letters, digits, _); a run of spaces matches any run of whitespace;
    everything else is literal, except that regex escapes written in the pattern (`\\[`) stay
    escapes. Every field but the last matches lazily; the pattern must have a `<Content>`.
    """
    parts = re.split(r"(<[A-Za-z_][A-Za-z0-9_]*>)", pattern)
    regex, seen = "", set()
    fields = [p[1:-1] for p in parts if p.startswith("<") and p.endswith(">") and len(p) > 2]
    if CONTENT not in fields:
        raise ValueError(f"a format pattern needs a <{CONTENT}> field: {pattern!r}")
    for part in parts:
        if part.startswith("<") and part.endswith(">") and len(part) > 2:
            field = part[1:-1]
            if field in seen:
                raise ValueError(f"field <{field}> appears twice in {pattern!r}")
            seen.add(field)
            regex += f"(?P<{field}>.*)" if field == fields[-1] else f"(?P<{field}>.*?)"
        else:
            regex += re.sub(r" +", lambda _: r"\s+", re.sub(r"\\(.)|([^\\ ])",
                                                           lambda m: re.escape(m.group(1) or m.group(2)), part))
    return RegexFormat(name or pattern, "^" + regex + "$")


# Layouts that wrap another program's line: their message may carry that program's own header.
WRAPPERS = ("cri", "json")


class NestedFormat(LineFormat):
    """A wrapper (a container runtime's line, a JSON record) around the application's own line format."""

    def __init__(self, outer: LineFormat, inner: LineFormat):
        self.outer, self.inner = outer, inner
        self.name, self.has_level = f"{outer.name}+{inner.name}", True

    def field_names(self) -> frozenset[str] | None:
        outer, inner = self.outer.field_names(), self.inner.field_names()
        return None if outer is None or inner is None else outer | inner

    def parse(self, line: str) -> Parsed | None:
        wrapped = self.outer.parse(line)
        if wrapped is None or wrapped.from_fields:  # no message, so no line of another program inside
            return wrapped
        parsed = self.inner.parse(wrapped.content)
        if parsed is None:  # the wrapper parsed: its message is mined whole
            return wrapped
        return Parsed(parsed.content, parsed.level or wrapped.level, {**wrapped.fields, **parsed.fields})


def resolve(spec: str) -> LineFormat:
    """A preset name, `wrapper+format` (e.g. `cri+log4j`) or a logparser-style pattern -> format.

    Raises ValueError naming the problem.
    """
    if spec in PRESETS:
        return PRESETS[spec]()
    outer, plus, inner = spec.partition("+")
    if plus and "<" not in outer:
        if outer not in WRAPPERS:
            raise ValueError(f"{outer!r} is not a wrapper format (wrappers: {', '.join(WRAPPERS)})")
        return NestedFormat(PRESETS[outer](), resolve(inner))
    if "<" not in spec:
        raise ValueError(f"unknown format preset {spec!r} (presets: {', '.join(sorted(PRESETS))}; "
                         f"or a pattern such as '<Date> <Time> <Level> <Component>: <{CONTENT}>')")
    return compile_pattern(spec)


def format_from_state(name: str | None) -> LineFormat | None:
    """The format a previous run detected (by its name), None when there was none or it is unknown."""
    if not name:
        return None
    outer, plus, inner = name.partition("+")
    if plus and outer in WRAPPERS:
        inner_format = format_from_state(inner)
        return NestedFormat(resolve(outer), inner_format) if inner_format is not None else None
    inner_name, arrow, rest_spec = name.rpartition(">")
    if arrow and inner_name:
        kind, _, count = rest_spec.partition(":")
        inner_format = format_from_state(inner_name)
        if inner_format is None or not count.isdigit() or kind not in HEADER_KINDS:
            return None
        return HeaderRestFormat(inner_format, int(count), kind)
    kind, _, rest = name.partition(":")
    if kind in ("level-column", "colon-column") and rest.isdigit():
        return (LevelColumnFormat if kind == "level-column" else ColonColumnFormat)(int(rest))
    if kind == "delimited":
        delimiter, _, count = rest.rpartition(":")
        delimiter = {v: k for k, v in DelimitedFormat.NAMES.items()}.get(delimiter, delimiter)
        return DelimitedFormat(delimiter, int(count)) if count.isdigit() and delimiter else None
    if name == StampPrefixFormat.name:
        return StampPrefixFormat()
    if name == "none":
        return WholeLine()
    try:
        return resolve(name)
    except ValueError:
        return None


# ---- detection -------------------------------------------------------------------------------------
DETECT_LINES = 200  # lines a source's format is chosen from
MIN_SHARE = 0.6  # the chosen format must parse at least this share of them
MAX_LEVEL_COLUMN = 12


@dataclass(frozen=True)
class Detection:
    format: LineFormat
    share: float  # of the sample lines it parses
    reason: str


def detect(lines: Sequence[str]) -> Detection:
    """The format that fits the sample lines best (see module docstring)."""
    sample = [line for line in lines if line.strip()][:DETECT_LINES]
    if not sample:
        return Detection(WholeLine(), 0.0, "no lines to look at")
    best: tuple[float, LineFormat] | None = None
    for name in DETECTION_ORDER:
        candidate = PRESETS[name]()
        share = sum(candidate.parse(line) is not None for line in sample) / len(sample)
        if share >= MIN_SHARE and (best is None or share > best[0] + 0.05):
            best = (share, candidate)
    if best is not None:
        reason = f"preset {best[1].name} parses {best[0]:.0%} of the first lines"
        if best[1].name in WRAPPERS:
            return _nested(best[1], best[0], reason, sample)
        return _header_rest(_without_stray_component(Detection(best[1], best[0], reason), sample), sample)
    shapes: tuple[tuple[LineFormat | None, str], ...] = (
        (_level_column(sample), "a level word is token {n}"),
        (_colon_column(sample), "a component ending in ':' is token {n}"),
        (_delimited(sample), "fields split by a delimiter"),
        (StampPrefixFormat(), "a leading date/time"))
    for shape, why in shapes:
        if shape is None:
            continue
        share = sum(shape.parse(line) is not None for line in sample) / len(sample)
        if share >= MIN_SHARE:
            reason = why.format(n=getattr(shape, "index", 0) + 1)
            return _header_rest(Detection(shape, share, f"{reason} on {share:.0%} of the first lines"), sample)
    return _header_rest(Detection(WholeLine(), 1.0, "no preset or header shape fits the first lines: whole lines "
                                                    "are mined"), sample)


def _without_stray_component(found: Detection, sample: Sequence[str]) -> Detection:
    """`generic_plain` for `generic` when its optional `component:` (or caller) stands on only some of the lines
    (a word of those messages, kept in them), `found` otherwise."""
    if found.format.name != "generic":
        return found
    parsed = [p for p in map(found.format.parse, sample) if p is not None]
    with_component = sum("Component" in p.fields or "Caller" in p.fields for p in parsed)
    if not with_component or with_component >= HEADER_REST_SHARE * len(parsed):
        return found
    return Detection(ComponentInMessage(), found.share,
                     f"{found.reason}; a `component:` on only {with_component / len(parsed):.0%} of them is read as "
                     f"part of the message (generic_plain)")


HEADER_REST_SHARE = 0.9  # of the parsed sample lines that must have the same header token at the same place
HEADER_REST_MIN_MESSAGES = 5  # distinct messages in the sample before header tokens are looked for in them


def _header_rest(found: Detection, sample: Sequence[str]) -> Detection:
    """`found`, or `found` with the header tokens its messages still begin with cut off (HeaderRestFormat): the
    last of the first MAX_HEADER_REST tokens that is the same kind of header token on most messages."""
    parsed_lines = [parsed for parsed in map(found.format.parse, sample) if parsed is not None and not parsed.from_fields]
    contents = [parsed.content for parsed in parsed_lines]
    if len({digit_shape(content) for content in contents}) < HEADER_REST_MIN_MESSAGES:
        return found  # one message over and over (its numbers aside): no telling header from message
    kinds: Counter[tuple[int, str, str]] = Counter()
    for parsed in parsed_lines:
        tokens = parsed.content.split(None, MAX_HEADER_REST + 1)
        in_header = True  # every token so far is a header token
        for i in range(min(len(tokens), MAX_HEADER_REST)):
            kind = header_token_kind(tokens, i)
            if kind == "level" and parsed.level is not None:  # it has its level already
                kind = None
            # a word with digits is a column (a host, a pid) only among header tokens, with one shape on the lines
            # (node-3, node-7), and with the message after it; a message's numbers (user 12) come after its words
            if kind == "id" and not (in_header and len(tokens) > i + 1):
                kind = None
            in_header = in_header and kind is not None
            if kind is not None:
                kinds[(i, kind, digit_shape(tokens[i]) if kind == "id" else "")] += 1
    common = [(i, kind) for (i, kind, _), n in kinds.items() if n >= HEADER_REST_SHARE * len(contents)]
    if not common:
        return found
    index, kind = max(common)
    reason = (f"{found.reason}; its messages still begin with header tokens ({kind} at token {index + 1} on at "
              f"least {HEADER_REST_SHARE:.0%}): cut")
    return Detection(HeaderRestFormat(found.format, index + 1, kind), found.share, reason)


def _nested(outer: LineFormat, share: float, reason: str, sample: Sequence[str]) -> Detection:
    """A wrapper's detection, with the format of the lines it wraps detected too (when they have one)."""
    contents = [parsed.content for parsed in map(outer.parse, sample) if parsed is not None and not parsed.from_fields]
    inner = detect(contents)
    if isinstance(inner.format, WholeLine):
        return Detection(outer, share, reason)
    return Detection(NestedFormat(outer, inner.format), share, f"{reason}; inside: {inner.reason}")


def _colon_column(sample: Sequence[str]) -> ColonColumnFormat | None:
    """The token position of the first token ending in ':' on most lines, if any (not the first token)."""
    positions: Counter[int] = Counter()
    for line in sample:
        for i, token in enumerate(line.split(None, MAX_LEVEL_COLUMN + 1)[:MAX_LEVEL_COLUMN + 1]):
            if len(token) > 1 and token.endswith(":"):
                positions[i] += 1
                break
    if not positions:
        return None
    index, count = positions.most_common(1)[0]
    return ColonColumnFormat(index) if index > 0 and count >= MIN_SHARE * len(sample) else None


def _delimited(sample: Sequence[str]) -> DelimitedFormat | None:
    """A delimiter that splits most lines into the same number (2 or more) of header fields before the message."""
    for delimiter in ("|", "\t", ";"):
        counts = Counter(line.count(delimiter) for line in sample)
        common = [count for count, n in counts.most_common() if count >= 2]
        if not common:
            continue
        count = min(common[0], min(c for c in counts if c >= common[0]))
        with_count = sum(n for c, n in counts.items() if c >= count)
        if with_count >= MIN_SHARE * len(sample) and sum(line.split(delimiter, 1)[0][:1].isdigit()
                                                        for line in sample) >= MIN_SHARE * len(sample):
            return DelimitedFormat(delimiter, count)
    return None


def _level_column(sample: Sequence[str]) -> LevelColumnFormat | None:
    """The token position where a level word (two letters or more) stands on most lines, if any."""
    positions: Counter[int] = Counter()
    for line in sample:
        for i, token in enumerate(line.split(None, MAX_LEVEL_COLUMN + 1)[:MAX_LEVEL_COLUMN + 1]):
            if len(token) > 1 and level_name(token) is not None and not token.isdigit():
                positions[i] += 1
                break
    if not positions:
        return None
    index, count = positions.most_common(1)[0]
    return LevelColumnFormat(index) if count >= MIN_SHARE * len(sample) else None
