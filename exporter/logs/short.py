"""Messages shorter than Drain's tree depth: grouped by their masked text, and by their values where a word varies.

Drain's tree needs `depth` tokens to file a message, so a shorter message is grouped only with
messages of identical masked text, as Drain's reference implementation does. Most short messages
are constant (`Server started`, `visible is true`), but some carry a value word that masking
leaves (a digit, a dot or slash inside, or a mask: `Started container shop/web-7f9c`, `Adding
debian:ACCVRAIZ1.pem`): each of its values would be a template of its own, and an open set of
them fills the source's template cap. So a place is taken for a value once MAX_VALUES (16)
different value words have stood there in templates that are otherwise alike (the same other
tokens, the same length): the next message that differs from them only there joins one template
with `<*>` in that place, and so do later messages with one of the words seen before (their
templates keep their counts but grow no more). A small closed set (a handful of states or property
names) stays apart, each a template, as before. A plain word (letters, `_`, `-`) is never taken for
a value here: a message of one word mined behind a header left in it (`<TS> INFO onResume`) shares
its other tokens with every other one-word message, and they are different statements. A message
of one token has no context to compare and is never merged.
"""

from __future__ import annotations

from collections.abc import Callable

WILDCARD = "<*>"
MAX_VALUES = 16  # different words in one place of otherwise alike short templates before the place holds values


class ShortMessages:
    """Template ids of short messages (masked text -> id), with the value places found so far."""

    def __init__(self, prefix: str, is_value: Callable[[str], bool], texts: dict[str, str] | None = None):
        self.prefix = prefix
        self.is_value = is_value  # the miner's test of a value token (similarity.is_value_token with its masks)
        self.ids: dict[str, str] = dict(texts or {})  # message text -> template id (saved as it is)
        self.text_of: dict[str, str] = {}  # template id -> its text (with `<*>` where values were found)
        for text, template_id in self.ids.items():
            if template_id not in self.text_of or WILDCARD in text.split(" "):
                self.text_of[template_id] = text
        self.alike: dict[tuple[int, tuple[str, ...]], list[str]] = {}  # (place, other tokens) -> texts alike
        for text in list(self.ids):
            tokens = text.split(" ")
            if WILDCARD not in tokens:
                self._count(text, tokens)

    def __len__(self) -> int:
        return len(self.ids)

    def template(self, tokens: list[str], room: bool) -> tuple[str | None, str]:
        """(id, template text) of a short message; the id is None when it needs a new template and `room` is False."""
        text = " ".join(tokens)
        found = self.ids.get(text)
        if found is not None:
            return found, self.text_of[found]
        if len(tokens) > 1:
            for place in self._value_places(tokens):
                general = " ".join([*tokens[:place], WILDCARD, *tokens[place + 1:]])
                found = self.ids.get(general)
                if found is None and room and len(self.alike.get(_key(tokens, place), ())) >= MAX_VALUES:
                    found = self._generalise(general, self.alike[_key(tokens, place)])
                if found is not None:
                    return found, general
        if not room:
            return None, text
        self._count(text, tokens)
        return self._add(text), text

    def _add(self, text: str) -> str:
        template_id = self.ids[text] = f"{self.prefix}{len(self.ids) + 1}"
        self.text_of[template_id] = text
        return template_id

    def _generalise(self, general: str, alike: list[str]) -> str:
        """A template with `<*>` in a place found to hold values; the texts seen there join it from now on."""
        template_id = self._add(general)
        for text in alike:
            self.ids[text] = template_id
        return template_id

    def _count(self, text: str, tokens: list[str]) -> None:
        if len(tokens) > 1:
            for place in self._value_places(tokens):
                self.alike.setdefault(_key(tokens, place), []).append(text)

    def _value_places(self, tokens: list[str]) -> list[int]:
        """The places of a message's value tokens (a digit, a dot or slash inside, or a mask): only they may hold
        values."""
        return [place for place, token in enumerate(tokens) if self.is_value(token)]


def _key(tokens: list[str], place: int) -> tuple[int, tuple[str, ...]]:
    return place, (*tokens[:place], *tokens[place + 1:])
