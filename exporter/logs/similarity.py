"""Drain's similarity with masked values counted as parameters, as in Drain's reference implementation.

Drain3 compares a message with a template token by token and counts every equal token as
evidence that they are the same template, masked ones included: two messages that share only
`<IP>`, `<NUM>` and a word or two look alike. Drain's reference (logparser) masks values to
`<*>`, which counts as neither equal nor different, so similarity rests on the constant words.
This class restores that: a token that is nothing but a mask (with punctuation around it, as in
`<IP>:` or `(<NUM>),`) counts as a parameter. A token whose mask follows a key (`uid=<NUM>`,
`port:<NUM>`, `name="<STR>"`) is compared as it is: the key is a word of the statement. A value
with a constant part glued to it (`blk_<NUM>`, `ORD-<NUM>`, `sshd[<NUM>]:`, `<IP>:<NUM>`) held
digits before masking, so it is a value word (below) and counts as a parameter when equal: with it
counted as an equal word, `Order ORD-<NUM> shipped to <STR>` and `Order ORD-<NUM> cancelled by
bob` were 2 equal words in 5, at the threshold, and one template. Templates still show the mask
names. A message whose masked text is the template's, token for token, is that template however
few its constant words (`<IP> - <NUM> <STR> NOERROR <NUM>` is 2 equal words in 6, under the
threshold), and so is one that differs from it only in values (every constant word of the template equal and in
its place; each token that differs a value on both sides, after the same key if any: other_value). A message with
no constant word at all (`{<STR>: <STR>, <STR>: <NUM>}`) would then
match no template, not even one of its own shape, and open a new one per line; where every token
of the template is a parameter that the message fits token by token, the two are the same
template.

A value word left unmasked counts as a parameter too when it is equal: a token with a digit in it
(`libc6:amd64`, `1.3.3+ds-1` after masking, `blk_-42`) or a name with a dot or slash inside
(`chrome.exe`, `db.example.org`). Values repeat across different messages (the same package, block
or host in consecutive lines of different events), so an equal one is no evidence that two messages
are one template; with it counted, `status half-installed libc6:amd64 <V>` joined `status unpacked
libc6:amd64 <V>` and every later package opened a template of its own. Drain's tree files a message
whose first word is a value word under `<*>`, as Drain3 does for a word with a digit.

A template keeps the key of a value that varies after it (`rhost=<*> user=<*>`, where Drain3 writes `<*> <*>`),
and its `key=<*>` takes any value after that key as `<*>` does: the grouping is Drain's, the template text says what
varies.

A state word is not a value: a message never joins a template from which it differs only by state
words in a token, however similar the rest; it joins or opens a template of its own state. State
words are boolean literals (`isOverlap:false` / `isOverlap:true`, `healthy=true` / `healthy=false`)
and upper-case identifiers, as enum constants are written (`from NEW to UNASSIGNED` / `from RUNNING
to FAILED`, `state CONNECTED` / `state LOST`, `ACTION_DOWN` / `ACTION_UP`, `GET` / `POST`): three
letters or more, or words joined by `_`; a mask (`<NUM>`) is not one. States are a small closed
set; upper-case words that are values (stock tickers, booking codes, airport codes) are an open one.
So when a message matches no template only because MAX_STATES or more of its candidates are other
states of it, the position holds values: the message joins the most similar of them as Drain would,
and the word becomes `<*>` there (an open set leaves at most MAX_STATES templates of one line or so
behind, not one template per value). The saved state stays Drain3's own (the class is swapped while
saving and back after loading).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache

from drain3.drain import Drain

from .formats import is_value_word

_AROUND = (r"[^\w<]*", r"[^\w>]*")  # punctuation before and after a mask in a token


def mask_token_pattern(names: Iterable[str]) -> str:
    """A regex matching a token that is one of the masks `<NAME>` and punctuation only."""
    alternatives = "|".join(re.escape(name) for name in sorted(names))
    return rf"{_AROUND[0]}<(?:{alternatives})>{_AROUND[1]}"


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


@lru_cache(maxsize=64)
def _mask_inside(mask_token: str) -> re.Pattern:
    """A mask anywhere in a token: mask_token without the punctuation around it. Searched, it looks at each `<` once;
    mask_token's leading `[^\\w<]*` would rescan a run of punctuation from every place in it (quadratic)."""
    return re.compile(mask_token.removeprefix(_AROUND[0]).removesuffix(_AROUND[1]))


def is_value_token(token: str, mask_token: str) -> bool:
    """Whether a token is a value, not a word of the statement: a value word (a digit, or a dot or slash inside), or
    a token with a mask in it (`<NUM>`, `task_<NUM>_m_<NUM>`: it held digits before masking)."""
    return is_value_word(token) or ("<" in token and _mask_inside(mask_token).search(token) is not None)


# A boolean literal, or an upper-case identifier (an enum constant): 3+ capitals, or capitals and digits joined by
# `_`; not inside a word, nor a mask's name (<NUM>).
_STATE_WORD = re.compile(r"(?<![\w<])(?:true|false|True|False|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{3,})(?![\w>])")
_STATE = "\x00"  # a state word's place in a token's shape
NOT_THIS_TEMPLATE = -1.0  # the similarity of a template of another state: below any threshold (0 to 1)
MAX_STATES = 16  # templates that are other states of a message before its state words are taken as values


def _may_hold_state(token: str) -> bool:
    return token.lower() != token or "rue" in token or "alse" in token  # a capital, or true/false: cheap


# What separates a key from the value after it inside a token (`uid=<NUM>`, `port:<NUM>`, `name="<STR>"`).
_KEY_SEPARATOR = re.compile(r"[=:][\"'(\[{]?<")


@lru_cache(maxsize=8192)
def is_masked_value(token: str, mask_token: str) -> bool:
    """Whether a token is a value because of the mask in it: only a mask and punctuation (`<IP>:`, `(<NUM>),`), or
    a mask glued to a constant part without a key (`blk_<NUM>`, `ORD-<NUM>`, `sshd[<NUM>]:`, `<IP>:<NUM>`)."""
    if _compiled(mask_token).fullmatch(token) is not None:
        return True
    return _mask_inside(mask_token).search(token) is not None and not _has_key(token)


def _has_key(token: str) -> bool:
    """Whether a value inside the token follows a key: a word with a letter, then `=` or `:` (linear: each
    separator looks back over the word before it, and those words do not overlap)."""
    for separator in _KEY_SEPARATOR.finditer(token):
        start = end = separator.start()
        while start and (token[start - 1].isalnum() or token[start - 1] in "_.-"):
            start -= 1
        if any(char.isalpha() for char in token[start:end]):
            return True
    return False


_KEY = re.compile(r"[A-Za-z_][\w.-]*(?:=|:(?!:))")


def _key_of(token: str) -> str:
    """A token's leading `key=` or `key:` (a word with a letter first), or ""."""
    match = _KEY.match(token)
    return match.group(0) if match else ""


def _keyed_param(template_token: str, token: str, param: str) -> bool:
    """Whether a template token `key=<*>` takes `token` as its value (the same key before it)."""
    key = template_token[:-len(param)]
    return bool(key) and token.startswith(key) and _key_of(template_token) == key


def other_state(template_token: str, token: str) -> bool:
    """Whether the two tokens differ only in their state words (`isOverlap:false` / `isOverlap:true`)."""
    if template_token == token or not (_may_hold_state(template_token) and _may_hold_state(token)):
        return False
    shape = _STATE_WORD.sub(_STATE, template_token)
    return _STATE in shape and shape == _STATE_WORD.sub(_STATE, token)


_BEFORE_VALUE = re.compile(r"[^=:]*[=:]")  # a token's text up to its first `=` or `:` (`name=`, `index:`)


def other_value(template_token: str, token: str, mask_token: str) -> bool:
    """Whether two different tokens are two values in one place: both values (is_value_token), with the same text
    up to their first `=` or `:` (none, or the same key: `Surface(name=org.app.Main)` and `Surface(name=com.app/.Ui)`;
    `num=<NUM>,flags=<NUM>` and `topActivity=ComponentInfo{...}` are two statements' words)."""
    return (is_value_token(template_token, mask_token) and is_value_token(token, mask_token)
            and _before_value(template_token) == _before_value(token))


def _before_value(token: str) -> str:
    match = _BEFORE_VALUE.match(token)
    return match.group(0) if match else ""


class MaskAwareDrain(Drain):
    """Drain whose similarity does not count masked tokens as equal words (see the module's docstring)."""

    def has_numbers(self, s):
        """Whether Drain's tree files a message under `<*>` rather than this token: Drain3 does so for a token with a
        digit; any value word is filed there, and so is a mask or a word with a mask inside (`task_<NUM>_m_<NUM>` held
        digits before masking). A message that begins with a program or host name
        (`chrome.exe - ...`, `svchost.exe - ...`) is then compared with the templates of its length that begin with
        another, and one log statement is one template, not one per program; a statement whose first field holds a
        host name one time and an address (`<IP>`) the next is one template too, not one per kind of value."""
        return s == self.value_first or is_value_token(s, self.mask_token)

    mask_token: str = mask_token_pattern(())  # a string, so that Drain3's saved state stays plain JSON
    states_as_values = False  # set on the instance only inside fast_match, never saved
    value_first: str | None = None  # set on the instance only between tree_search and add_seq_to_prefix_tree

    def tree_search(self, root_node, tokens, sim_th, include_params):
        """Drain's own; where it finds no template and the message's plain first word is a value (an open set of
        names), the templates under `<*>` are searched, and a new one is filed there (add_seq_to_prefix_tree)."""
        self.__dict__.pop("value_first", None)
        match = super().tree_search(root_node, tokens, sim_th, include_params)
        if match is not None or not self._first_word_is_a_value(root_node, tokens, sim_th):
            return match
        values = root_node.key_to_child_node[str(len(tokens))].key_to_child_node.get(self.param_str)
        leaf = self._leaf(values, tokens) if values is not None else None
        match = self.fast_match(leaf.cluster_ids, tokens, sim_th, include_params) if leaf is not None else None
        if match is None:
            self.value_first = tokens[0]
        return match

    def add_seq_to_prefix_tree(self, root_node, cluster):
        try:
            super().add_seq_to_prefix_tree(root_node, cluster)
        finally:
            self.__dict__.pop("value_first", None)

    def _first_word_is_a_value(self, root_node, tokens: list[str], sim_th: float) -> bool:
        """Whether a message that matches no template begins with a plain word that stands where MAX_STATES or more
        other first words lead to a template that the message fits but for its first word (`alice logged in from
        <IP>`, `bob logged in from <IP>`, ...): a name of an open set, not a word of the statement, so the message is
        filed under `<*>`, as a value word's is. Fewer first words (`Accepted password ...` / `Failed password ...`)
        keep their branches."""
        if len(tokens) < 2 or self.max_node_depth < 2 or self.has_numbers(tokens[0]):
            return False
        length_node = root_node.key_to_child_node.get(str(len(tokens)))
        if length_node is None or len(length_node.key_to_child_node) < MAX_STATES:
            return False
        alike = 0
        for word, node in length_node.key_to_child_node.items():
            if word in (self.param_str, tokens[0]):
                continue
            leaf = self._leaf(node, tokens)
            if leaf is not None and self._fits_but_for_the_first_word(leaf.cluster_ids, tokens, sim_th):
                alike += 1
                if alike >= MAX_STATES:
                    return True
        return False

    def _fits_but_for_the_first_word(self, cluster_ids, tokens: list[str], sim_th: float) -> bool:
        """Whether a template of `cluster_ids` is as similar to `tokens` as Drain asks with its first word a
        parameter (the first word neither counted as equal nor as different)."""
        for cluster_id in cluster_ids:
            cluster = self.id_to_cluster.get(cluster_id)
            if cluster is not None:
                template = [self.param_str, *cluster.log_template_tokens[1:]]
                if self.get_seq_distance(template, tokens, False)[0] >= sim_th:
                    return True
        return False

    def _leaf(self, node, tokens: list[str]):
        """The node under a first word's `node` where tree_search would look for `tokens` (deeper trees only)."""
        depth = 2
        for token in tokens[1:]:
            if depth >= self.max_node_depth or depth == len(tokens):
                break
            node = node.key_to_child_node.get(token) or node.key_to_child_node.get(self.param_str)
            if node is None:
                return None
            depth += 1
        return node

    def get_seq_distance(self, seq1, seq2, include_params: bool):
        if not seq1:
            return 1.0, 0
        similar = params = equal_values = 0  # equal constant words; parameters; equal masks and value words
        other_values = words_differ = 0  # tokens that differ: both values; any other way
        param = self.param_str
        for template_token, token in zip(seq1, seq2):
            if template_token == param:
                params += 1
            elif template_token == token:
                if ("<" in token and is_masked_value(token, self.mask_token)) or is_value_word(token):
                    params += 1
                    equal_values += 1
                else:
                    similar += 1
            elif template_token.endswith(param) and _keyed_param(template_token, token, param):  # `user=<*>`
                params += 1
            elif not self.states_as_values and other_state(template_token, token):
                return NOT_THIS_TEMPLATE, 0
            elif other_value(template_token, token, self.mask_token):
                other_values += 1
            else:
                words_differ += 1
        if similar + equal_values == len(seq1):  # the template's own text, token for token (few constant words or not)
            return 1.0, params
        if similar and not words_differ:  # every constant word in its place, only values differ
            return 1.0, params + other_values
        if not similar and params == len(seq1):  # nothing constant to compare, and every token in its place
            return 1.0, params
        if include_params:
            similar += params
        return similar / len(seq1), params

    def create_template(self, seq1, seq2):
        """Drain's, but a token whose value varies after the same key keeps its key: `user=<*>`, not `<*>`."""
        template = list(seq2)
        for i, (token, template_token) in enumerate(zip(seq1, seq2)):
            if token != template_token:
                key = _key_of(template_token)
                template[i] = key + self.param_str if key and _key_of(token) == key else self.param_str
        return template

    def fast_match(self, cluster_ids, tokens, sim_th: float, include_params: bool):
        """Drain's best match; when none matches because MAX_STATES candidates are other states, the best of them."""
        match = super().fast_match(cluster_ids, tokens, sim_th, include_params)
        if match is not None or len(cluster_ids) < MAX_STATES:
            return match
        templates = [c.log_template_tokens for c in map(self.id_to_cluster.get, cluster_ids) if c is not None]
        if sum(self.get_seq_distance(t, tokens, include_params)[0] == NOT_THIS_TEMPLATE for t in templates) < MAX_STATES:
            return None
        self.states_as_values = True  # an open set of upper-case words: values after all
        try:
            return super().fast_match(cluster_ids, tokens, sim_th, include_params)
        finally:
            del self.states_as_values


def make_mask_aware(drain: Drain, names: Iterable[str]) -> MaskAwareDrain:
    """`drain` (new, or as Drain3 restored it from a saved state) with the mask-aware similarity."""
    drain.__class__ = MaskAwareDrain
    drain.mask_token = mask_token_pattern(names)
    return drain


@contextmanager
def saved_as_plain_drain(drain: Drain) -> Iterator[None]:
    """While saving: `drain` is Drain3's own class, so the saved state names no class of ours."""
    drain.__class__ = Drain
    try:
        yield
    finally:
        drain.__class__ = MaskAwareDrain
