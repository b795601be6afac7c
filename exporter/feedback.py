"""Operator verdicts become per-series sensitivity multipliers (pure logic, no I/O).

A multiplier m >= 1 widens a series' published band m times, so the same
deviation scores m times lower. Each `false_positive` verdict on an incident
multiplies m of every anomaly alert in it by `widen_factor` (up to
`max_multiplier`); each `useful` verdict divides it (down to 1). Between
verdicts m decays back towards 1 with `half_life`:

    m(t) = 1 + (m0 - 1) * 0.5 ** ((t - t0) / half_life)

The fold over the verdict history is deterministic, so replaying the
receiver's verdicts from the start gives the same multipliers as applying
them one by one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# Labels an alerting rule, Alertmanager or Prometheus adds that a modelled series does not carry.
NON_SERIES_LABELS = frozenset({"alertname", "severity"})


@dataclass(frozen=True)
class SensitivityRules:
    widen_factor: float = 2.0
    max_multiplier: float = 4.0
    half_life: float = 3 * 86400.0


@dataclass
class Multiplier:
    value: float  # m right after the last verdict
    at: float  # when the last verdict was applied

    def now(self, t: float, half_life: float) -> float:
        return 1.0 + (self.value - 1.0) * 0.5 ** (max(t - self.at, 0.0) / half_life)


def alert_key(query: str, labels: dict[str, str]) -> tuple:
    """The identity of the series an anomaly alert came from (its labels minus the rule's)."""
    return (query, tuple(sorted((k, v) for k, v in labels.items() if k not in NON_SERIES_LABELS)))


@dataclass
class Sensitivity:
    """Multipliers per (query, alert labels), built from verdicts in the order they were given."""

    rules: SensitivityRules = field(default_factory=SensitivityRules)
    entries: dict[tuple, Multiplier] = field(default_factory=dict)
    cursor: float = 0.0  # `at` of the newest verdict applied
    seen_ids: set[int] = field(default_factory=set)  # verdicts applied at `cursor` (ties)

    def apply(self, verdict: dict, queries: set[str]) -> int | None:
        """Apply one verdict from GET /api/v1/feedback; returns how many series it touched.

        None means the verdict was applied before (at or before the cursor).
        """
        at, vid = float(verdict["at"]), int(verdict["id"])
        if at < self.cursor or (at == self.cursor and vid in self.seen_ids):
            return None
        if at > self.cursor:
            self.cursor, self.seen_ids = at, set()
        self.seen_ids.add(vid)
        touched = 0
        for key in series_keys(verdict.get("alerts", []), queries):
            current = self.entries.get(key)
            m = current.now(at, self.rules.half_life) if current else 1.0
            if verdict["verdict"] == "false_positive":
                m = min(self.rules.max_multiplier, m * self.rules.widen_factor)
            elif verdict["verdict"] == "useful":
                m = max(1.0, m / self.rules.widen_factor)
            else:
                continue
            self.entries[key] = Multiplier(m, at)
            touched += 1
        return touched

    def current(self, now: float, floor: float = 1.0005) -> dict[tuple, float]:
        """Multipliers in effect at `now`; entries that decayed back to ~1 are dropped."""
        out = {}
        for key, entry in list(self.entries.items()):
            m = entry.now(now, self.rules.half_life)
            if m < floor:
                del self.entries[key]
            else:
                out[key] = m
        return out

    # ---- persistence (plain data; the caller writes the file) ----------
    def to_dict(self) -> dict:
        return {
            "version": 1,
            "cursor": self.cursor,
            "seen_ids": sorted(self.seen_ids),
            "entries": [{"query": q, "labels": dict(labels), "multiplier": e.value, "at": e.at}
                        for (q, labels), e in self.entries.items()],
        }

    @classmethod
    def from_dict(cls, data: dict, rules: SensitivityRules) -> Sensitivity:
        if data.get("version") != 1:
            raise ValueError(f"unknown state version {data.get('version')!r}")
        state = cls(rules, cursor=float(data["cursor"]), seen_ids={int(i) for i in data["seen_ids"]})
        for item in data["entries"]:
            key = alert_key(str(item["query"]), {str(k): str(v) for k, v in item["labels"].items()})
            value = min(max(float(item["multiplier"]), 1.0), rules.max_multiplier)
            state.entries[key] = Multiplier(value, float(item["at"]))
        return state


def series_keys(alerts: Iterable[dict], queries: set[str]) -> list[tuple]:
    """Keys of the anomaly alerts in an incident that belong to this exporter's queries.

    Forecast alerts (with a `horizon` label) and alerts from other sources are
    left alone: a verdict changes only the bands that produced the page.
    """
    keys = []
    for alert in alerts:
        labels = alert.get("labels") or {}
        query = labels.get("aiops_query")
        if query in queries and "horizon" not in labels:
            key = alert_key(query, labels)
            if key not in keys:
                keys.append(key)
    return keys
