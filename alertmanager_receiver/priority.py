"""Incident priority P1 (most urgent) to P4, with the factors that set it."""

from __future__ import annotations

from dataclasses import dataclass

from .domain import Alert
from .topology import Topology

CRITICALITY_POINTS = {"high": 2, "medium": 1, "low": 0}
THRESHOLDS = (("P1", 6), ("P2", 4), ("P3", 3))


@dataclass
class Priority:
    level: str
    points: int
    factors: list[str]


def assess(alerts: list[Alert], topology: Topology, service_label: str, now: float,
           first_alert_at: float | None = None) -> Priority:
    firing = [a for a in alerts if a.status == "firing"] or alerts
    factors: list[tuple[int, str]] = []
    worst = max(firing, key=lambda a: a.severity_rank)
    factors.append((worst.severity_rank, f"severity {worst.severity} ({worst.name}): +{worst.severity_rank}"))

    services = {s for s in (a.service(service_label) for a in alerts) if s is not None}
    if len(services) >= 5:
        factors.append((2, f"blast radius {len(services)} services: +2"))
    elif len(services) >= 2:
        factors.append((1, f"blast radius {len(services)} services: +1"))
    distinct = {a.fingerprint for a in alerts}
    if len(distinct) >= 50:
        factors.append((1, f"{len(distinct)} distinct alerts: +1"))

    levels = {s: topology.criticality.get(s, "medium") for s in services if s in topology.criticality}
    if levels:
        top_service = max(levels, key=lambda s: CRITICALITY_POINTS[levels[s]])
        points = CRITICALITY_POINTS[levels[top_service]]
        if points:
            factors.append((points, f"{top_service} has criticality {levels[top_service]}: +{points}"))
    impacted = set()
    for service in services:
        impacted |= topology.all_dependents(service)
    critical_dependents = sorted(s for s in impacted - services if topology.criticality.get(s) == "high")
    if critical_dependents and not any(levels.get(s) == "high" for s in services):
        factors.append((1, f"high-criticality {', '.join(critical_dependents[:3])} depends on it: +1"))

    scores = [a.anomaly_score for a in alerts if a.anomaly_score is not None]
    if scores and max(scores) >= 3:
        factors.append((1, f"anomaly score {max(scores):.1f} >= 3: +1"))

    start = first_alert_at if first_alert_at is not None else min(a.starts_at for a in alerts)
    if now - start > 1800 and any(a.status == "firing" for a in alerts):
        factors.append((1, f"firing for {(now - start) / 60:.0f} min: +1"))

    occurrences: dict[str, int] = {}
    for alert in alerts:
        occurrences[alert.fingerprint] = occurrences.get(alert.fingerprint, 0) + 1
    flapping = [fp for fp, n in occurrences.items() if n >= 3]
    if flapping and len(flapping) * 2 >= len(occurrences):
        factors.append((-1, f"mostly flapping alerts ({len(flapping)} fired 3+ times): -1"))

    points = sum(p for p, _ in factors)
    level = next((name for name, threshold in THRESHOLDS if points >= threshold), "P4")
    return Priority(level, points, [text for _, text in factors])
