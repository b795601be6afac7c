"""Line formats: which part of a log line is the message and which its level.

A format parses one line into named fields; only `Content` is mined, `Level` (when the
format has it) gives the level label, any other field can become a label
(`labels_from_fields`). Formats are named presets for common layouts (PRESETS), patterns in
logparser's notation (`<Date> <Time> <Level> <Component>: <Content>`, `compile_pattern`), a
wrapper around another format (`cri+log4j`, NestedFormat), or the header shapes that detection
finds when no preset fits (a level column, a colon column, a delimited header, a leading stamp).
Which one a source writes is told from its first lines in detection.py; header tokens a format
leaves in its messages are cut by header_tokens.py. A line a format does not parse is mined whole
and counted, never dropped.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial

CONTENT = "Content"
LEVEL = "Level"

# Level words and letters as logs write them -> the level label. Single letters only count in a
# field that is a level by position (logcat, klog), never when searched for in free text.
LEVEL_WORDS = {"TRACE": "debug", "DEBUG": "debug", "FINE": "debug", "FINER": "debug", "FINEST": "debug",
               "VERBOSE": "debug", "TRC": "debug", "DBG": "debug", "VRB": "debug", "TRCE": "debug", "DBUG": "debug",
               "INFO": "info", "INF": "info", "INFORMATION": "info", "NOTICE": "info", "NOTE": "info", "LOG": "info",
               "CONFIG": "info", "WARN": "warning", "WARNING": "warning", "WRN": "warning", "ERROR": "error",
               "ERR": "error", "EROR": "error",  # EROR, DBUG, TRCE: Go's log15 (ngrok's lvl=eror), Icecast's DBUG
               "ERRO": "error", "DEBU": "debug", "FATA": "critical", "PANI": "critical", "TRAC": "debug",  # logrus's
               "FAIL": "error", "SEVERE": "error", "FATAL": "critical", "FTL": "critical",
               "CRITICAL": "critical", "CRIT": "critical", "PANIC": "critical", "ALERT": "critical", "EMERG": "critical",
               "EMERGENCY": "critical", "SYSTEM": "info",  # SYSTEM: MySQL 8's [System] (start, stop, ready)
               "SILLY": "debug",  # below debug in Node's npmlog and winston
               "DEBG": "debug", "BLAT": "debug"}  # supervisord's debug and blather (with its CRIT, ERRO, WARN, INFO, TRAC)
# The level words that are levels in any case and wherever a header puts them: not words a message or a component
# name often is (log, config, system, note, fail, alert) nor one that ends a phrase (`Stack trace:`)
COMMON_LEVEL_WORDS = frozenset({"DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "SEVERE", "FATAL", "CRITICAL",
                                "PANIC"})
LEVEL_LETTERS = {"V": "debug", "D": "debug", "T": "debug", "I": "info", "N": "info", "W": "warning", "E": "error",
                 "F": "critical", "C": "critical", "A": "critical"}
# Redis (and Valkey) mark the level with a sign: . debug, - verbose, * notice, # warning
LEVEL_MARKS = {".": "debug", "-": "debug", "*": "info", "#": "warning"}
SYSLOG_SEVERITIES = ["critical", "critical", "critical", "error", "warning", "info", "info", "debug"]  # 0..7
# Node's pino and bunyan write levels as numbers: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal
TENS_LEVELS = {10: "debug", 20: "debug", 30: "info", 40: "warning", 50: "error", 60: "critical"}


# A value word: a digit in it, or a name with a dot or a slash inside (a program, file, host or class name:
# chrome.exe, db.example.org, I/O). The miner's similarity counts equal ones as parameters (similarity.py); a header's
# component that is one is a logger or a host, a column of the header (ComponentInMessage).
_VALUE_WORD = re.compile(r"\d|\w[./\\]\w")


@lru_cache(maxsize=8192)
def is_value_word(token: str) -> bool:
    """Whether a token is a value rather than a word of the message's text (`libc6:amd64`, `deb12u4`, `db.example.org`)."""
    return _VALUE_WORD.search(token) is not None


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
    if len(word) == 2 and word[1] == "!":  # InfluxData's wlog (Telegraf, Kapacitor): T!, D!, I!, W!, E!
        return LEVEL_LETTERS.get(word[0]) if word[0] in "TDIWE" else None
    return None


def word_level(token: str) -> str | None:
    """level_name of a token that is a word (two characters or more, a letter among them), as a level column holds
    one; None for a number, which there is a value of the message (`(file descriptor 4):`), not a syslog severity."""
    return level_name(token) if len(token) > 1 and any(char.isalpha() for char in token) else None


def keyed_level_name(word: str | None) -> str | None:
    """level_name of a value under a level key (JSON, logfmt), where winston's `http` level (between info and verbose)
    is a level too: a word too common in messages to be one elsewhere."""
    return "info" if word is not None and word.lower() == "http" else level_name(word)


# A date, a time or an epoch stamp among a line's first 40 characters (`2026-10-11`, `17/06/09`, `03-17 16:13:38`,
# `081109 203615`, `Oct 11 22:14`, `- 1117838570 2005.06.03`): a header of some layout, so the line is never more of
# the error message before it, whatever a format says of it (mining.py, detection.py). A version is no date: three
# numbers before a letter's suffix (`Server version: 10.11.19-MariaDB` in MariaDB's crash report)
_STAMP = re.compile(r"\d{2,4}[-/.]\d{1,2}[-/.]\d{1,4}(?!\d|-[A-Za-z])|\d{1,2}:\d{2}:\d{2}|\b\d{6}[ T-]\d{6}\b"
                    r"|\b\d{10}(?:[.,]\d+)?\b"
                    r"|\b[A-Z][a-z]{2} [ \d]?\d \d{2}:")
STAMP_WITHIN = 40
ERROR_LEVELS = ("error", "critical")


def takes_more(level: str | None, content: str) -> bool:
    """Whether the lines after a record that its format does not parse (and that carry no date or time) are more of
    its message: an error's (a query, a source excerpt, a report), the dump a message ending in a colon announces
    (`Overridden settings:` and the dict printed after it), or the lines of a message written after an empty one (Redis
    logs a crash's registers so: `# ` and its text on the lines after it)."""
    text = content.rstrip()
    return level in ERROR_LEVELS or text.endswith(":") or not text


# A section's heading: a title between runs of dashes or equals signs, as programs' crash reports write them (Redis:
# `------ STACK TRACE ------`, `------ INFO OUTPUT ------`, `=== REDIS BUG REPORT START: ... ===`; Ruby's `-- C level
# backtrace information -----...`). Where the line format does not parse it, the lines after it that the format does not
# parse and that carry no date or time are its section, one record with it, as an error's are (mining.py); detection
# does not hold them against the format either
_SECTION_HEADING = re.compile(r"([-=])\1+ +\S.*? +\1{3,}$")


def is_section_heading(line: str) -> bool:
    return line.startswith(("-", "=")) and _SECTION_HEADING.match(line) is not None


def begins_with_stamp(line: str) -> bool:
    return _STAMP.search(line, 0, STAMP_WITHIN) is not None


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

    def leaves_open(self, lines: Sequence[str], was_open: bool) -> bool:
        """Whether a quoted field is still open after `lines` (one record's; `was_open`: it was open before them):
        the records after it are then the rest of that field. Only formats that quote across lines say yes."""
        return False


# The container runtime's prefix of a line in a Kubernetes pod's log file (CRI): time, stream, full/partial tag.
_CRI_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}T\S+ (?:stdout|stderr) [FP] ")


def runtime_payload(line: str) -> str:
    """The application's own line inside a container runtime's or journald's: after CRI's `time stream tag `, the
    `log` value of Docker's json-file record, or the MESSAGE of an entry of journald's JSON export (journalctl -o
    json), which stores each line a service writes as an entry of its own; any other line as it is. Records are cut
    on this text (a stack frame is indented inside the wrapper, not before it)."""
    if line[:1] == "{":
        if line.startswith('{"log":'):
            return _json_string(line, "log", line).rstrip("\r\n")
        return _json_string(line, "MESSAGE", line) if '"__REALTIME_TIMESTAMP"' in line else line  # each entry has one
    match = _CRI_PREFIX.match(line)
    return line[match.end():] if match else line


def _json_string(line: str, key: str, default: str) -> str:
    """The string under `key` of the JSON object on `line`, `default` when there is none."""
    try:
        value = json.loads(line).get(key)
    except (ValueError, AttributeError):
        return default
    return value if isinstance(value, str) else default


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
        return frozenset(self.regex.groupindex) - {"Level2", "Thread2", "Pid2"}  # merged when parsed

    def parse(self, line: str) -> Parsed | None:
        match = self.regex.match(line)
        if match is None:
            return None
        fields = {k: v for k, v in match.groupdict().items() if v is not None}
        if "Level2" in fields:  # a level in a second place of the pattern (golog's `[INF]` or `INFO:`)
            fields[LEVEL] = fields.pop("Level2")
        level = level_name(fields.get(LEVEL))
        if level is None and fields.get("Priority", "").isdigit():  # syslog's PRI = facility * 8 + severity
            level = SYSLOG_SEVERITIES[int(fields["Priority"]) % 8]
        return Parsed(structured_message(fields.get(CONTENT, "")), level, fields)


def level_key_of(record: dict) -> str | None:
    """The key of a record's level (JsonFormat.LEVEL_KEYS, the first present), but the first whose value is a level
    word where another's is a number: PowerDNS writes its verbosity as `level="0"` and its severity as `prio="Notice"`,
    and a number's meaning depends on the logger (a syslog severity, pino's tens, a verbosity)."""
    present = [key for key in JsonFormat.LEVEL_KEYS if record.get(key) is not None]
    if len(present) < 2:
        return present[0] if present else None
    return next((key for key in present if isinstance(record[key], str) and not record[key].strip().isdigit()
                 and keyed_level_name(record[key]) is not None), present[0])


class JsonFormat(LineFormat):
    """JSON lines: the message and level under the keys structured loggers and journald use; a record without a
    message key (a JSON access log) is mined as its pairs less the time and level ones."""

    # short_message: GELF (Graylog); @mt / @m / @l: Serilog's compact format (CLEF), whose message template @mt
    # is mined as it is written; Message / LogLevel: .NET's JSON console formatter (Microsoft.Extensions.Logging)
    MESSAGE_KEYS = ("message", "msg", "MESSAGE", "Message", "log", "text", "@message", "event", "short_message", "@mt",
                    "@m")
    # error_severity: PostgreSQL's jsonlog (15 and later: "error_severity":"ERROR", "message":...); prio: PowerDNS's
    # structured log (`level="0" prio="Notice"`: its level is a verbosity); s: MongoDB's structured log (4.4 and later:
    # "s":"I", "c":"NETWORK", "msg":...), read last of all. A key whose value is a level word wins over one whose value
    # is a number (level_key)
    LEVEL_KEYS = ("level", "severity", "lvl", "levelname", "log.level", "PRIORITY", "loglevel", "LogLevel", "@level",
                  "@l", "error_severity", "prio", "s")
    # objects that hold the message when the record has none at its top: Rust's tracing ("fields": {"message": ...}),
    # Google Cloud Logging's export ("jsonPayload": {"message": ...})
    MESSAGE_HOLDERS = ("fields", "jsonPayload")

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
        message = self._message(record)
        level_key = level_key_of(record)
        level = str(record[level_key]) if level_key is not None else None
        if level is None and ("@mt" in record or "@m" in record):
            level = "info"  # CLEF: a record without @l is Information
        if level is None:
            level = _klog_level(record)
        fields = {k: str(v) for k, v in record.items() if isinstance(v, str | int | float | bool)}
        if message is None:
            quoted = {k: json.dumps(v) if any(c.isspace() for c in v) else v for k, v in fields.items()}  # one token
            return Parsed(_as_message(quoted, level_key), keyed_level_name(level), fields, from_fields=True)
        return Parsed(message, keyed_level_name(level), fields)

    def _message(self, record: dict) -> str | None:
        """The message at the record's top, else inside one of MESSAGE_HOLDERS; None when there is none."""
        for holder in (record, *(record.get(key) for key in self.MESSAGE_HOLDERS)):
            if isinstance(holder, dict) and (message := _message_in(holder, self.MESSAGE_KEYS)) is not None:
                return message
        return None


def _klog_level(record: dict) -> str | None:
    """The level of a Kubernetes component's JSON record (klog's `--logging-format=json`), which names none: an
    error carries `err` (ErrorS), other records their verbosity `v` (0 info, more debug); None for other records."""
    if "msg" not in record or "ts" not in record:
        return None
    if "err" in record:
        return "error"
    verbosity = record.get("v")
    if isinstance(verbosity, int) and not isinstance(verbosity, bool):
        return "info" if verbosity == 0 else "debug"
    return None


def _message_in(record: dict, keys: Sequence[str]) -> str | None:
    """The first of `keys` that `record` holds a string under, its value; None when it holds none."""
    return next((record[k] for k in keys if isinstance(record.get(k), str)), None)


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
    ends with ':' only introduces the pairs after it (auditd's `msg=audit(...):`), so the record's pairs
    are mined with it, those before it too (auditd's `type=USER_LOGIN`: the kind of event), less the time
    and level ones.
    """

    def __init__(self, name: str = "logfmt"):
        self.name, self.has_level = name, True

    def parse(self, line: str) -> Parsed | None:
        fields: dict[str, str] = {}
        ends: dict[str, int] = {}
        stripped, end = line.strip(), 0
        while end < len(stripped):  # pair after pair from the start (a search would retry at every character)
            match = _LOGFMT_PAIR.match(stripped, end)
            if match is None:
                return None
            fields.setdefault(match.group(1), match.group(2))  # a repeated key keeps its first value
            ends.setdefault(match.group(1), match.end())
            end = match.end()
        if len(fields) < 2:
            return None
        level_key = level_key_of({k: _unquote(v) for k, v in fields.items() if v})
        message_key = next((k for k in JsonFormat.MESSAGE_KEYS if k in fields), None)
        if message_key is not None and fields[message_key].endswith(":") and not fields[message_key].startswith('"'):
            before = {key: value for key, value in fields.items() if ends[key] < ends[message_key]}
            content = " ".join(part for part in (_as_message(before, level_key), fields[message_key],
                                                 stripped[ends[message_key]:].strip()) if part)
        elif message_key is not None:
            content = _unquote(fields[message_key])
        else:
            content = _as_message(fields, level_key)  # the values as written, quoted where they hold spaces
        values = {k: _unquote(v) for k, v in fields.items()}
        return Parsed(content, keyed_level_name(values[level_key]) if level_key else None, values,
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
        level = word_level(parts[self.index])
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


class CsvFormat(LineFormat):
    """Records written as CSV rows (PostgreSQL's csvlog, CSV exports of event logs): the message is one column and
    the level may be another, both counted from 1; the others are fields `Field1`, `Field2`, ... A record whose
    quoted field holds a newline (a query of several lines) is read by its first line: the field cut there is
    read as far as it goes. Found by detect() (`csv:14:12`), or declared as `csv:MESSAGE[:LEVEL]`."""

    def __init__(self, message: int, level: int | None = None):
        if message < 1 or (level is not None and level < 1):
            raise ValueError("csv columns are counted from 1")
        self.message, self.level, self.has_level = message, level, level is not None
        self.name = f"csv:{message}" + (f":{level}" if level is not None else "")

    def field_names(self) -> frozenset[str] | None:
        return frozenset(f"Field{i}" for i in range(1, max(self.message, self.level or 0) + 1))

    def parse(self, line: str) -> Parsed | None:
        row = csv_row(line)
        if row is None or len(row) < max(self.message, self.level or 0):
            return None
        level = level_name(row[self.level - 1]) if self.level is not None else None
        return Parsed(row[self.message - 1], level, {f"Field{i}": value for i, value in enumerate(row, 1)})

    def leaves_open(self, lines: Sequence[str], was_open: bool) -> bool:
        return was_open != (sum(line.count('"') for line in lines) % 2 == 1)  # a quote inside a field is doubled


def csv_row(line: str) -> list[str] | None:
    """A line's CSV columns (RFC 4180 quoting), None when it is not one (a field over the csv module's limit)."""
    try:
        return next(csv.reader((line,)), [])
    except csv.Error:
        return None


def csv_spec(spec: str) -> CsvFormat | None:
    """`csv:MESSAGE[:LEVEL]` -> its format; None for another spec. Raises ValueError for a malformed one."""
    kind, colon, columns = spec.partition(":")
    if kind != "csv" or not colon:
        return None
    numbers = columns.split(":")
    if not 1 <= len(numbers) <= 2 or not all(n.isdigit() for n in numbers):
        raise ValueError(f"{spec!r}: a csv format is csv:MESSAGE or csv:MESSAGE:LEVEL, the columns counted from 1")
    return CsvFormat(*map(int, numbers))


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
# LOG is a level with a colon after it (PostgreSQL's `LOG:  `) or in upper case before a space (PgBouncer's `LOG C-0x...`);
# CONFIG (java.util.logging's) in upper case only: `[config]` is a module's tag, OpenVPN's `  config = ...` a setting
_LEVEL_WORD = r"(?i:TRACE|DEBUG[1-5]?|FINEST|FINER|FINE|(?-i:CONFIG)|INFORMATION|INFO|NOTICE|NOTE|WARNING|WARN|ERROR|ERR|SEVERE" \
              r"|FATAL|CRITICAL|CRIT|PANIC|ALERT|EMERG|TRC|DBG|VRB|VERBOSE|SILLY|INF|WRN|FTL|DBUG|EROR|TRCE" \
              r"|LOG(?=:)|(?-i:LOG)(?= )|SYSTEM(?=\])|(?-i:ERRO|DEBG|TRAC|BLAT))"  # the last: supervisord's, upper case
# A leading timestamp in the shapes loggers write: ISO 8601 (T or space, fractions, zone), yy/MM/dd,
# yyyy/MM/dd, yyMMdd HHmmss, yyMMdd H:mm:ss (MySQL 5's error log, MariaDB's crash report, the hour padded with a
# space), dd-MMM-yyyy, dd/MMM/yyyy (space or colon before the time), yyyy.MM.dd, syslog's "MMM d HH:mm:ss", ctime's
# "EEE MMM d HH:mm:ss yyyy".
_TIMESTAMP = (r"(?:\d{4}-\d{2}-\d{2}(?:T| {1,2})" + _HMS + r"(?:Z|[+-]\d{2}:?\d{2}| [+-]\d{2}:?\d{2})?"
              r"|\d{2,4}/\d{2}/\d{2}[ T]" + _HMS +
              r"|\d{6} \d{6}|\d{6} {1,2}" + _HMS +
              r"|\d{2}-" + _MON + r"-\d{4} " + _HMS +
              r"|\d{2}/" + _MON + r"/\d{4}[: ]" + _HMS +
              r"|\d{4}\.\d{2}\.\d{2} " + _HMS +
              r"|" + _DOW + " " + _MON + r" (?:[ \d]\d|\d) " + _HMS + r" \d{4}"
              r"|" + _MON + r" (?:[ \d]\d|\d) " + _HMS + ")")
# a component with its pid may be padded before the pid, as Python's `%(name)-24s[%(process)d]:` pads it (fail2ban):
# the pid is then read apart (Pid2, merged into Pid)
_NAME = r"[\w$.@/#\-]+"  # a component's, logger's or source file's name
_GENERIC_COMPONENT = (r"(?:(?P<Component>" + _NAME + r"(?:::" + _NAME + r")*(?:\[\d+\])?)(?: +\[(?P<Pid2>\d+)\])?: +"
                      r"|(?P<Caller>" + _NAME + r":\d+)\t)")
_THREAD = r"\[(?P<Thread>[^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*)\]"  # one level of nested brackets
_COMPONENT = r"(?P<Component>[\w$.@/\-]+(?:::[\w$.@/\-]+)*(?:\([^)\s]*\))?)"

PRESET_PATTERNS: dict[str, str] = {
    # RFC 3164 syslog (and journalctl's default "short" output): host, program[pid]: message; BSD syslog (macOS)
    # writes some tags without the colon after the pid (`com.apple.xpc.launchd[1] (service): message`); the time may be
    # RFC 3339's (rsyslog's high-precision files), or a date and a time with a space between them before a host and a
    # `program[pid]` (ProFTPD's own log: `2026-12-07 16:19:25,975 vm proftpd[19103] localhost (client[ip]): message`);
    # the kernel's own time since boot may begin its messages (`kernel: [ 1234.567890] message`, Ubuntu's kern.log and
    # syslog): the Uptime field, padded to a width the uptime outgrows
    "syslog": r"^(?:<\d{1,3}>)?(?P<Timestamp>" + _MON + r" (?:[ \d]\d|\d) " + _HMS + r"|\d{4}-\d{2}-\d{2}T" + _HMS +
              r"(?:Z|[+-]\d{2}:?\d{2})?|\d{4}-\d{2}-\d{2} " + _HMS + r"(?= \S+ [^\s\[:]+\[\d+\]))"
              r" (?P<Host>\S+(?<!:)) "
              r"(?P<Component>[^\s\[:]+(?:\([^)]*\))?|[^\[:]+(?=\[\d+\]:))(?:\[(?P<Pid>\d+)\]:?|:)"
              r" ?(?:\[ *(?P<Uptime>\d+\.\d{6})\] )?(?P<Content>.*)$",
    # RFC 5424 syslog: <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG
    "syslog5424": r"^<(?P<Priority>\d{1,3})>1 (?P<Timestamp>\S+) (?P<Host>\S+) (?P<Component>\S+) (?P<Pid>\S+) "
                  r"(?P<MsgId>\S+) (?P<StructuredData>-|(?:\[[^\]]*\])+) ?(?P<Content>.*)$",
    # Apache httpd error log (2.2 and 2.4): [time] [module:level] [pid N:tid M] [client a:p] message; a message about a
    # connection rather than a request has [remote a:p] there (mod_wsgi's lines of a script's standard error)
    "apache_error": r"^\[(?P<Timestamp>[^\]]+)\] \[(?:(?P<Module>[\w-]+):)?(?P<Level>[a-z]+\d?)\]"
                    r"(?: \[pid (?P<Pid>\d+)(?::tid \d+)?\])?(?: \[(?:client|remote) (?P<Client>[^\]]+)\])? (?P<Content>.*)$",
    # nginx error log: yyyy/MM/dd HH:mm:ss [level] pid#tid: *conn message
    "nginx_error": r"^(?P<Timestamp>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[(?P<Level>\w+)\] (?P<Pid>\d+)#(?P<Tid>\d+):"
                   r" (?:\*\d+ )?(?P<Content>.*)$",
    # Common / combined access log (Apache, nginx): the request line is the message; Apache's vhost_combined (Debian's
    # other_vhosts_access.log) writes the virtual host and port first; InfluxDB 1.x and Kapacitor write their HTTP
    # service's name in brackets first, among their logfmt lines (`[httpd] 127.0.0.1 - - [...] "GET /query ..." ...`)
    "access": r"^(?:\[(?P<Service>[\w.-]+)\] (?=\S+ \S+ \S+ \[))?(?:(?P<VHost>[^\s\[]+:\d+) (?=\S+ \S+ \S+ \[))?"
              r"(?P<Client>\S+) \S+ (?P<User>\S+) \[(?P<Timestamp>[^\]]+)\] \"(?P<Content>[^\"]*)\" "
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
    # Python logging: the default "%(levelname)s:%(name)s:%(message)s" (with "%(asctime)s:" first, as certbot
    # writes it), and "asctime - name - level - message"
    "python": r"^(?:(?P<Timestamp>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}):)?"
              r"(?P<Level>DEBUG|INFO|WARNING|ERROR|CRITICAL):(?P<Component>[^:\s]*):(?P<Content>.*)$",
    # Jetty 9's own logger (StdErrLog, its default without SLF4J): time:LEVEL:abbreviated.logger:thread: message, the
    # levels DBUG, INFO, WARN (and IGNORED for an exception it ignores)
    "jetty": r"^(?P<Timestamp>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}):(?P<Level>[A-Z]{4,7}):(?P<Component>[^:\s]*)"
             r":(?P<Thread>.*?): (?P<Content>.*)$",  # a thread name may hold spaces and colons, not ': '
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
    # Go's standard log package: [prefix]yyyy/MM/dd HH:mm:ss[.micro] [file.go:line: ]message; the prefix that
    # log.SetPrefix or log.New gives (glued to the date as etcd's raft writes `raft2026/...`, or `[shop] `, `shop: `)
    # is not a level word (`INFO 2026/...` is level_first's); a level the program writes after the time, in brackets or
    # before a colon (NATS: `[2980] 2026/03/03 04:02:11.077469 [INF] ...`; hashicorp's logutils `[INFO]`; `INFO:`)
    "golog": r"^(?:(?P<Prefix>\[[^\]\s]+\]|(?!(?:" + _LEVEL_WORD + r")\b)[A-Za-z_][\w.-]*:?) ?)?"
             r"(?P<Timestamp>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?) "
             r"(?:(?P<Source>[\w./-]+\.go:\d+): )?(?:(?:\[(?P<Level>" + _LEVEL_WORD + r")\]|(?P<Level2>" + _LEVEL_WORD
             + r"):) +)?(?P<Content>.*)$",
    # FRRouting 7.6 and later (zebra, bgpd, ospfd...: its file log and stdout): "yyyy/MM/dd HH:mm:ss DAEMON: [XXXXX-XXXXX]
    # message", the message's unique id in brackets, then an error code where the message is an error or a warning
    # ("[EC 4043309110]"); no level is written
    "frr": r"^(?P<Timestamp>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?) (?P<Component>[A-Z][A-Z0-9_]*): "
           r"\[(?P<MsgId>[0-9A-Z]{5}-[0-9A-Z]{5})\](?:\[EC (?P<ErrorCode>\d+)\])? ?(?P<Content>.*)$",
    # .NET's console logger (Microsoft.Extensions.Logging): "info: Category[EventId]", the message on the next,
    # indented line (or after it, with SingleLine), an optional timestamp first
    "dotnet": r"^(?:\[?(?P<Timestamp>" + _TIMESTAMP + r"|\d{2}:\d{2}:\d{2}(?:[.,]\d+)?)\]? +)?"
              r"(?P<Level>trce|dbug|info|warn|fail|crit): (?P<Component>[^\s\[]+)\[(?P<EventId>\d+)\]"
              r"(?: (?P<Content>.*))?$",
    # Android logcat: "threadtime" (MM-dd HH:mm:ss.SSS pid tid L tag: message, today's default, with `-v year` a
    # year first), "time" (MM-dd HH:mm:ss.SSS L/tag(pid): message) and "brief" (L/tag(pid): message, the default
    # before Android 7), the pid padded in parentheses
    "logcat": r"^(?:(?P<Timestamp>(?:\d{4}-)?\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3,6}) +"
              r"(?:(?P<Pid>\d+) +(?P<Tid>\d+) +)?)?(?P<Level>[VDIWEFA])"
              r"(?(Tid) (?P<Component>.*?) *: |/(?P<Tag>[^(]*?) *\( *(?P<Pid2>\d+)\): )(?P<Content>.*)$",
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
    # Tornado's LogFormatter and the Jupyter servers built on it: the level's initial, the time and the logger (or
    # module:line) in one bracket, then the message: "[I 261011 22:14:15 web:2239] ...", "[W 2026-10-11
    # 22:14:15.003 ServerApp] ...", "[I 2026-10-11 22:14:15.003 JupyterHub app:2859] ..."
    "tornado": r"^\[(?P<Level>[DIWEC]) (?P<Timestamp>\d{6} \d{2}:\d{2}:\d{2}"
               r"|\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{3})?)(?: (?P<Component>[^\]]*))?\] (?P<Content>.*)$",
    # Time and level in one bracket, then the message: Celery's "[%(asctime)s: %(levelname)s/%(processName)s]",
    # "[time LEVEL]", "[time] [LEVEL]" is the generic shape
    "bracketed": r"^\[(?P<Timestamp>" + _TIMESTAMP + r")[:,]? +(?P<Level>" + _LEVEL_WORD + r")"
                 r"(?:[/: ]+(?P<Process>[^\]]*))?\] +(?P<Content>.*)$",
    # A run of bracketed fields with the level in one of them, the message after the run: the JVM's unified logging
    # (-Xlog, GC logs: "[2026-10-11T22:14:15.003+0000][0.016s][info][gc,heap] message", decorations in any number
    # and order), and other loggers that bracket every field
    "bracket_fields": r"^(?P<Header>(?:\[[^\[\]]*\] ?)*?)\[ *(?P<Level>" + _LEVEL_WORD + r") *\]"
                      r"(?P<Tags>(?: ?\[[^\[\]]*\])*) ?(?P<Content>.*)$",
    # Envoy's (and Istio's) default access log: [time] "request line" status flags ...; the request line is the
    # message, as in the common access log
    "envoy": r"^\[(?P<Timestamp>\d{4}-\d{2}-\d{2}T[^\]]+)\] \"(?P<Content>[^\"]*)\" (?P<Status>\d{3}) "
             r"(?P<Flags>\S+) .*$",
    # Samba (smbd, nmbd, winbindd: log.smbd): "[yyyy/MM/dd HH:mm:ss(.micro),  debug level(, pid=N, class=c ...)]
    # source.c:line(function)", the message on the next, indented lines (a header alone on its line: the record's
    # next line is the message); with `debug prefix timestamp` the message follows the bracket on the same line
    "samba": r"^\[(?P<Timestamp>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:[.,]\d+)?), *(?P<Level>\d+)(?:,[^\]]*)?\] "
             r"(?:(?P<Source>[^\s(]+:\d+)\((?P<Function>[^)\s]*)\)$)?(?P<Content>.*)$",
    # SSSD (sssd.log, sssd_nss.log, sssd_<domain>.log): "(yyyy-MM-dd HH:mm:ss:micro): [component] [function] (0x0400):
    # message", the level a bit of SSSD's debug mask (older releases write a ctime, no colon after it)
    "sssd": r"^\((?P<Timestamp>[^()]+)\):? \[(?P<Component>[^\]]*\]?)\] \[(?P<Function>[^\]\s]*)\] "
            r"\((?P<Level>0x[0-9a-fA-F]+)\): (?P<Content>.*)$",
    # GlusterFS (glusterd.log, the bricks' and clients' logs): "[yyyy-MM-dd HH:mm:ss.micro +0000] L [MSGID: n]
    # [file.c:line:function] 0-xlator: message", the level a letter (T, D, I, N, W, E, C, A), the MSGID optional, and a
    # debug record's callers in brackets before the translator ("(--> lib.so(fn+0x1)[0x7f..] (--> ...)) 0-dict: ...")
    "gluster": r"^\[(?P<Timestamp>\d{4}-\d{2}-\d{2} " + _HMS + r"(?: [+-]\d{4})?)\] (?P<Level>[TDINWECA]) "
               r"(?:\[MSGID: (?P<MsgId>\d+)\] )?\[(?P<Source>[^\]\s]+:\d+:[^\]\s]*)\] (?:\((?P<Callers>-->.*?)\) )?"
               r"(?P<Component>\d+-[^\s:]*): (?P<Content>.*)$",
    # ClickHouse: yyyy.MM.dd HH:mm:ss.micro [ thread ] {query id} <Level> Logger: message
    "clickhouse": r"^(?P<Timestamp>\d{4}\.\d{2}\.\d{2} " + _HMS + r") \[ *(?P<Tid>\d+) *\] \{(?P<QueryId>[^}]*)\} "
                  r"<(?P<Level>\w+)> (?P<Component>.+?): (?P<Content>.*)$",
    # The level first, then the timestamp (Log4j's "%-5level [%thread] %date %file:%line - %msg", as Cassandra
    # writes it, or "%-5p %d [%t] %c - %m"): thread before or after the time, an optional "source - "; a colon may
    # follow the level, as grpc-go's default logger writes it in any Go program using gRPC (`WARNING: 2026/10/11
    # 22:14:15 [core] ...`, its component in brackets after the time)
    "level_first": r"^(?P<Level>" + _LEVEL_WORD + r"):? +(?:" + _THREAD + r" +)?(?P<Timestamp>" + _TIMESTAMP
                   + r"),? +(?:\[[^\]]*\] +)?(?:(?P<Source>[\w$.@/\-]+(?::\d+)?) +- +)?(?P<Content>.*)$",
    # The generic shape: a leading timestamp (and zone), then optionally a level (after a pid or thread number, as
    # PostgreSQL and MariaDB write it, or a bracketed context: Jenkins' [id=12], Airflow's {file.py:42}), the level
    # followed by space, tab, " - " or a bracketed logger (Elasticsearch: [TS][INFO ][o.e.n.Node  ]), and a
    # "component:" before the message, or a caller's file:line and a tab (zap's console encoder); a bracketed level may
    # be padded on either side ([info     ], Fluent Bit's [ warn]) or stand in angle brackets (BIRD's <TRACE>); the
    # level may be a letter and `!`, as InfluxData's wlog writes it (Telegraf: `2026-12-07T10:00:00Z E! [inputs.cpu] ...`)
    "generic": r"^\[?(?P<Timestamp>" + _TIMESTAMP + r"(?: (?:UTC|GMT))?)\]?(?:,|[|:](?= ))?(?:[ \t]+|(?=\[))"
               r"(?:(?P<Process>[\w.-]+)\|[ \t]+)?"  # Squid's `kid1| `
               r"(?:(?:[\[{][^\]}\s]+[\]}][ \t]+)?(?:\[?(?P<Pid>\d+)\]?(?: +|(?=\[)))?"
               r"(?:(?P<User>[^\s@]*)@(?P<Database>\S*) +)?"  # PostgreSQL's session lines: Debian's `%m [%p] %q%u@%d `
               r"(?:[\w.-]+=\S* +)*(?:\[ *|\| *|<(?=\w+>))?"
               r"(?P<Level>" + _LEVEL_WORD + r"|(?-i:[TDIWE])!)"
               r"(?: *[\]|]|>)?:?(?:[ \t]+-[ \t]+|[ \t]+|(?=\[))(?:\[(?P<Logger>[\w$.@/#\-]+) *\][ \t]+)?)?"
               + _GENERIC_COMPONENT + r"?(?P<Content>.*)$",
}

# journald's JSON export (journalctl -o json: MESSAGE, PRIORITY) and structured loggers' JSON lines
PRESETS: dict[str, Callable[[], LineFormat]] = {"json": JsonFormat, "logfmt": LogfmtFormat,
                                                "none": WholeLine}  # none: mine the whole line


def _preset(name: str, pattern: str) -> Callable[[], LineFormat]:
    return lambda: _preset_kind(name)(name, pattern)


def _preset_kind(name: str) -> Callable[[str, str], RegexFormat]:
    """The class a preset's pattern is read with (looked up when a preset is made: the classes are defined below)."""
    kinds: dict[str, Callable[[str, str], RegexFormat]] = {
        "log4j": _Log4jFormat, "generic": _GenericFormat, "logcat": _LogcatFormat,
        "samba": partial(_OwnScaleFormat, scale=samba_level), "sssd": partial(_OwnScaleFormat, scale=sssd_level)}
    return kinds.get(name, RegexFormat)


PRESETS.update({name: _preset(name, pattern) for name, pattern in PRESET_PATTERNS.items()})


# Auto-detection tries the narrowest layouts first (a catalina line also parses as log4j, any
# line with a leading timestamp as generic); a later preset wins only by parsing clearly more.
DETECTION_ORDER = ["json", "logfmt", "cri", "syslog5424", "syslog", "apache_error", "nginx_error", "access", "envoy",
                   "jul", "catalina", "springboot", "klog", "redis", "ruby", "clickhouse", "samba", "sssd", "gluster", "dotnet",
                   "logcat", "jetty", "python", "python_asctime", "frr", "golog", "log4j", "level_first", "tornado", "bracketed",
                   "bracket_fields", "csv", "generic"]  # csv: CSV rows, their columns read from the lines (detection.py)

# Headers that a layout writes alone on their line, the message on the next line even when that is not indented
# (java.util.logging's two-line default): the record assembler joins that line to the header.
_HEADER_ONLY_LINES = re.compile(PRESET_PATTERNS["jul"])
_HEADER_ONLY_STARTS = frozenset(_MONTHS)


# A Rust panic (1.73 and later) writes where it happened, then its message on the next line
_PANIC_LOCATION_ALONE = re.compile(r"thread '[^']*' panicked at \S+:\d+:\d+:$")


CUT_HERE = "------------[ cut here ]------------"  # the kernel's line before a WARN() or BUG() report (asm-generic/bug.h)


def is_header_alone(line: str) -> bool:
    """Whether a layout writes this line alone, its message on the next line (java.util.logging's header, a Rust
    panic's location, the kernel's `cut here` line before a report's first line). Cheap for the lines that are not:
    they are ruled out by their first and last characters."""
    if line.startswith("thread '"):
        return _PANIC_LOCATION_ALONE.match(line) is not None
    if line.endswith(CUT_HERE):  # the kernel's line before a WARNING or BUG report's first line
        return True
    return line[:3] in _HEADER_ONLY_STARTS and _HEADER_ONLY_LINES.match(line) is not None


# A line of a syslog file: who sent it (host, program and pid) and its message. A service under systemd writes each line
# of a stack trace as an entry of its own, which rsyslog writes as a line of its own with the tab that began it escaped
# (`web1 shop[812]: #011at com.shop.Pay.charge(Pay.java:42)`) or the spaces kept (`web1 app[9]:   File "/app/w.py", ...`)
MONTH_STARTS = frozenset(_MONTHS)
_UPTIME = re.compile(r"\[ *\d+\.\d{6}\] ")


def syslog_sender_end(line: str) -> tuple[str, int] | None:
    """Who sent a line that begins as syslog's do (an RFC 3164 or RFC 3339 time, then ` host program[pid]: `), as
    written, and where its message begins; None for a line that does not begin so. String searches, no pattern: the
    record assembler asks it of each indented syslog message and of the first line of a record it may continue."""
    if line[:3] not in MONTH_STARTS and (line[4:5] != "-" or line[10:11] != "T"):
        return None
    time_end = line.find(" ", 12)
    colon = line.find(": ", time_end) if time_end > 0 else -1
    if colon < 0 or (line.count(" ", time_end, colon) != 2 and line[colon - 1] != ")"):  # ` host program[pid]`
        return None
    return line[time_end:colon], colon + 2


def syslog_message(line: str, start: int) -> str:
    """A syslog line's message from `start`, without the kernel's uptime, with rsyslog's `#011` as the tab it stands for."""
    if line[start:start + 1] == "[" and (uptime := _UPTIME.match(line, start)) is not None:
        start = uptime.end()
    message = line[start:]
    return message.replace("#011", "\t") if "#011" in message else message


def syslog_parts(line: str) -> tuple[str, str] | None:
    """Who sent a syslog line and its message (syslog_sender_end, syslog_message); None for a line that is not one."""
    found = syslog_sender_end(line)
    return (found[0], syslog_message(line, found[1])) if found is not None else None


class _GenericFormat(RegexFormat):
    """`generic`, whose level word is optional and matched in any case: a lower-case one written as a word of
    running text (`[main] error count 3`: no bracket, pipe or padding around it, no `:`, tab or ` - ` after it)
    is the message's first word, not a level, so the message starts there. Columns after a level and a tab are
    zap's console encoder's (_tab_columns)."""

    def field_names(self) -> frozenset[str] | None:
        names = super().field_names()
        return None if names is None else names | {"Fields"}

    def parse(self, line: str) -> Parsed | None:
        parsed = self._parse_level(line)
        if parsed is not None and "\t" in parsed.content and LEVEL in parsed.fields:
            return _tab_columns(line, parsed)
        return parsed

    def _parse_level(self, line: str) -> Parsed | None:
        parsed = super().parse(line)
        if parsed is not None and "Pid2" in parsed.fields:  # a padded component's pid
            fields = {name: value for name, value in parsed.fields.items() if name != "Pid2"}
            parsed = Parsed(parsed.content, parsed.level, {"Pid": parsed.fields["Pid2"], **fields})
        if parsed is not None and LEVEL not in parsed.fields and "Component" in parsed.fields:
            return _level_in_component(parsed)
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


# zap's console encoder (Caddy, the OpenTelemetry Collector, Kubernetes operators in controller-runtime's development
# mode) writes `time<TAB>LEVEL<TAB>logger<TAB>caller<TAB>message<TAB>{"key": value, ...}`, the logger, the caller and
# the fields optional; its JSON encoder writes the same record as keys, the message under one of them
_TAB_NAME = re.compile(_NAME)
_TAB_CALLER = re.compile(_NAME + r":\d+")


def _tab_columns(line: str, parsed: Parsed) -> Parsed:
    """`parsed` with the columns zap's console encoder writes after its level and a tab read apart: a logger (one
    word before a further column), a caller (`file.go:42`) and a trailing JSON object of fields, so that its message
    is what the JSON encoder would write under `msg`; as it was where the level is not followed by a tab."""
    if parsed.fields[LEVEL] + "\t" not in line:
        return parsed
    columns, fields = parsed.content.split("\t"), dict(parsed.fields)
    if len(columns) > 1 and columns[-1].startswith("{") and columns[-1].rstrip().endswith("}"):
        fields["Fields"] = columns.pop()
    if "Caller" not in fields and len(columns) > 1 and _TAB_NAME.fullmatch(columns[0]):
        fields["Logger"] = columns.pop(0)
        if len(columns) > 1 and _TAB_CALLER.fullmatch(columns[0]):
            fields["Caller"] = columns.pop(0)
    content = "\t".join(columns)
    return Parsed(content, parsed.level, {**fields, CONTENT: content})


# A component that is a level and a facility, `level/facility` (Icinga 2's `information/cli:`, `warning/ApiListener:`),
# as Celery's `INFO/MainProcess` and logcat's `W/Tag` write them inside their own headers
_LEVEL_FACILITY = re.compile(r"(?P<Level>" + _LEVEL_WORD + r")/(?P<Facility>[\w$.@#\-]+)")


def _level_in_component(parsed: Parsed) -> Parsed:
    """`parsed` with the level and facility of a `level/facility` component read apart; as it was otherwise."""
    match = _LEVEL_FACILITY.fullmatch(parsed.fields["Component"])
    if match is None:
        return parsed
    fields = {name: value for name, value in parsed.fields.items() if name != "Component"}
    level = match.group(LEVEL)  # the facility is no Component: generic_plain keeps none of it in the message
    return Parsed(parsed.content, level_name(level), {**fields, LEVEL: level, "Facility": match.group("Facility")})


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


# Samba's debug levels as Samba itself maps them to syslog priorities (lib/util/debug.c): 0 error, 1 warning, 2-5
# notice, 6-9 info, 10 and above debug; not syslog's own numbers, where 3 is an error
SAMBA_LEVELS = ["error", "warning", "info", "info", "info", "info", "info", "info", "info", "info"]


def samba_level(value: str) -> str:
    """Samba's debug level (a number of Samba's own scale, SAMBA_LEVELS) as a level name."""
    number = int(value)
    return SAMBA_LEVELS[number] if number < len(SAMBA_LEVELS) else "debug"


# SSSD's debug mask bits as its documentation names them (sssd.conf(5), debug_level): 0x0010 fatal and 0x0020
# critical failures, 0x0040 serious failures, 0x0080 minor failures, 0x0100 configuration settings, 0x0200 and above
# function data and tracing; a message logged under several bits at once (SSSD's "important info", 0x3f7c0) is info
SSSD_LEVELS = {0x10: "critical", 0x20: "critical", 0x40: "error", 0x80: "warning", 0x100: "info"}


def sssd_level(value: str) -> str:
    """SSSD's level (a bit of its debug mask, SSSD_LEVELS) as a level name."""
    mask = int(value, 16)
    return "info" if mask & (mask - 1) else SSSD_LEVELS.get(mask, "debug")


class _OwnScaleFormat(RegexFormat):
    """A header whose level field is on the program's own scale (Samba's debug levels, SSSD's mask): `scale` names
    it."""

    def __init__(self, name: str, regex: str, scale: Callable[[str], str]):
        super().__init__(name, regex)
        self.scale = scale

    def parse(self, line: str) -> Parsed | None:
        parsed = super().parse(line)
        return None if parsed is None else Parsed(parsed.content, self.scale(parsed.fields[LEVEL]), parsed.fields)


class _LogcatFormat(RegexFormat):
    """logcat's `brief` and `time` layouts name the tag and pid in another order than `threadtime`: merged as
    Component and Pid."""

    def field_names(self) -> frozenset[str] | None:
        return frozenset(self.regex.groupindex) - {"Tag", "Pid2"}

    def parse(self, line: str) -> Parsed | None:
        parsed = super().parse(line)
        if parsed is None or "Tag" not in parsed.fields:
            return parsed
        fields = dict(parsed.fields)
        fields["Component"], fields["Pid"] = fields.pop("Tag"), fields.pop("Pid2")
        return Parsed(parsed.content, parsed.level, fields)


class ComponentInMessage(LineFormat):
    """`generic` (or `log4j`) with a `component:` that is a plain word left at the start of the message, still a
    field: detection takes it when such a word begins only some of the messages (`InnoDB: ...` among
    MariaDB's, a method name in `getTasks: caller 1011 ...`), so that it is part of those messages, not a column of
    the header. A component that is a value word (`com.shop.Orders`, `worker-3`) is a logger or a host, and a caller
    (`main.go:42`) is one too: cut."""

    has_level = True

    def __init__(self, inner: str) -> None:
        inner_format = PRESETS[inner]()
        assert isinstance(inner_format, RegexFormat)
        self.inner: RegexFormat = inner_format
        self.name = f"{inner}_plain"

    def field_names(self) -> frozenset[str] | None:
        return self.inner.field_names()

    def parse(self, line: str) -> Parsed | None:
        parsed = self.inner.parse(line)
        component = None if parsed is None else message_word_component(parsed)
        if parsed is None or component is None:
            return parsed
        match = self.inner.regex.match(line)
        assert match is not None  # it parsed
        return Parsed(line[match.start(component):match.start(CONTENT)] + parsed.content, parsed.level, parsed.fields)


def message_word_component(parsed: Parsed) -> str | None:
    """"Component" when the line's header component may be a word of its message (it is not a value word), else None."""
    component = parsed.fields.get("Component")
    return "Component" if component is not None and not is_value_word(component) else None


# Presets whose component may be a word of the message (see ComponentInMessage), and their variant that keeps it
PLAIN_VARIANTS = {"generic": "generic_plain", "log4j": "log4j_plain"}
PRESETS.update({plain: partial(ComponentInMessage, inner) for inner, plain in PLAIN_VARIANTS.items()})


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


class EitherFormat(LineFormat):
    """Two layouts in one file, as a container's output interleaves its stdout and stderr (nginx's and gunicorn's
    access lines and their error log's): a line is read by the first format, else by the second. Named
    `first|second`."""

    def __init__(self, first: LineFormat, second: LineFormat):
        self.first, self.second = first, second
        self.name, self.has_level = f"{first.name}|{second.name}", first.has_level or second.has_level

    def field_names(self) -> frozenset[str] | None:
        first, second = self.first.field_names(), self.second.field_names()
        return None if first is None or second is None else first | second

    def parse(self, line: str) -> Parsed | None:
        parsed = self.first.parse(line)
        return parsed if parsed is not None else self.second.parse(line)

    def leaves_open(self, lines: Sequence[str], was_open: bool) -> bool:
        return self.first.leaves_open(lines, was_open)


def resolve(spec: str) -> LineFormat:
    """A preset name, `outer+inner` (a wrapper's line, `cri+log4j`, or one program's lines in another's layout,
    `syslog+klog`, `syslog+logfmt`), `csv:M:L`, two of them as `first|second` (two layouts in one file) or a
    logparser-style pattern -> format.

    Raises ValueError naming the problem.
    """
    if spec in PRESETS:
        return PRESETS[spec]()
    if (declared_csv := csv_spec(spec)) is not None:
        return declared_csv
    outer, plus, inner = spec.partition("+")
    if plus and "<" not in outer:  # a wrapper's line (cri+log4j), or a program's lines in another layout (syslog+klog)
        return NestedFormat(resolve(outer), resolve(inner))
    first, bar, second = spec.partition("|")
    if bar and "<" not in spec:
        return EitherFormat(resolve(first), resolve(second))
    if "<" not in spec:
        raise ValueError(f"unknown format preset {spec!r} (presets: {', '.join(sorted(PRESETS))}; or CSV columns, "
                         f"csv:MESSAGE[:LEVEL]; or a pattern such as '<Date> <Time> <Level> <Component>: <{CONTENT}>')")
    return compile_pattern(spec)

