"""Drain's similarity with masked values counted as parameters, as in Drain's reference implementation.

Drain3 compares a message with a template token by token and counts every equal token as
evidence that they are the same template, masked ones included: two messages that share only
`<IP>`, `<NUM>` and a word or two look alike. Drain's reference (logparser) masks values to
`<*>`, which counts as neither equal nor different, so similarity rests on the constant words.
This class restores that: a token that is nothing but a mask (with punctuation around it, as in
`<IP>:` or `(<NUM>),`) counts as a parameter. A token with a constant part (`uid=<NUM>`) is
compared as it is. Templates still show the mask names. A message whose masked text is the
template's, token for token, is that template however few its constant words (`<IP> - <NUM> <STR>
NOERROR <NUM>` is 2 equal words in 6, under the threshold). A message with no constant word at
all (`{<STR>: <STR>, <STR>: <NUM>}`) would then match no template, not even one of its own
shape, and open a new one per line; where every token of the template is a parameter that the
message fits token by token, the two are the same template.

A boolean literal is a state, not a value: a message never joins a template from which it differs
only by `true` for `false` (or back) in a token (`isOverlap:false` / `isOverlap:true`, `healthy=true` /
`healthy=false`, `down true` / `down false`), however similar the rest; it joins or opens a template
of its own state. The saved state stays Drain3's own (the class is swapped while saving and back
after loading).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache

from drain3.drain import Drain


def mask_token_pattern(names: Iterable[str]) -> str:
    """A regex matching a token that is one of the masks `<NAME>` and punctuation only."""
    alternatives = "|".join(re.escape(name) for name in sorted(names))
    return rf"[^\w<]*<(?:{alternatives})>[^\w>]*"


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


_BOOLEAN = re.compile(r"(?<!\w)(?:true|false|True|False|TRUE|FALSE)(?!\w)")
_STATE = "\x00"  # a boolean literal's place in a token's shape


def boolean_positions(tokens: Sequence[str]) -> list[int]:
    """Where `tokens` hold a boolean literal (alone or in a token: `enabled=true`, `null?false`)."""
    return [i for i, token in enumerate(tokens) if _BOOLEAN.search(token)]


def other_state(template_token: str, token: str) -> bool:
    """Whether the two tokens differ only in their boolean literals (`isOverlap:false` / `isOverlap:true`)."""
    if template_token == token:
        return False
    shape = _BOOLEAN.sub(_STATE, template_token)
    return _STATE in shape and shape == _BOOLEAN.sub(_STATE, token)


class MaskAwareDrain(Drain):
    """Drain whose similarity does not count masked tokens as equal words (see the module's docstring)."""

    mask_token: str = mask_token_pattern(())  # a string, so that Drain3's saved state stays plain JSON

    def get_seq_distance(self, seq1, seq2, include_params: bool):
        if not seq1:
            return 1.0, 0
        similar = params = masked = 0
        is_mask = _compiled(self.mask_token).fullmatch
        for template_token, token in zip(seq1, seq2):
            if template_token == self.param_str:
                params += 1
            elif template_token == token:
                if "<" in token and is_mask(token):
                    params += 1
                    masked += 1
                else:
                    similar += 1
        if similar + masked == len(seq1):  # the template's own text, token for token (few constant words or not)
            return 1.0, params
        if not similar and params == len(seq1):  # nothing constant to compare, and every token in its place
            return 1.0, params
        if include_params:
            similar += params
        return similar / len(seq1), params

    def fast_match(self, cluster_ids, tokens, sim_th: float, include_params: bool):
        """Drain's best match, among the templates that are not another state of the message (a boolean)."""
        text = " ".join(tokens)
        if "rue" in text or "alse" in text or "RUE" in text or "ALSE" in text:  # a cheap test first: most have none
            states = boolean_positions(tokens)
            if states:
                cluster_ids = [cluster_id for cluster_id in cluster_ids
                               if not self._other_state(self.id_to_cluster.get(cluster_id), tokens, states)]
        return Drain.fast_match(self, cluster_ids, tokens, sim_th, include_params)

    @staticmethod
    def _other_state(cluster, tokens, states: list[int]) -> bool:
        if cluster is None:
            return False
        template = cluster.log_template_tokens
        return len(template) == len(tokens) and any(other_state(template[i], tokens[i]) for i in states)


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
