"""Header tokens left at the start of a message, and the format that cuts them off.

A detected format (a preset, a level column, a leading stamp) can leave part of a line's header in
the message: a host and a level after the time, a logger and a ` - `, a zone after a bracketed time,
a thread in brackets. Such tokens vary from line to line (a host, a pid) or repeat on every line (a
level, a separator), and either way they would lead Drain's tree and similarity astray.
`header_token_kind` says what kind of header token a message's token is; `HeaderRestFormat` wraps a
format and cuts the first tokens of its messages where the last of them is of the kind detection
found there (detection.py decides where; this module only reads tokens).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from .formats import COMMON_LEVEL_WORDS, LEVEL, LineFormat, Parsed, is_value_word, level_name

# Header tokens a detected format can leave at the start of the message: a level word, a lone separator, a date,
# a time or a zone, a bracketed number, a bracketed word, a value word (a host, a pid, a logger). Single letters count
# as a level only first and before a date, a time or a lone separator (_BY_PLACE).
HEADER_SEPARATORS = frozenset({"-", "--", "---", "|", ":", "::", ">", ">>", "=>", "->", "-->", "»"})
_DATE_TOKEN = re.compile(r"^[\[(]?(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
                         r"(?:T\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?)?[\])]?,?$")
_TIME_TOKEN = re.compile(r"^[\[(]?\d{1,2}:\d{2}:\d{2}(?:[.,:]\d{1,9})?[\])]?,?$")
# the common log format's time, as a bracketed group or its first token (`[07/Dec/2026:09:14:49 +0000]`: CUPS writes
# its level letter before it, `E [07/Dec/2026:09:14:49 +0000] message`)
_CLF_STAMP = re.compile(r"^\[?\d{1,2}/[A-Z][a-z]{2}/\d{4}[: ]\d{2}:\d{2}:\d{2}")
_ZONE_TOKEN = re.compile(r"^[\[(]?(?:[+-]\d{2}:?\d{2}|UTC|GMT|Z)[\])]?,?$")
# A number in brackets or after '#': the kernel's uptime stamp ([12.345678], padded to its width as [    0.004242]), a
# worker or connection id (#0, <12>); or a bare number closed by a colon, as a prefix ends with a pid (pgpool-II's
# `main pid 19705: LOG:  ...`) or a level with its verbosity (BIND's `debug 3: ...`)
_NUMBER_TOKEN = re.compile(r"^(?:(?:\[ *\d+(?:\.\d+)?\]|\( *\d+(?:\.\d+)?\)|< *\d+(?:\.\d+)?>|#\d+):?,?|\d+:)$")
# A bracketed word or group: a thread, a logger or a context ([main], [pool-1-thread-3], {req=12}, [pool www],
# (1234 on node-1):); split_header_tokens keeps a group with spaces inside as one token
_BRACKET_TOKEN = re.compile(r"^(?:\[.+\]|\{.+\}|\(.+\)):?$", re.DOTALL)
_CLOSERS = {"[": "]", "{": "}", "(": ")"}
MAX_GROUP = 200  # characters a bracketed group may span
_DIGITS = re.compile(r"\d+")
_ALPHANUMERIC = re.compile(r"[A-Za-z0-9]+")
MAX_HEADER_REST = 8  # tokens at the start of a message that can still be header
HEADER_KINDS = ("level", "separator", "stamp", "number", "bracket", "id")
# A plain word that can be a header column (a host or program name): letters, `_` and `-` only (one with a digit or a
# dot inside is a value word, kind `id`). Its kind is `word=<the word>`: only that word, on every line, is header.
_HEADER_WORD = re.compile(r"[A-Za-z_][A-Za-z_-]+")
WORD_KIND = "word="


def column_shape(token: str) -> str:
    """What one header column's tokens share: for a word with digits, its punctuation, every run of letters and
    digits as `w` (node-3 and db-12 have one shape, and so have the dynos app[web.1]: and app[worker.2]: of one app),
    `name` for a name with a dot or slash inside (a logger or component: com.shop.Orders, app.hw), `:` kept."""
    if any(c.isdigit() for c in token):
        return _ALPHANUMERIC.sub("w", token)
    return "name:" if token.endswith(":") else "name"


def digit_shape(text: str) -> str:
    """`text` with every run of digits as 0: node-3 and node-12 have one shape."""
    return _DIGITS.sub("0", text)


def split_header_tokens(text: str, maxsplit: int) -> list[str]:
    """`text.split(None, maxsplit)`, except that a token opening with a bracket runs to the bracket that closes it
    (within MAX_GROUP characters, nested brackets and spaces inside): `[pool www]`, `(1234 on node-1):` and
    `[req-7 - - -]` are one header token each, as a header writes them."""
    tokens: list[str] = []
    start, end = 0, len(text)
    while len(tokens) < maxsplit:
        while start < end and text[start].isspace():
            start += 1
        if start >= end:
            return tokens
        stop = _group_end(text, start) if text[start] in _CLOSERS else -1
        if stop < 0:
            stop = start
        while stop < end and not text[stop].isspace():
            stop += 1
        tokens.append(text[start:stop])
        start = stop
    rest = text[start:].lstrip()
    return tokens + [rest] if rest else tokens


def _group_end(text: str, start: int) -> int:
    """The index after the bracket closing the one at text[start], -1 when it does not close within MAX_GROUP."""
    opener, closer, depth = text[start], _CLOSERS[text[start]], 0
    for i in range(start, min(len(text), start + MAX_GROUP)):
        char = text[i]
        if char == opener:
            depth += 1
        elif char == closer:
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


def header_level(token: str) -> str | None:
    """The level a header token names (`INFO`, `[warn]`, `<info>`, `Error:`), None when it names none."""
    return None if token.isdigit() else level_name(token.strip("<>"))


def is_header_word(token: str) -> bool:
    """Whether a token could be a header column of plain words (a host or program name): letters, `_` and `-` only."""
    return _HEADER_WORD.fullmatch(token) is not None


def is_header_kind(kind: str) -> bool:
    """Whether `kind` names a kind HeaderRestFormat cuts: one of HEADER_KINDS, or `word=<a header word>`."""
    return kind in HEADER_KINDS or (kind.startswith(WORD_KIND) and is_header_word(kind[len(WORD_KIND):]))


def header_token_kind(tokens: Sequence[str], i: int) -> str | None:
    """What header token tokens[i] is: one of HEADER_KINDS, or None (a word of the message, or unsure)."""
    token = tokens[i]
    kind = _cached_token_kind(token) if len(token) <= CACHED_TOKEN_LENGTH else _token_kind(token)
    if kind is not _BY_PLACE:
        return kind
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    before_stamp = _DATE_TOKEN.match(nxt) or _TIME_TOKEN.match(nxt) or _CLF_STAMP.match(nxt)
    return "level" if i == 0 and (before_stamp or nxt in HEADER_SEPARATORS) else None


# a one-letter level (I, W, E) is a header's only first (on its line, or after the time a format read) and before a
# date or time (`W 2026-10-11 ...`, CUPS' `E [07/Dec/2026:...]`) or a lone separator (etcd's `<time> I | etcdmain: ...`)
_BY_PLACE = "by place"
CACHED_TOKEN_LENGTH = 64  # longer tokens are looked at every time: the cache's memory stays small


def _token_kind(token: str) -> str | None:
    """header_token_kind of a token wherever it stands, or _BY_PLACE when that depends on its place."""
    if token in HEADER_SEPARATORS:
        return "separator"
    if _DATE_TOKEN.match(token) or _TIME_TOKEN.match(token) or _ZONE_TOKEN.match(token):
        return "stamp"
    if _NUMBER_TOKEN.match(token):
        return "number"
    if header_level(token) is None:
        if _BRACKET_TOKEN.match(token):
            return "bracket"
        return "id" if is_value_word(token) else None
    word = token.strip("[]()<>:")
    if len(word) > 1:  # as headers write levels (INFO, [info], <info>, Info:, a common level word in any case: Prosody's
        # `startup<TAB>info<TAB>...`), not as a message uses a rarer one (a log, a config); detection cuts only where
        # one stands at one place on most lines, after header tokens
        return ("level" if word.isupper() or token[:1] in "[<" or token.endswith(":") or word.upper() in COMMON_LEVEL_WORDS
                else None)
    return _BY_PLACE


# a sample's lines repeat their header tokens (levels, threads, loggers): each is looked at once
_cached_token_kind = lru_cache(maxsize=4096)(_token_kind)


class HeaderRestFormat(LineFormat):
    """A detected format whose messages still begin with header tokens (found by detect(): a host and a level after
    the time, a logger and a ` - `, a zone after a bracketed time): on each line whose token `count - 1` of the
    message is of the same kind (one of HEADER_KINDS; for `word=<w>`, is the word w), the first `count` tokens are cut
    off; the level is read among them when the format gave none. Lines where it is not stay as the format parsed
    them."""

    def __init__(self, inner: LineFormat, count: int, kind: str):
        self.inner, self.count, self.kind = inner, count, kind
        self.word = kind[len(WORD_KIND):] if kind.startswith(WORD_KIND) else None
        self.name, self.has_level = f"{inner.name}>{kind}:{count}", True

    def cut_tokens(self, parsed: Parsed) -> list[str] | None:
        """The message's first `count` tokens and the rest (split_header_tokens) where they are cut: its token
        `count - 1` is of the kind (and a level where the format read none); None where the message stays whole."""
        tokens = split_header_tokens(parsed.content, self.count)
        if len(tokens) < self.count or (self.kind == "level" and parsed.level is not None):
            return None
        last = self.count - 1
        is_kind = tokens[last] == self.word if self.word is not None else header_token_kind(tokens, last) == self.kind
        return tokens if is_kind else None

    def field_names(self) -> frozenset[str] | None:
        inner = self.inner.field_names()
        return None if inner is None else inner | {LEVEL, "Header"}

    def parse(self, line: str) -> Parsed | None:
        parsed = self.inner.parse(line)
        if parsed is None or parsed.from_fields:
            return parsed
        tokens = self.cut_tokens(parsed)
        if tokens is None:
            return parsed
        header = tokens[:self.count]
        level = parsed.level or next((header_level(t) for i, t in enumerate(header)
                                      if header_token_kind(header + tokens[self.count:self.count + 1], i) == "level"),
                                     None)
        return Parsed(tokens[self.count] if len(tokens) > self.count else "", level,
                      {**parsed.fields, "Header": " ".join(header), **({LEVEL: level} if level else {})})
