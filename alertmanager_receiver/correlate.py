"""Which open incident an alert joins, and why."""

from __future__ import annotations

from dataclasses import dataclass

from .domain import Alert, IncidentSummary
from .topology import Topology


@dataclass(frozen=True)
class Correlation:
    group_by: tuple[str, ...]
    window: float
    service_label: str


def group_values(alert: Alert, group_by: tuple[str, ...]) -> dict[str, str] | None:
    """The alert's group_by values, or None if it lacks any of them."""
    if not group_by or any(not alert.labels.get(name) for name in group_by):
        return None
    return {name: alert.labels[name] for name in group_by}


def _within(alert: Alert, incident: IncidentSummary, window: float) -> bool:
    return incident.first_alert_at - window <= alert.starts_at <= incident.last_alert_at + window


def _fmt(seconds: float) -> str:
    return f"{seconds / 60:g}m" if seconds % 60 == 0 else f"{seconds:g}s"


def choose_incident(alert: Alert, incidents: list[IncidentSummary], rules: Correlation,
                    topology: Topology) -> tuple[int | None, str]:
    """(incident id, reason) for the incident the alert joins, or (None, reason for a new incident).

    Rules, strongest first: shares the group_by values within the window; its
    service is linked to one of the incident's services through the topology
    (either direction) within the window; same service within the window.
    Ties go to the incident with the most recent alert.
    """
    values = group_values(alert, rules.group_by)
    service = alert.service(rules.service_label)
    best: tuple[int, float, int, str] | None = None
    for incident in incidents:
        if not _within(alert, incident, rules.window):
            continue
        found = _match(alert, incident, values, service, rules, topology)
        if found is None:
            continue
        strength, reason = found
        key = (strength, incident.last_alert_at, incident.id, reason)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return None, "opened a new incident: no open incident shares its labels, service or dependencies " \
                     f"within {_fmt(rules.window)}"
    return best[2], best[3]


def _match(alert, incident, values, service, rules, topology) -> tuple[int, str] | None:
    if values is not None and incident.group_values == values:
        shared = ", ".join(f"{k}={v}" for k, v in values.items())
        return 3, f"shares {shared} with the incident within {_fmt(rules.window)}"
    if service:
        for other in sorted(incident.services):
            if other == service:
                continue
            path = topology.link(service, other)
            if path:
                chain = " -> ".join(path)
                return 2, f"service {service} is linked to {other} in the topology ({chain}, '->' = depends on)"
        if service in incident.services:
            return 1, f"same service {service} within {_fmt(rules.window)}"
    return None
