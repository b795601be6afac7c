"""Which line format a source writes, told from its first lines, and a detected format restored by its name.

`detect` tries the presets in DETECTION_ORDER (the narrowest first) and takes the one that parses
most of the sample lines, else a *level column* (the token position where a level word sits on
most lines), a *colon column*, a delimited header or a leading date/time, else none (the whole line
is mined). The messages the chosen format leaves are then read for header tokens it did not cut
(header_tokens.py), which are cut too; the lines it does not parse, for a second layout (two programs, or a
program's stdout and stderr, in one file: `access|nginx_error`). Its messages are read for records that carry a
header of their own (logfmt, JSON, klog: `syslog+logfmt`), and syslog's for any program's line format
(`syslog+log4j`). The chosen format's name says all of this (`generic>level:3`, `cri+log4j`, `level-column:8`,
`syslog+klog|logfmt`), so that `format_from_state` can restore it after a restart without looking at lines again.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from .formats import (
    DETECTION_ORDER,
    PLAIN_VARIANTS,
    PRESETS,
    WRAPPERS,
    ColonColumnFormat,
    CsvFormat,
    DelimitedFormat,
    EitherFormat,
    LevelColumnFormat,
    LineFormat,
    NestedFormat,
    Parsed,
    StampPrefixFormat,
    WholeLine,
    begins_with_stamp,
    csv_row,
    is_section_heading,
    is_value_word,
    level_name,
    message_word_component,
    resolve,
    takes_more,
    word_level,
)
from .header_tokens import (
    MAX_HEADER_REST,
    WORD_KIND,
    HeaderRestFormat,
    column_shape,
    digit_shape,
    header_token_kind,
    is_header_kind,
    is_header_word,
    split_header_tokens,
)

_NUMBER = re.compile(r"[\d.,:]+")
DETECT_LINES = 200  # lines a source's format is chosen from
MIN_SHARE = 0.6  # the chosen format must parse at least this share of them
MAX_LEVEL_COLUMN = 12


@dataclass(frozen=True)
class Detection:
    format: LineFormat
    share: float  # of the sample lines it parses
    reason: str


def detect(lines: Sequence[str], second_layout: bool = True) -> Detection:
    """The format that fits the sample lines best (see module docstring); with `second_layout`, the lines it does not
    parse are looked at for a second layout (_with_second_layout)."""
    sample = [line for line in lines if line.strip()][:DETECT_LINES]
    if not sample:
        return Detection(WholeLine(), 0.0, "no lines to look at")
    headings = has_headings(sample)
    shares = [(parse_share(candidate, sample, headings=headings), candidate)
              for candidate in (_csv_columns(sample) if name == "csv" else PRESETS[name]() for name in DETECTION_ORDER)
              if candidate is not None]
    best = _best(shares)
    if best is not None and best[1].name in WRAPPERS:
        return _nested(best[1], best[0], _preset_reason(*best), sample)
    if best is not None:
        chosen = Detection(best[1], best[0], _preset_reason(*best))
        inside = _structured_inside(chosen, sample, MIN_SHARE) or _header_format_inside(chosen, sample)
        if inside is not None:  # mostly records or another program's lines: only the header around them
            return inside
        found = _header_rest(_without_stray_component(chosen, sample), sample)
        if not second_layout:
            return _with_some_structured(found, sample)
        both = _with_second_layout(found, sample)
        return _with_some_structured(both if both is not found else _narrower_pair(shares, best, sample) or found,
                                     sample)
    top = max(shares, key=lambda pair: pair[0])  # the narrowest of those that parse the most
    if second_layout and top[0] >= MIN_FIRST_LAYOUT_SHARE and top[1].name not in WRAPPERS:
        first = _header_rest(_without_stray_component(Detection(top[1], top[0], _preset_reason(*top)), sample), sample)
        both = _with_second_layout(first, sample)
        if both is not first:
            return both
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
            shaped = Detection(shape, share, f"{reason} on {share:.0%} of the lines looked at")
            return _structured_inside(shaped, sample, MIN_SHARE) or _with_some_structured(_header_rest(shaped, sample),
                                                                                            sample)
    return _header_rest(Detection(WholeLine(), 1.0, "no preset or header shape fits the lines looked at: whole lines "
                                                    "are mined"), sample)


# Records a header format can hold that no message is by chance (`Dec  7 14:00:00 vm prometheus[4242]: ts=...
# level=info msg="..."`, a logfmt, JSON or klog program's lines as syslog or `kubectl logs --timestamps` writes them):
# looked for inside any format
STRUCTURED = ("logfmt", "json", "klog")
# Records on this share of the sample lines (fewer than MIN_SHARE) are read as records where they stand: a syslog file
# where a few programs (Prometheus, Grafana, an exporter) write logfmt among others that write text, or kubelet's klog
# and containerd's logfmt on a node (the two kinds that hold the most lines are read). A line whose message is no
# record is read by the format alone, as it was
MIN_STRUCTURED_SHARE = 0.1


def _with_some_structured(found: Detection, sample: Sequence[str]) -> Detection:
    """`found`, with STRUCTURED records inside it where MIN_STRUCTURED_SHARE of the lines hold them."""
    if isinstance(found.format, WholeLine):
        return found
    return _structured_inside(found, sample, MIN_STRUCTURED_SHARE, bare_time=False) or found


def _structured_inside(found: Detection, sample: Sequence[str], min_share: float,
                       bare_time: bool = True) -> Detection | None:
    """`found`'s format with STRUCTURED records (logfmt, JSON, klog) inside it (NestedFormat; with a second kind that
    holds MIN_STRUCTURED_SHARE of the lines, as EitherFormat) when at least `min_share` of the lines hold records of one
    kind as their message, as a logfmt program's lines are in syslog (`... prometheus[4242]: ts=... level=info
    msg="..."`) or after `kubectl logs --timestamps`' time; None otherwise. Mined as the header's own messages, they
    would all be one template (`level=info msg=<STR>`) with an unknown level. With `bare_time`, what follows a leading
    date and time is looked at too, where the format read a record's pairs as its header."""
    if sum(_could_hold_a_record(line) for line in sample) < min_share * len(sample):
        return None  # too few lines could (a cheap test: the format does not parse them for this)
    bare = bare_time and not isinstance(found.format, StampPrefixFormat)  # pairs or an object read as a header
    outers = [found.format, StampPrefixFormat()] if bare else [found.format]
    for outer in outers:  # the time alone, where the format read a record's pairs as its header (syslog: ts=... as a host)
        contents = [parsed.content for parsed in _messages(outer, sample)]
        shares = _record_shares(contents, len(sample))
        if shares[0][0] >= min_share:
            held = shares[:1] + [pair for pair in shares[1:2] if pair[0] >= MIN_STRUCTURED_SHARE]  # a second kind, if any
            inner = held[0][1] if len(held) == 1 else EitherFormat(held[0][1], held[1][1])
            outer_share = found.share if outer is found.format else sum(
                outer.parse(line) is not None for line in sample) / len(sample)
            reason = found.reason if outer is found.format else f"a leading date/time on {outer_share:.0%} of the lines"
            kinds = " and ".join(f"{share:.0%} {each.name}" for share, each in held)
            return Detection(NestedFormat(outer, inner), outer_share,
                             f"{reason}; of its messages {kinds} records: read as such")
    return None


def _record_shares(contents: Sequence[str], lines: int) -> list[tuple[float, LineFormat]]:
    """Each STRUCTURED format with the share of `lines` whose message (of `contents`) it parses, the most first."""
    shares = []
    for name in STRUCTURED:
        inner = PRESETS[name]()
        shares.append((sum(inner.parse(content) is not None for content in contents if _could_be[name](content)) / lines,
                       inner))
    return sorted(shares, key=lambda pair: -pair[0])


# Formats that carry other programs' lines as their messages: syslog's, which journald and rsyslog write for every
# service, whatever that service writes to its standard output
RELAYS = ("syslog", "syslog5424")


def _header_format_inside(found: Detection, sample: Sequence[str]) -> Detection | None:
    """A relay's format with another program's line format inside it (NestedFormat), where a preset (with the header
    tokens it leaves cut) parses MIN_SHARE of the sample's messages: a program that writes its own header to standard
    output under systemd reaches syslog so, as kubelet's klog lines do (`Dec  7 14:00:00 node-1 kubelet[1234]: I1207
    14:00:00.123456 1234 kubelet.go:70] "Attempting to register node" node="n1"`) or a Java service's Log4j lines.
    Mined as the outer format's messages, their header would stay in every template and their level be lost."""
    if found.format.name not in RELAYS:  # elsewhere a message that begins with brackets would pass for a header
        return None
    contents = [parsed.content for parsed in _messages(found.format, sample)]
    if sum(map(_could_begin_a_header, contents)) < MIN_SHARE * len(sample):
        return None  # most are plain messages (a cheap test: the presets are not tried on them)
    headings = has_headings(contents)
    best = _best([(parse_share(candidate, contents, headings=headings), candidate)  # the presets alone
                  for candidate in (PRESETS[name]() for name in DETECTION_ORDER if name != "csv" and name not in WRAPPERS)])
    if best is None or best[0] * len(contents) < MIN_SHARE * len(sample):
        return None
    inner = _header_rest(_without_stray_component(Detection(best[1], best[0], _preset_reason(*best)), contents),
                         contents)
    return Detection(NestedFormat(found.format, inner.format), found.share, f"{found.reason}; inside: {inner.reason}")


def _could_begin_a_header(content: str) -> bool:
    """Whether a message's first word could begin a line format's header: a date, a time or a number in it, a bracket
    or brace first, a colon in it (`WARNING:root:`), or a word in capitals (`INFO`); not a plain word."""
    first = content.split(None, 1)[0] if content.strip() else ""
    return (any(char.isdigit() for char in first) or first[:1] in "[{<(" or ":" in first
            or (first.isupper() and len(first) > 1))


_KLOG_START = re.compile(r"\b[IWEF]\d{4} \d")


def _could_hold_a_record(line: str) -> bool:
    """Whether a line could hold one of the STRUCTURED records: a pair, an object or klog's letter and date."""
    return "=" in line or "{" in line or ("] " in line and _KLOG_START.search(line) is not None)


# what a message must hold to be one of the STRUCTURED records (a cheap test: the others are not parsed)
_could_be = {"logfmt": lambda content: "=" in content, "json": lambda content: content[:1] == "{",
             "klog": lambda content: content[:1] in "IWEF" and content[1:5].isdigit()}


def _best(shares: Sequence[tuple[float, LineFormat]]) -> tuple[float, LineFormat] | None:
    """Of (share, format) pairs in DETECTION_ORDER, the first that parses MIN_SHARE of the sample, or a later one that
    parses clearly more (5 points); None when none does."""
    best: tuple[float, LineFormat] | None = None
    for share, candidate in shares:
        if share >= MIN_SHARE and (best is None or share > best[0] + 0.05):
            best = (share, candidate)
    return best


def _messages(line_format: LineFormat, lines: Sequence[str]) -> list[Parsed]:
    """The lines `line_format` parses into a message of their own (not a record mined from its fields), parsed."""
    return [parsed for parsed in map(line_format.parse, lines) if parsed is not None and not parsed.from_fields]


_SECTION = "section"


def has_headings(sample: Sequence[str]) -> bool:
    """Whether any sample line is a section's heading (parse_share looks for them only then: one look, not one a
    candidate format)."""
    return any(map(is_section_heading, sample))


def parse_share(candidate: LineFormat, sample: Sequence[str], unparsed: list[str] | None = None,
                headings: bool = True) -> float:
    """The share of the sample lines that `candidate` parses, of those that are not more of a record it parsed: lines
    it does not parse right after a line it reads as an error, before the next it parses, are more of that error's
    message (a query, a source excerpt), which the miner joins to its record, and so are a section's heading and its
    lines (formats.is_section_heading: a crash report's sections), not lines the format failed on. Those it failed on
    are added to `unparsed` when one is given. `headings` False: the caller knows there are none (has_headings)."""
    parsed = more = 0
    after: bool | str = False  # True: after an error (takes_more), _SECTION: in a section, else False
    for line in sample:
        found = candidate.parse(line)
        if found is not None:
            parsed, after = parsed + 1, takes_more(found.level, found.content)
        elif after and (after is _SECTION or not begins_with_stamp(line)):
            more += 1
        elif headings and line[:1] in "-=" and is_section_heading(line):
            more, after = more + 1, _SECTION
        else:
            after = False
            if unparsed is not None:
                unparsed.append(line)
    return parsed / max(len(sample) - more, 1)


def _preset_reason(share: float, found: LineFormat) -> str:
    what = "CSV rows: format" if isinstance(found, CsvFormat) else "preset"
    return f"{what} {found.name} parses {share:.0%} of the lines looked at"


MIN_FIRST_LAYOUT_SHARE = 0.2  # of the lines that the first of two layouts in one file must parse
SECOND_LAYOUT_MIN_LINES = 5  # lines the first format does not parse before they are looked at for a second layout
# of those lines that the second layout's format must parse; the others are mined whole (etcd 3.4 at startup: two flag
# warnings of neither layout among raft's Go log lines, 11 of 13)
SECOND_LAYOUT_SHARE = 0.8


def _narrower_pair(shares: list[tuple[float, LineFormat]], best: tuple[float, LineFormat],
                   sample: Sequence[str]) -> Detection | None:
    """Two layouts that each read a header narrower than `best` does, when together they parse about as many of the
    lines: the lines of two programs that a broad preset (`generic` reads any leading time) parses alike, leaving
    each program's header in its messages. The first is the earlier preset that parses the most of them; the second
    is found in the rest (_with_second_layout) and may be neither `best` nor its plain variant."""
    index = next(i for i, (_, candidate) in enumerate(shares) if candidate is best[1])
    earlier = [pair for pair in shares[:index] if pair[0] >= MIN_FIRST_LAYOUT_SHARE and pair[1].name not in WRAPPERS]
    if not earlier:
        return None
    top = max(earlier, key=lambda pair: pair[0])
    first = _header_rest(_without_stray_component(Detection(top[1], top[0], _preset_reason(*top)), sample), sample)
    both = _with_second_layout(first, sample)
    if both is first or both.share < best[0] - 0.05:
        return None
    assert isinstance(both.format, EitherFormat)
    second_preset = both.format.second.name.partition(">")[0]
    return None if second_preset in (best[1].name, PLAIN_VARIANTS.get(best[1].name)) else both


def _with_second_layout(found: Detection, sample: Sequence[str]) -> Detection:
    """`found`, or `first|second` (EitherFormat) when the sample lines its format does not parse (at least
    SECOND_LAYOUT_MIN_LINES) have a format of their own that reads a header and parses SECOND_LAYOUT_SHARE of them:
    a container's stdout and stderr in one file (nginx's access and error lines), a program's lines among another's."""
    if (reads_no_header(found.format) or isinstance(found.format, NestedFormat)
            or (1 - found.share) * len(sample) < SECOND_LAYOUT_MIN_LINES - 0.5):  # its share says how many are left
        return found
    rest: list[str] = []
    parse_share(found.format, sample, rest)
    if len(rest) < SECOND_LAYOUT_MIN_LINES:
        return found
    second = detect(rest, second_layout=False)
    if (reads_no_header(second.format) or isinstance(second.format, NestedFormat)
            or second.share < SECOND_LAYOUT_SHARE):
        return found
    parsed = len(sample) - len(rest) + sum(second.format.parse(line) is not None for line in rest)
    return Detection(EitherFormat(found.format, second.format), parsed / len(sample),
                     f"{found.reason}; the {len(rest)} others: {second.reason}")


def _without_stray_component(found: Detection, sample: Sequence[str]) -> Detection:
    """`generic_plain` for `generic` (`log4j_plain` for `log4j`) when its optional `component:` (or caller) stands on
    only some of the lines and is a plain word on some (a word of those messages, kept in them), `found` otherwise."""
    plain = PLAIN_VARIANTS.get(found.format.name)
    if plain is None:
        return found
    parsed = [p for p in map(found.format.parse, sample) if p is not None]
    with_component = sum("Component" in p.fields or "Caller" in p.fields for p in parsed)
    with_word = sum(message_word_component(p) is not None for p in parsed)
    if not with_word or with_component >= HEADER_REST_SHARE * len(parsed):
        return found
    return Detection(PRESETS[plain](), found.share,
                     f"{found.reason}; a `component:` on only {with_component / len(parsed):.0%} of them is read as "
                     f"part of the message ({plain})")


HEADER_REST_SHARE = 0.9  # of the parsed sample lines that must have the same header token at the same place
# Tokens of no header kind that may stand before a header token: more, and the token is the message's own, as the
# bracket in `Disconnected: Aborted login by logging out (auth failed, 1 attempts in 4 secs): user=<root>` is, at the
# same place on every line of a sample that one message fills (Dovecot under a password-guessing attack)
MAX_UNSURE_HEADER_TOKENS = 2
HEADER_REST_MIN_MESSAGES = 5  # distinct messages in the sample before header tokens are looked for in them
# A plain word (no digits, no dots) is a header column only when it is the same word on this share of the lines: a
# host or program name that a one-host, one-program file writes on every line (`2026-10-11 10:00:00 INFO shop ...`).
# Left in the messages it would be the first token of every one, where Drain's tree tells messages apart.
HEADER_WORD_SHARE = 0.98
# A cut must leave messages: on at least this share of the lines it cuts, what is left holds a word (letters only). A
# line of fields (an access log's `<time> <ms> <ip> TCP_MISS/200 <bytes> GET <url> - HIER_DIRECT/<ip> text/html`) has
# header-like tokens up to a separator deep in it, and cut there it leaves values only: one template for every request
MIN_WORD_SHARE_AFTER_CUT = 0.1
_MESSAGE_WORD = re.compile(r"[\"'(\[{]*[A-Za-z][A-Za-z'-]*[A-Za-z][\"')\]}.,:;!?]*")


def _header_rest(found: Detection, sample: Sequence[str]) -> Detection:
    """`found`, or `found` with the header tokens its messages still begin with cut off (HeaderRestFormat): the
    last of the first MAX_HEADER_REST tokens that is the same kind of header token on most messages."""
    parsed_lines = _messages(found.format, sample)
    contents = [parsed.content for parsed in parsed_lines]
    if len({digit_shape(content) for content in contents}) < HEADER_REST_MIN_MESSAGES:
        return found  # one message over and over (its numbers aside): no telling header from message
    after_header = not isinstance(found.format, WholeLine)  # a word that begins whole lines is the message's own
    counts = _header_token_counts(parsed_lines, after_header)
    # a word on (nearly) every line is a header column whatever follows it; read again with it as one, so that the
    # header tokens after it (a logger after a database's name: `shopdb odoo.modules.loading:`) are found too
    columns = {(i, word) for (i, kind, word), n in counts[0].items()
               if kind == "word" and n >= HEADER_WORD_SHARE * len(contents)}
    if columns:
        counts = _header_token_counts(parsed_lines, after_header, columns)
    common = _common_header_kinds(*counts, len(contents))
    if not common:
        return found
    index, kind = max(common)
    cut = HeaderRestFormat(found.format, index + 1, kind)
    share = HEADER_WORD_SHARE if kind.startswith(WORD_KIND) else HEADER_REST_SHARE
    left = _word_share_after_cut(cut, parsed_lines)
    if left < MIN_WORD_SHARE_AFTER_CUT:
        return Detection(found.format, found.share, f"{found.reason}; header-like tokens ({kind} at token {index + 1} "
                         f"on at least {share:.0%}) are not cut: what they leave holds a word on {left:.0%} of the "
                         f"lines (fields, not messages)")
    reason = (f"{found.reason}; its messages still begin with header tokens ({kind} at token {index + 1} on at "
              f"least {share:.0%}): cut")
    return _optional_bracket(Detection(cut, found.share, reason), sample)


# A bracketed group that begins this share of the messages (but fewer than HEADER_REST_SHARE) right after the header
# cut is a header field that some lines leave out, as vsftpd writes the user (`[pid 12] [ftp] OK LOGIN: ...`) only once
# one has logged in: cut where it stands
OPTIONAL_BRACKET_SHARE = 0.5


def _optional_bracket(found: Detection, sample: Sequence[str]) -> Detection:
    """`found`, or `found` with a bracketed group that begins OPTIONAL_BRACKET_SHARE of its messages (after its cut)
    cut too where it stands: `found`'s format wrapped in HeaderRestFormat(1, "bracket")."""
    parsed_lines = _messages(found.format, sample)
    if not parsed_lines:
        return found
    cut = HeaderRestFormat(found.format, 1, "bracket")
    with_bracket = sum(cut.cut_tokens(parsed) is not None for parsed in parsed_lines)
    if (with_bracket < OPTIONAL_BRACKET_SHARE * len(parsed_lines)
            or _word_share_after_cut(cut, parsed_lines) < MIN_WORD_SHARE_AFTER_CUT):
        return found
    return Detection(cut, found.share, f"{found.reason}; a bracketed group begins {with_bracket / len(parsed_lines):.0%} "
                                       f"of the messages after it: cut where it stands")


def _word_share_after_cut(cut: HeaderRestFormat, parsed_lines: Sequence[Parsed]) -> float:
    """Of the sample's messages that `cut` cuts, the share whose rest holds a word (letters only, _MESSAGE_WORD)."""
    cut_count = with_word = 0
    for parsed in parsed_lines:
        tokens = cut.cut_tokens(parsed)
        if tokens is None:
            continue
        cut_count += 1
        rest = tokens[cut.count] if len(tokens) > cut.count else ""
        with_word += any(_MESSAGE_WORD.fullmatch(token) for token in rest.split())
    return with_word / cut_count if cut_count else 1.0


def _header_token_counts(parsed_lines: Sequence[Parsed], after_header: bool,
                         columns: AbstractSet[tuple[int, str]] = frozenset()
                         ) -> tuple[Counter[tuple[int, str, str]], Counter[tuple[int, str]], set[tuple[int, str]]]:
    """Per (token position, kind, shape): on how many messages that token is a header token of that kind (a plain
    word, kind `word`, with the word as its shape); per (position, word): on how many a message word follows it; and
    the (position, word) pairs that a parameter follows (see _followed_by_a_parameter). A word of `columns` at its
    position counts as header for the tokens after it."""
    kinds: Counter[tuple[int, str, str]] = Counter()
    before_message: Counter[tuple[int, str]] = Counter()
    followers: dict[tuple[int, str], dict[str, set[str]]] = {}  # (position, word) -> the rest -> the next tokens
    for parsed in parsed_lines:
        tokens = split_header_tokens(parsed.content, MAX_HEADER_REST + 1)
        in_header = True  # every token so far is a header token
        unsure = 0  # tokens so far of no header kind (a component word, a level letter: MongoDB's `I NETWORK [conn7]`)
        for i in range(min(len(tokens), MAX_HEADER_REST)):
            kind = header_token_kind(tokens, i)
            if kind == "level" and parsed.level is not None:  # it has its level already
                kind = None
            # a value word is a column (a host, a pid, a logger) only among header tokens, with one shape on the lines
            # (node-3, node-7; com.shop.Orders:, io.net.Client:), and with the message after it; a message's numbers
            # (user 12) come after its words
            if kind == "id" and not (in_header and len(tokens) > i + 1):
                kind = None
            if kind is None and in_header and after_header and is_header_word(tokens[i]):
                kinds[(i, "word", tokens[i])] += 1  # a header only if it is the same word on (nearly) every line
                before_message[(i, tokens[i])] += i + 1 < len(tokens) and header_token_kind(tokens, i + 1) is None
                # (a value after it, node-3 or 12, is Drain's <*> anyway; one-word messages share no rest)
                if i + 2 < len(tokens) and is_header_word(tokens[i + 1]):
                    rest = digit_shape(" ".join(tokens[i + 2:]))
                    followers.setdefault((i, tokens[i]), {}).setdefault(rest, set()).add(tokens[i + 1])
            column = kind is None and _column_before_header(tokens, i, columns)
            in_header = in_header and (kind is not None or column)
            unsure += kind is None and not column
            if kind is not None and unsure <= MAX_UNSURE_HEADER_TOKENS:
                kinds[(i, kind, column_shape(tokens[i]) if kind == "id" else "")] += 1
    return kinds, before_message, {key for key, rests in followers.items() if _followed_by_a_parameter(rests)}


def _column_before_header(tokens: Sequence[str], i: int, columns: AbstractSet[tuple[int, str]]) -> bool:
    """Whether tokens[i] is a word of `columns` that header tokens may follow: not before a number, which is the
    word's value (`user 12 logged in`: the message's, not a header's)."""
    return (i, tokens[i]) in columns and i + 1 < len(tokens) and not _NUMBER.fullmatch(tokens[i + 1])


PARAMETER_VALUES = 3  # different words before one and the same rest of a message: a parameter, not a message's word


def _followed_by_a_parameter(rests: dict[str, set[str]]) -> bool:
    """Whether the plain word after a word is a parameter: PARAMETER_VALUES different ones or more come before one and
    the same rest of the message (`Service nginx started`, `Service redis started`). Cut, the word would leave that
    parameter first in every message, where Drain's tree would keep one template per value."""
    return any(len(words) >= PARAMETER_VALUES for words in rests.values())


def _common_header_kinds(kinds: Counter[tuple[int, str, str]], before_message: Counter[tuple[int, str]],
                         before_parameter: set[tuple[int, str]], messages: int) -> list[tuple[int, str]]:
    """(position, kind) of the header tokens common enough to cut: a kind of HEADER_KINDS on HEADER_REST_SHARE of the
    messages, a plain word (`word=<w>`) on HEADER_WORD_SHARE of them with a message word after it on most, and not a
    parameter."""
    common = [(i, kind) for (i, kind, _), n in kinds.items() if kind != "word" and n >= HEADER_REST_SHARE * messages]
    # a word that a number or a value follows on most lines is the message's (`user 12 logged in`), not a column;
    # so is one that a parameter follows (`Service nginx started`)
    common += [(i, f"{WORD_KIND}{word}") for (i, kind, word), n in kinds.items()
               if kind == "word" and n >= HEADER_WORD_SHARE * messages and 2 * before_message[(i, word)] > n
               and (i, word) not in before_parameter]
    return common


def _nested(outer: LineFormat, share: float, reason: str, sample: Sequence[str]) -> Detection:
    """A wrapper's detection, with the format of the lines it wraps detected too (when they have one)."""
    contents = [parsed.content for parsed in _messages(outer, sample)]
    inner = detect(contents)
    if isinstance(inner.format, WholeLine):
        return Detection(outer, share, reason)
    return Detection(NestedFormat(outer, inner.format), share, f"{reason}; inside: {inner.reason}")


def _colon_column(sample: Sequence[str]) -> ColonColumnFormat | None:
    """The token position of the first token ending in ':' on most lines, if any (not the first token). A line counts
    only when a value word (a date, a time, a number, a host) stands among the tokens up to that colon: a header holds
    one, while a message that begins with words and a colon (`checkpoint sync: ...`, `connection received: ...`) is
    the message's own text, which a structured logger's messages often are."""
    positions: Counter[int] = Counter()
    for line in sample:
        tokens = line.split(None, MAX_LEVEL_COLUMN + 1)[:MAX_LEVEL_COLUMN + 1]
        for i, token in enumerate(tokens):
            if len(token) > 1 and token.endswith(":"):
                if any(is_value_word(before) for before in (*tokens[:i], token[:-1])):
                    positions[i] += 1
                break
    if not positions:
        return None
    index, count = positions.most_common(1)[0]
    return ColonColumnFormat(index) if index > 0 and count >= MIN_SHARE * len(sample) else None


CSV_MIN_COLUMNS = 4
# A CSV row's first column: a time or a number alone (`2026-12-07 03:06:02.200 UTC`, `1701600000.123`, `12/7/2026
# 3:22:00 AM`), not the start of a line that merely holds commas (`03-17 16:13:38.820 1702 D Tag: ready=true,policy=3`)
_CSV_STAMP = re.compile(r"\d[\d\-/.:T +Z]*(?: [A-Z]{2,5})?")
_WORD = re.compile(r"\b[A-Za-z]{2,}\b")


def _csv_columns(sample: Sequence[str]) -> CsvFormat | None:
    """CSV rows whose first column is a time or a number alone on most lines, most of one width (CSV_MIN_COLUMNS or
    more), their fields not spaced after the commas as a sentence's are: the message is the column (not the first)
    with the most different sequences of words (an id or a time has none, a process kind a few; then the most
    words), the level the column that holds a level word on most rows, if one does."""
    rows = [row for row in map(csv_row, sample) if row and _CSV_STAMP.fullmatch(row[0]) is not None]
    widths = Counter(len(row) for row in rows)
    if not widths:
        return None
    width = widths.most_common(1)[0][0]
    if width < CSV_MIN_COLUMNS or len(rows) < MIN_SHARE * len(sample):  # rows a newline cut are narrower
        return None
    full = [row for row in rows if len(row) == width]
    filled = [value for row in full for value in row[1:] if value]
    if 2 * sum(value[:1].isspace() for value in filled) > len(filled):
        return None  # `a, b, c`: a list in a sentence (a CSV writer puts no space after its commas)
    wordings = [{tuple(_WORD.findall(row[j])) for row in rows if j < len(row)} - {()} for j in range(width)]
    message = max(range(1, width), key=lambda j: (len(wordings[j]), len(set().union(*wordings[j])), -j))
    leveled = [sum(len(row[j]) > 1 and not row[j].isdigit() and level_name(row[j]) is not None for row in full)
               for j in range(width)]
    level = max(range(width), key=lambda j: (leveled[j], -j))
    return CsvFormat(message + 1, level + 1 if leveled[level] >= MIN_SHARE * len(full) else None)


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
            if word_level(token) is not None:
                positions[i] += 1
                break
    if not positions:
        return None
    index, count = positions.most_common(1)[0]
    return LevelColumnFormat(index) if count >= MIN_SHARE * len(sample) else None


REDETECT_MAX_EVERY = 128 * DETECT_LINES  # records between two looks at most, for a source no format fits
SWITCH_MARGIN = 0.2  # a format replaces the present one only when it parses this much more of the recent lines
EARLY_RUN = 20  # records in a row that a header-reading format did not parse: looked at at once, alone
EARLY_SHARE = 0.9  # ...and a format replaces it then only if it parses this share of them


def reads_no_header(line_format: LineFormat) -> bool:
    """Whether a format mines whole lines (`none`), with or without header tokens cut from their start (`none>id:2`):
    it parses every line, so it never fails to parse one."""
    while isinstance(line_format, HeaderRestFormat):
        line_format = line_format.inner
    return isinstance(line_format, WholeLine)


class FormatWatch:
    """Whether an auto-detected format still fits a source's lines.

    Every `every` records (DETECT_LINES at first) it looks at the last DETECT_LINES first lines and detects the format
    again when fewer than MIN_SHARE of them parse (the program's layout changed, or the lines detection saw were a
    startup banner), or when the format reads no header (`none`, `none>stamp:3`). It proposes the detected format when
    that reads a header (not `none`, which could only cut the same messages anew and give them new templates) and
    parses at least MIN_SHARE of them and SWITCH_MARGIN more than the present one. After two looks in a row that
    propose nothing (one may fall on a change of layout, half of its lines before it), each next look waits twice as
    long (at most REDETECT_MAX_EVERY records), so that a source no format fits costs little.

    A layout that changes (a program upgraded, another program writing to the same file) need not wait for the
    next look: after EARLY_RUN records in a row that the present format did not parse, those records alone are
    looked at, and a format that reads a header and parses EARLY_SHARE of them replaces it at once. Otherwise a
    change of layout left up to DETECT_LINES records mined whole, each opening templates that were never seen again.
    A change back to a format the file had before sets `alternating` (the miner says it once): lines that
    alternate between layouts, such as two programs writing one file, switch the format back and forth, and only
    a file per layout mines them well (each file of a source has its own watch: origins.py).
    """

    def __init__(self) -> None:
        self.recent: deque[tuple[str, bool]] = deque(maxlen=DETECT_LINES)
        self.since, self.fruitless = 0, 0  # records since the last look; looks in a row that proposed nothing
        self.share = 1.0  # of the recent lines the present format parsed, at the last look
        self.looked = DETECT_LINES  # lines the last look judged the present format on
        self.unparsed_run = 0  # records in a row the present format did not parse
        self.had: set[str] = set()  # formats the source has had
        self.alternating: tuple[str, str] | None = None  # (present, next) at the first change back to an earlier format
        self.second_wait, self.second_skipped = 1, 0  # looks between two looks for a second layout; skipped since

    @property
    def every(self) -> int:
        """Records between two looks: DETECT_LINES, doubled for each fruitless look after the first."""
        return min(DETECT_LINES * 2 ** max(self.fruitless - 1, 0), REDETECT_MAX_EVERY)

    def see(self, line: str, parsed: bool, current: LineFormat) -> Detection | None:
        """Note one record's first line and whether `current` parsed it; a better format when one is found."""
        self.recent.append((line, parsed))
        self.since += 1
        self.unparsed_run = 0 if parsed else self.unparsed_run + 1
        if self.unparsed_run >= EARLY_RUN and not reads_no_header(current):
            found = self._early_look(current)
            if found is not None:
                return self._changed(current, found)
        if self.since < self.every:
            return None
        self.since = 0
        headerless = reads_no_header(current)
        self.share = 0.0 if headerless else sum(ok for _, ok in self.recent) / len(self.recent)
        self.looked = len(self.recent)
        if self.share >= MIN_SHARE and not headerless:
            return self._second_layout(current)
        found = detect([text for text, _ in self.recent])
        if (found.format.name != current.name and not reads_no_header(found.format)
                and found.share >= max(MIN_SHARE, self.share + SWITCH_MARGIN)):
            self.fruitless = 0
            return self._changed(current, found)
        self.fruitless += 1
        return None

    def _second_layout(self, current: LineFormat) -> Detection | None:
        """`current|found` (inside its wrapper, if it has one) when the recent lines that `current` does not parse
        have a layout of their own (_with_second_layout): a program's error lines that began after detection among
        its access lines. After a look that finds none, the next waits twice as many looks (at most 64)."""
        outer, inner = (current.outer, current.inner) if isinstance(current, NestedFormat) else (None, current)
        if isinstance(inner, EitherFormat) or reads_no_header(inner):
            return None
        self.second_skipped += 1
        if self.second_skipped < self.second_wait or (outer is None and sum(
                not ok for _, ok in self.recent) < SECOND_LAYOUT_MIN_LINES):
            return None
        self.second_skipped = 0
        lines = [text for text, _ in self.recent]
        if outer is not None:  # the lines inside the wrapper
            lines = [wrapped.content for wrapped in _messages(outer, lines)]
        share = sum(inner.parse(line) is not None for line in lines) / max(len(lines), 1)
        both = _with_second_layout(Detection(inner, share, f"{inner.name} parses {share:.0%} of the last "
                                                           f"{len(lines)} records"), lines)
        if both.format is inner:
            self.second_wait = min(2 * self.second_wait, 64)
            return None
        self.second_wait = 1
        found = NestedFormat(outer, both.format) if outer is not None else both.format
        return self._changed(current, Detection(found, both.share, both.reason))

    def _early_look(self, current: LineFormat) -> Detection | None:
        """The format of the run of records that `current` did not parse, if one reads a header and fits it."""
        run = [text for text, _ in list(self.recent)[-self.unparsed_run:]]
        self.unparsed_run = 0  # the next early look waits for another run
        found = detect(run)
        if found.format.name == current.name or reads_no_header(found.format) or found.share < EARLY_SHARE:
            return None
        self.since, self.fruitless, self.share, self.looked = 0, 0, 0.0, len(run)
        return found

    def _changed(self, current: LineFormat, found: Detection) -> Detection:
        """Note a change of format (and whether it goes back to one the source had before); returns `found`."""
        self.had.add(current.name)
        if found.format.name in self.had and self.alternating is None:
            self.alternating = (current.name, found.format.name)
        self.had.add(found.format.name)
        return found


def format_from_state(name: str | None) -> LineFormat | None:
    """The format a previous run detected (by its name), None when there was none or it is unknown."""
    if not name:
        return None
    outer, plus, inner = name.partition("+")
    if plus:  # a wrapper's line (cri+log4j), or one format's message in another's layout (syslog+klog, syslog+logfmt)
        outer_format, inner_format = format_from_state(outer), format_from_state(inner)
        return NestedFormat(outer_format, inner_format) if outer_format is not None and inner_format is not None else None
    first, bar, second = name.partition("|")
    if bar:
        first_format, second_format = format_from_state(first), format_from_state(second)
        return EitherFormat(first_format, second_format) if first_format and second_format else None
    inner_name, arrow, rest_spec = name.rpartition(">")
    if arrow and inner_name:
        kind, _, count = rest_spec.partition(":")
        inner_format = format_from_state(inner_name)
        if inner_format is None or not count.isdigit() or not is_header_kind(kind):
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
