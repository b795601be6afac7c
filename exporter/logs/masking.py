"""The built-in masks: variable parts of a message that become `<NAME>` before templates are mined.

Order matters: a mask runs on what the earlier ones left. Whole timestamps come first (so their
digits are not numbers), then things that contain digits and punctuation (URLs, e-mail
addresses, paths, UUIDs, MAC and IP addresses), then values with units (durations, sizes),
then hex values, then plain numbers (bare hex ids are numbers too: `<NUM>`). A mask never
swallows the word after it: the timestamp's zone is `Z`, an offset or UTC/GMT only, so a level
word after a timestamp stays a word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from drain3.masking import AbstractMaskingInstruction

_MON = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DOW = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_HMS = r"\d{2}:\d{2}:\d{2}(?:[.,]\d+)?"

# (pattern, name, characters of which a line must hold one for the pattern to be tried, or a tuple of strings of
# which it must hold one: a cheap test that spares most lines most regexes; "" = always tried)
BUILTIN_MASKS: list[tuple[str, str, str | tuple[str, ...]]] = [
    # timestamps: ISO 8601 (zone only as Z, an offset, or UTC/GMT), ctime, Tomcat, RFC 2822 (and Redis: day month
    # year), Apache access and HAProxy, syslog
    (r"\b\d{4}-\d{2}-\d{2}(?:T| {1,2})\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z\b|[+-]\d{2}:?\d{2}\b| (?:UTC|GMT)\b)?", "TS",
     ":"),  # the hour may be space-padded (MariaDB)
    (r"\b\d{4}/\d{2}/\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b", "TS", ":"),  # the same with slashes (Go's log, nginx, Squid)
    (r"\b" + _DOW + " " + _MON + r" (?:[ \d]\d|\d) " + _HMS + r"(?: \d{4})?\b", "TS", ":"),
    (r"\b\d{2}-" + _MON + r"-\d{4} " + _HMS + r"\b", "TS", ":"),
    (r"\b(?:" + _DOW + r", )?\d{1,2} " + _MON + r" \d{4} " + _HMS + r"(?: [+-]\d{4}\b| (?:UTC|GMT)\b)?", "TS", ":"),
    (r"\[\d{2}/" + _MON + r"/\d{4}:\d{2}:\d{2}:\d{2}(?:\.\d+)?(?: [+-]\d{4})?\]", "TS", "["),  # (HAProxy: ms, no zone)
    (r"\b\d{2}/" + _MON + r"/\d{4}[: ]" + _HMS + r"(?: [+-]\d{4}\b)?", "TS", ":"),  # the same unbracketed (Django)
    (r"\b" + _MON + r" (?:[ \d]\d|\d) " + _HMS + r"\b", "TS", ":"),
    # things with punctuation inside
    # (a scheme and an address start where their characters start, not inside a dotted word: each start tried inside
    # one would scan to its end again, quadratic on a long token)
    # (a bracket that the URL does not open closes the text around it, as a full stop or comma after it ends a sentence:
    # `(dynamic+https://relays.example.net/endpoint) starting`, `see https://example.com/x.`)
    (r"(?<![a-zA-Z0-9+.-])[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^\s\"'<>()\[\]]|\([^\s\"'<>()]*\)|\[[^\s\"'<>\[\]]*\])+"
     r"(?<![.,;:])", "URL", ":"),
    (r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,}\b", "EMAIL", "@"),
    # a query string's values after a path (`/search?q=shoes&page=2` -> `/search?q=<VALUE>&page=<VALUE>`): they vary
    # from request to request as an id in a path does, and a word there would keep a template per request; its keys
    # stay, they say what is asked (the group `query` is the whole string, whose values alone are masked); a bracket, or
    # a full stop, comma or colon at its end, is the text's around it (`(POST /?_task=login)`, `see /a?b=c.`)
    (r"(?<=[\w/.\-])(?P<query>\?[\w.\-~%\[\]]+=[^\s#\"'<>()]*)(?<![.,:\]])", "VALUE", "?"),
    (r"(?<![\w.:/])(?:~|\.{1,2})?(?:/[\w.@%+=~-]+){2,}/?", "PATH", "/"),
    # a relative path of three parts or more, the first not a number (docs/content/npm.md; not 2026/12/06; two parts
    # are often words: I/O, TCP/IP, and/or)
    (r"(?<![\w.:/@%+=~-])(?![\d.]+/)[\w.@%+=~-]+(?:/[\w.@%+=~-]+){2,}/?", "PATH", "/"),
    # a Windows path; a folder's name may hold spaces (C:\Program Files (x86)\My App\app.exe: up to four words, none
    # with a colon, so that `C:\a to D:\b` stays two paths), the file's name ends at a space
    (r"\b[A-Za-z]:\\(?:[^\\\s]+(?: [^\\\s:]+){0,3}\\)*[^\\\s]*", "PATH", "\\"),
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "UUID", "-"),
    (r"\b[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}\b", "MAC", ":-"),
    (r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])", "IP", "."),
    # IPv6: eight groups, or fewer around one '::' (with a digit somewhere, so `dead::beef` in code stays a word)
    (r"(?<![\w:])(?=[0-9a-fA-F:]*\d)(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,5})?::"
     r"(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,5})?(?:%\w+)?(?![\w:])", "IP", ("::",)),
    (r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?:%\w+)?(?![\w:])", "IP", ":"),
    # an object's identity hash after its class (Java's com.shop.Cart@1b6d3586), whatever letters or digits it has
    (r"(?<=[\w$]@)[0-9a-fA-F]{4,16}\b", "NUM", "@"),
    # values with units
    # Go's compound durations (1h2m3.5s, 5m30s), or a number with one unit
    (r"(?<![\w.])(?:(?:\d+(?:\.\d+)?(?:h|m(?!s)|s|ms|us|µs|ns)){2,}|\d+(?:\.\d+)?"
     r"(?:ns|us|µs|ms|s|sec|secs|seconds|min|mins|minutes|h|hrs|hours|d|days))\b", "DURATION", "0123456789"),
    # (kB: SI's kilobyte; a bare B glued to a number of up to 6 digits only: a longer one is a hex id that ends in B,
    # as a Postfix queue id can, 0279718205B; a lookahead, not a branch of its own: masking is a record's largest cost)
    (r"(?<![\w.])(?!\d{7,}B\b)\d+(?:\.\d+)? ?(?:[KMGTPE]i?B|kB|[kKMGTPE]b|bytes|B)\b", "SIZE", "Bb"),
    # quoted strings (an apostrophe inside a word is not a quote), but for a quoted HTTP request line (uvicorn's,
    # Django's, a JSON access log's `request`), which is masked as the access preset's message is: its method stays,
    # so GET and POST are two templates wherever the line is written (its path and version have masks of their own)
    # (a match of the group `keep` is left as it is: consumed, so its closing quote does not open a string)
    (r"(?P<keep>\"(?:GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS|CONNECT|TRACE) \S+ HTTP/[^\"\n]*\")"
     r"|\"[^\"\n]*\"|(?<!\w)'[^'\n]*'(?!\w)", "STR", "\"'"),
    # ids and numbers
    (r"\b0x[0-9a-fA-F]+\b", "HEX", ("0x",)),
    # a bare hex id (6+ hex digits, one a digit) is a number: the same field holds 40000500 one time and
    # 4000050a the next, and two mask names there would split one template in two
    (r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{6,}\b", "NUM", "0123456789"),
    # a number after a word and a dot is a number too (core.2275); a dotted run of numbers is one (a version: 1.4.69)
    (r"(?<![A-Za-z0-9])(?<!\d\.)[+-]?\d+(?:\.\d+)*(?![A-Za-z0-9])", "NUM", "0123456789"),
]


def _merged(masks: list[tuple[str, str, str | tuple[str, ...]]]) -> list[tuple[str, str, str | tuple[str, ...]]]:
    """Consecutive timestamp masks with one cheap test as one alternation, so a message is scanned once for them, not
    once per shape (masking is a quarter of a record's time). The shapes do not overlap in a real line, so this masks
    what running them one after the other does (the same text on every line of Loghub's shared systems and of this
    machine's /var/log)."""
    out: list[tuple[str, str, str | tuple[str, ...]]] = []
    for pattern, name, needs in masks:
        if out and name == "TS" and out[-1][1] == name and out[-1][2] == needs:
            out[-1] = (f"{out[-1][0]}|(?:{pattern})", name, needs)
        else:
            out.append((f"(?:{pattern})", name, needs))
    return out


class BuiltinMasking(AbstractMaskingInstruction):
    """The built-in masks in order, each tried only on a message holding one of its characters."""

    def __init__(self, masks: list[tuple[str, str, str | tuple[str, ...]]] = BUILTIN_MASKS):
        super().__init__("MASK")
        self.masks = [(regex, name, frozenset(needs) if isinstance(needs, str) else needs, _replacer(regex))
                      for regex, name, needs in ((re.compile(pattern), name, needs)
                                                 for pattern, name, needs in _merged(masks))]

    def mask(self, content: str, mask_prefix: str, mask_suffix: str) -> str:
        present = frozenset(content)
        for regex, name, needs, replacer in self.masks:
            if (not needs or (not needs.isdisjoint(present) if isinstance(needs, frozenset)
                              else any(part in content for part in needs))):
                masked = mask_prefix + name + mask_suffix
                content = regex.sub(masked if replacer is None else replacer(masked), content)
        return content


def _replacer(regex: re.Pattern):
    """For a mask with the group `keep` or `query`, the function of the mask text that gives what a match becomes
    (_keeping, _query_values); None where a match becomes the mask text."""
    if "keep" in regex.groupindex:
        return _keeping
    return _query_values if "query" in regex.groupindex else None


_QUERY_VALUE = re.compile(r"=[^&;]+")


@lru_cache(maxsize=64)
def _query_values(masked: str):
    """A replacement that masks each value of a query string (`?q=shoes&page=2` -> `?q=<VALUE>&page=<VALUE>`); an empty
    value stays empty."""
    value = "=" + masked
    return lambda match: _QUERY_VALUE.sub(value, match.group("query"))


@lru_cache(maxsize=64)
def _keeping(masked: str):
    """A replacement that leaves a match of the group `keep` as it is and masks any other match (one function per
    mask text, cached, not one per message)."""
    return lambda match: match.group(0) if match.group("keep") is not None else masked


def mask_names(extra: Iterable[str] = ()) -> frozenset[str]:
    """Names of the built-in masks and of `extra` (a user's masks)."""
    return frozenset([*(name for _, name, _ in BUILTIN_MASKS), *extra])
