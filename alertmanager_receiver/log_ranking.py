"""Which log templates changed most around an incident's start (pure ranking, no I/O).

Input: record counts per (source, template_id, level) in the incident's
window and in the baseline span before it, plus template texts. A template
is evidence when it has at least `min_records` records in the window and its
rate there is higher than in the baseline; templates are ranked by the
ratio of the two rates, each with one pseudo-record so that a template never
seen before ranks high but finite.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

Key = tuple[str, str, str]  # (source, template_id, level)


@dataclass(frozen=True)
class TemplateChange:
    source: str
    template_id: str
    level: str
    template: str
    records_in_window: float
    rate_before_per_minute: float
    rate_during_per_minute: float
    change: float  # ratio of the smoothed rates
    new: bool  # no record in the baseline

    def as_dict(self) -> dict:
        return asdict(self)


def rank_templates(window_counts: dict[Key, float], baseline_counts: dict[Key, float], window_seconds: float,
                   baseline_seconds: float, texts: dict[tuple[str, str], str], limit: int = 5,
                   min_records: int = 3) -> list[TemplateChange]:
    changes = []
    for key, during in window_counts.items():
        if during < min_records:
            continue
        before = baseline_counts.get(key, 0.0)
        rate_during = during / window_seconds
        rate_before = before / baseline_seconds
        if rate_during <= rate_before:
            continue
        change = ((during + 1) / window_seconds) / ((before + 1) / baseline_seconds)
        source, template_id, level = key
        changes.append(TemplateChange(source, template_id, level, texts.get((source, template_id), "(template text unknown)"),
                                      round(during, 1), round(rate_before * 60, 3), round(rate_during * 60, 3),
                                      round(change, 1), before < 0.5))
    changes.sort(key=lambda c: (-c.change, -c.records_in_window, c.source, c.template_id))
    return changes[:limit]


def label_matcher(values: list[str]) -> str:
    """A PromQL regex matching exactly these label values."""
    return "|".join(_escape_regex(v) for v in sorted(set(values)))


def _escape_regex(value: str) -> str:
    special = set(".^$*+?()[]{}|\\")
    escaped = "".join("\\" + ch if ch in special else ch for ch in value)
    return escaped.replace("\\", "\\\\").replace('"', '\\"')  # then for the PromQL string literal
