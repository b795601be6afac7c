"""Rank the probable root cause of an incident, with the reasons an operator would sign. Pure.

Each service of the incident (alerts without a service: their alertname@instance) is scored:

| factor | value | weight |
|---|---|---|
| explains | the share of the incident's other services that depend on it (a path through an inferred edge counts half) | +3 |
| victim | it depends on another alerting service of the incident (1; 0.5 through an inferred edge) | -3 |
| anomaly | its highest anomaly score / 5, at most 1 (AIOpsAnomalyDetected carries it) | +0.5 |
| low_severity | its alerts carry a severity of at most `info` | -0.75 |
| flapping | most of its alerts fired 3 times or more within the incident | -0.75 |
| isolated | no dependency relation to any other service of the incident | -0.75 |

The topology dominates: a service that explains the others beats one that merely alerted first.
Alert order only breaks ties (equal scores: the earlier first). Each candidate says which factor
put it above the next one (`decided_by`).

Nearby candidates: services alerting in another incident of the same scope that started shortly
before this one (not low severity, not flapping) are listed after the incident's own candidates
that no other alerting service explains, and above its victims (factor `nearby`, -1.5): the topology
may lack an edge, and an operator should see them; being close in time never puts one first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from .domain import Alert
from .topology import Path, Topology

WEIGHTS = {"explains": 3.0, "victim": -3.0, "anomaly": 0.5, "low_severity": -0.75, "flapping": -0.75,
           "isolated": -0.75, "nearby": -1.5}
MAX_NEARBY = 2
LOW_SEVERITY = 1  # SEVERITY_RANK of info (and below)
FLAPPING_OCCURRENCES = 3
FACTOR_WORDS = {"explains": "it explains more of the other alerting services through the topology",
                "victim": "it depends on no other alerting service",
                "anomaly": "its anomaly score is higher", "low_severity": "it is not low severity",
                "flapping": "it is not flapping", "isolated": "it is related to the rest of the incident",
                "nearby": "it alerted in this incident, not only close to it in time",
                "earliest": "it alerted earlier and the topology cannot order them"}


@dataclass
class Candidate:
    service: str
    score: float
    explanation: str
    factors: dict[str, float] = field(default_factory=dict)
    alerts: int = 0
    first_alert_at: float = 0.0
    decided_by: str = ""
    alerting: bool = True  # False: a silent candidate found from metrics (metric evidence)
    evidence: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        out = {"service": self.service, "score": round(self.score, 3), "explanation": self.explanation,
               "factors": {k: round(v, 3) for k, v in self.factors.items()}, "alerts": self.alerts,
               "first_alert_at": self.first_alert_at, "decided_by": self.decided_by, "alerting": self.alerting}
        if self.evidence:
            out["evidence"] = self.evidence
        return out


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S")


def candidate_key(alert: Alert, service_label: str) -> str:
    """Alerts without a service are ranked by alertname@instance instead."""
    service = alert.service(service_label)
    if service:
        return service
    instance = alert.labels.get("instance")
    return f"{alert.name}@{instance}" if instance else alert.name


@dataclass
class _Facts:
    name: str
    group: list[Alert]
    first: float
    dependents: dict[str, Path]  # incident services that depend on it
    dependencies: dict[str, Path]  # incident services it depends on
    anomaly: float | None
    low: bool
    flapping: bool


def _facts(name: str, group: list[Alert], names: set[str], topology: Topology) -> _Facts:
    dependents = {o: p for o, p in topology.dependents(name).items() if o in names and o != name}
    dependencies = {o: p for o, p in topology.dependencies(name).items() if o in names and o != name}
    scores = [a.anomaly_score for a in group if a.anomaly_score is not None]
    occurrences: dict[str, int] = {}
    for alert in group:
        occurrences[alert.fingerprint] = occurrences.get(alert.fingerprint, 0) + 1
    flapping = sum(n >= FLAPPING_OCCURRENCES for n in occurrences.values()) * 2 > len(occurrences)
    low = all("severity" in a.labels and a.severity_rank <= LOW_SEVERITY for a in group)  # unset is not low
    return _Facts(name, group, min(a.starts_at for a in group), dependents, dependencies,
                  max(scores) if scores else None, low, flapping)


def _factors(facts: _Facts, others: int) -> dict[str, float]:
    return {
        "explains": sum(p.weight for p in facts.dependents.values()) / max(others, 1),
        "victim": max((p.weight for p in facts.dependencies.values()), default=0.0),
        "anomaly": min(facts.anomaly / 5.0, 1.0) if facts.anomaly is not None else 0.0,
        "low_severity": 1.0 if facts.low else 0.0,
        "flapping": 1.0 if facts.flapping else 0.0,
        "isolated": 1.0 if others and not facts.dependents and not facts.dependencies else 0.0,
    }


def score_of(factors: dict[str, float]) -> float:
    return sum(WEIGHTS[k] * v for k, v in factors.items())


@dataclass(frozen=True)
class Nearby:
    """A service alerting in another incident of the same scope, close in time (see the module's docstring)."""

    service: str
    incident: int
    first_alert_at: float
    alerts: int


def rank(alerts: list[Alert], topology: Topology, service_label: str, top: int = 3,
         nearby: list[Nearby] | None = None) -> list[Candidate]:
    """The incident's services, most probable root cause first, each with its reasons."""
    groups: dict[str, list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(candidate_key(alert, service_label), []).append(alert)
    if not groups:
        return []
    names = set(groups)
    starts = sorted(min(a.starts_at for a in g) for g in groups.values())
    candidates = []
    for name, group in groups.items():
        facts = _facts(name, group, names, topology)
        factors = _factors(facts, len(names) - 1)
        candidates.append(Candidate(name, score_of(factors), _explain(facts, len(names) - 1, starts), factors,
                                    len(group), facts.first))
    candidates += _nearby_candidates(nearby or [], names, starts[0])
    candidates.sort(key=lambda c: (-round(c.score, 9), c.first_alert_at, c.service))
    for this, runner_up in zip(candidates, candidates[1:]):
        this.decided_by = decided_by(this, runner_up)
    if len(candidates) == 1:
        candidates[0].decided_by = "the only service of the incident"
    return candidates[:top]


def _nearby_candidates(nearby: list[Nearby], names: set[str], first: float) -> list[Candidate]:
    out: list[Candidate] = []
    for item in sorted(nearby, key=lambda n: (first - n.first_alert_at, n.service)):
        if item.service in names or len(out) == MAX_NEARBY:
            continue
        factors = {k: 0.0 for k in WEIGHTS} | {"nearby": 1.0}
        lead = (first - item.first_alert_at) / 60
        out.append(Candidate(item.service, score_of(factors),
                             f"{item.service}: alerting in incident #{item.incident} since {_when(item.first_alert_at)}, "
                             f"{lead:.1f} min before this incident's first alert, in the same scope; no known dependency "
                             "relation (if it is the cause, the topology lacks an edge)", factors, item.alerts,
                             item.first_alert_at))
        names = names | {item.service}
    return out


def decided_by(this: Candidate, runner_up: Candidate) -> str:
    """Which factor put `this` above `runner_up`, in words."""
    if round(this.score, 9) == round(runner_up.score, 9):
        return f"above {runner_up.service} because {FACTOR_WORDS['earliest']}"
    deltas = {k: WEIGHTS[k] * (this.factors.get(k, 0.0) - runner_up.factors.get(k, 0.0)) for k in WEIGHTS}
    factor = max(deltas, key=lambda k: deltas[k])
    return f"above {runner_up.service} because {FACTOR_WORDS[factor]}"


def _names(paths: dict[str, Path], limit: int = 5) -> str:
    shown = []
    for other in sorted(paths)[:limit]:
        path = paths[other]
        note = "" if path.explicit else " via " + ", ".join(e.describe() for e in path.edges if not e.explicit)
        shown.append(other + note)
    more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
    return ", ".join(shown) + more


def _explain(facts: _Facts, others: int, starts: list[float]) -> str:
    parts = []
    if facts.dependents:
        parts.append(f"{len(facts.dependents)} of {others} other alerting service(s) depend on it "
                     f"({_names(facts.dependents)})")
    if starts[0] == facts.first:
        lead = (starts[1] - starts[0]) if len(starts) > 1 else 0
        parts.append(f"first to alert at {_when(facts.first)}" + (f", {lead / 60:.1f} min before the next" if lead else ""))
    else:
        parts.append(f"started alerting at {_when(facts.first)}, {(facts.first - starts[0]) / 60:.1f} min after the first")
    if facts.anomaly is not None:
        parts.append(f"anomaly score {facts.anomaly:.1f}")
    worst = max(facts.group, key=lambda a: a.severity_rank)
    parts.append(f"severity {worst.severity} ({worst.name})" + (", low" if facts.low else ""))
    if facts.flapping:
        parts.append("flapping (most of its alerts fired 3 times or more)")
    if others and not facts.dependents and not facts.dependencies:
        parts.append("no dependency relation to the other services of the incident")
    if facts.dependencies:
        parts.append(f"but it depends on alerting {_names(facts.dependencies, 3)}, so it may be a victim")
    return f"{facts.name}: " + "; ".join(parts)
