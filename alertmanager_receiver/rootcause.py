"""Rank the probable root cause of an incident, with a reason a person can read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from .domain import Alert
from .topology import Topology

WEIGHTS = {"explains": 3.0, "earliest": 1.5, "anomaly": 1.0, "severity": 0.5, "victim": -2.0}


@dataclass
class Candidate:
    service: str
    score: float
    explanation: str
    factors: dict[str, float] = field(default_factory=dict)
    alerts: int = 0
    first_alert_at: float = 0.0

    def as_dict(self) -> dict:
        return {"service": self.service, "score": round(self.score, 3), "explanation": self.explanation,
                "factors": {k: round(v, 3) for k, v in self.factors.items()}, "alerts": self.alerts,
                "first_alert_at": self.first_alert_at}


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S")


def candidate_key(alert: Alert, service_label: str) -> str:
    """Alerts without a service are ranked by alertname/instance instead."""
    service = alert.service(service_label)
    if service:
        return service
    instance = alert.labels.get("instance")
    return f"{alert.name}@{instance}" if instance else alert.name


def rank(alerts: list[Alert], topology: Topology, service_label: str, top: int = 3) -> list[Candidate]:
    """Score each service of the incident: explains alerting dependents, alerted first, anomaly, severity."""
    groups: dict[str, list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(candidate_key(alert, service_label), []).append(alert)
    if not groups:
        return []
    names = set(groups)
    starts = {name: min(a.starts_at for a in group) for name, group in groups.items()}
    first, last = min(starts.values()), max(starts.values())
    candidates = []
    for name, group in groups.items():
        dependents = sorted(topology.all_dependents(name) & names)
        upstream = sorted(n for n in names if n != name and topology.dependency_path(name, n))
        scores = [a.anomaly_score for a in group if a.anomaly_score is not None]
        anomaly = max(scores) if scores else None
        severity = max(a.severity_rank for a in group)
        factors = {
            "explains": len(dependents) / max(len(names) - 1, 1),
            "earliest": 1.0 if last == first else (last - starts[name]) / (last - first),
            "anomaly": min(anomaly / 5.0, 1.0) if anomaly is not None else 0.0,
            "severity": severity / 3.0,
            "victim": 1.0 if upstream else 0.0,
        }
        score = sum(WEIGHTS[k] * v for k, v in factors.items())
        candidates.append(Candidate(name, score, _explain(name, dependents, upstream, starts, anomaly, group),
                                    factors, len(group), starts[name]))
    candidates.sort(key=lambda c: (-c.score, c.first_alert_at, c.service))
    return candidates[:top]


def _explain(name, dependents, upstream, starts, anomaly, group) -> str:
    parts = []
    if dependents:
        shown = ", ".join(dependents[:5]) + (f" and {len(dependents) - 5} more" if len(dependents) > 5 else "")
        parts.append(f"{len(dependents)} alerting service(s) depend on it ({shown})")
    order = sorted(starts.values())
    if starts[name] == order[0]:
        lead = (order[1] - order[0]) if len(order) > 1 else 0
        parts.append(f"first to alert at {_when(starts[name])}" + (f", {lead / 60:.1f} min before the next" if lead else ""))
    else:
        parts.append(f"started alerting at {_when(starts[name])}, {(starts[name] - order[0]) / 60:.1f} min after the first")
    if anomaly is not None:
        parts.append(f"anomaly score {anomaly:.1f}")
    worst = max(group, key=lambda a: a.severity_rank)
    parts.append(f"severity {worst.severity} ({worst.name})")
    if upstream:
        parts.append(f"but it depends on alerting {', '.join(upstream[:3])}, so it may be a victim")
    return f"{name}: " + "; ".join(parts)
