"""How a new alert relates to the open incidents: evidence, never mere closeness in time. Pure.

Scope. `correlation.group_by` (e.g. cluster, namespace) is a scope, not a reason to join: alerts
of one scope share an incident only with evidence of a relation, and alerts of different scopes
share one only through an explicit dependency (a configured or discovered topology path), which
never crosses `correlation.topology_scope` (e.g. cluster: a failing database in the `data`
namespace explains errors in `shop`, but not in another cluster). A missing label has the empty
value, as in Alertmanager's grouping.

Evidence that an alert belongs with an incident, within `window` of the incident's alerts:
- same service (in the same scope);
- a dependency path between its service and one of the incident's (either direction,
  transitive; a path through an inferred edge is weaker and only counts within the scope);
- for an alert without a service: the same alertname on the same instance.

A service that other services of an incident depend on is a possible cause of theirs only if it is
related to the incident's own root (a service of the incident that depends on no other service of
it): a second, independent failure under a shared victim is not evidence, and starts its own incident.

An alert related to several incidents links them when it is the dependency (or the same
service) of at least two of them, or of one of them while depending on another: they are one
cascade seen from two ends, and grouping.py merges them. An alert that only depends on several
incidents (a victim of each) joins the one it is closest to and merges nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from .domain import Alert, IncidentSummary
from .topology import Path, Topology

SAME_SERVICE, EXPLICIT_PATH, INFERRED_PATH, SAME_INSTANCE = "same_service", "topology", "inferred", "same_instance"
STRENGTH = {SAME_SERVICE: 4.0, EXPLICIT_PATH: 3.0, INFERRED_PATH: 2.0, SAME_INSTANCE: 1.0}


@dataclass(frozen=True)
class Correlation:
    group_by: tuple[str, ...]
    window: float
    service_label: str
    topology_scope: tuple[str, ...] = ("cluster",)

    @property
    def scope_labels(self) -> tuple[str, ...]:
        """Every label whose value the stored scope of an incident keeps."""
        return tuple(dict.fromkeys(self.group_by + self.topology_scope))


@dataclass(frozen=True)
class Relation:
    """Why an alert belongs with an incident."""

    incident: int
    kind: str  # SAME_SERVICE | EXPLICIT_PATH | INFERRED_PATH | SAME_INSTANCE
    upstream: bool  # the alert's service is the incident's service or one of its dependencies: a possible cause
    hops: int
    reason: str

    @property
    def strength(self) -> float:
        return STRENGTH[self.kind] - 0.01 * self.hops


def scope_values(alert: Alert, rules: Correlation) -> dict[str, str]:
    """The alert's values of the scope labels (group_by and topology_scope); missing labels are empty."""
    return {name: alert.labels.get(name, "") for name in rules.scope_labels}


def group_values(alert: Alert, group_by: tuple[str, ...]) -> dict[str, str] | None:
    """The alert's group_by values, or None if it lacks any of them (kept for the stored incidents)."""
    if not group_by or any(not alert.labels.get(name) for name in group_by):
        return None
    return {name: alert.labels[name] for name in group_by}


def same_values(a: dict[str, str] | None, b: dict[str, str] | None, labels: tuple[str, ...]) -> bool:
    a, b = a or {}, b or {}
    return all(a.get(name, "") == b.get(name, "") for name in labels)


def instance_key(alert: Alert) -> str | None:
    """alertname@instance for an alert without a service (None when it has no instance either)."""
    instance = alert.labels.get("instance")
    return f"{alert.name}@{instance}" if instance else None


def _within(alert: Alert, incident: IncidentSummary, window: float) -> bool:
    return incident.first_alert_at - window <= alert.starts_at <= incident.last_alert_at + window


def fmt_seconds(seconds: float) -> str:
    return f"{seconds / 60:g}m" if seconds % 60 == 0 else f"{seconds:g}s"


def relation(alert: Alert, incident: IncidentSummary, rules: Correlation, topology: Topology,
             values: dict[str, str] | None = None) -> Relation | None:
    """The strongest evidence that `alert` belongs with `incident`, or None."""
    values = values if values is not None else scope_values(alert, rules)
    if not same_values(values, incident.group_values, rules.topology_scope):
        return None
    if not _within(alert, incident, rules.window):
        return None
    in_scope = same_values(values, incident.group_values, rules.group_by)
    service = alert.service(rules.service_label)
    if service is None:
        key = instance_key(alert)
        if in_scope and key is not None and key in incident.instance_keys:
            return Relation(incident.id, SAME_INSTANCE, True, 0, f"same alert {key} within {fmt_seconds(rules.window)}")
        return None
    if in_scope and service in incident.services:
        return Relation(incident.id, SAME_SERVICE, True, 0, f"same service {service} within {fmt_seconds(rules.window)}")
    best: Relation | None = None
    roots: set[str] | None = None
    for other in sorted(incident.services):
        found = _path_relation(incident.id, service, other, topology, in_scope)
        if found is not None and found.upstream:
            roots = roots if roots is not None else incident_roots(incident.services, topology)
            if not any(root == service or _usable_path(topology.link(service, root), in_scope) for root in roots):
                found = _path_relation(incident.id, service, other, topology, in_scope, downstream_only=True)
        if found is not None and (best is None or found.strength > best.strength
                                  or (found.strength == best.strength and found.upstream and not best.upstream)):
            best = found
    return best


def incident_roots(services: set[str], topology: Topology) -> set[str]:
    """The services of an incident that depend on no other service of it (all of them, in a cycle)."""
    roots = {s for s in services if not any(o in services for o in topology.dependencies(s))}
    return roots or set(services)


def _usable_path(path: Path | None, in_scope: bool) -> bool:
    return path is not None and (path.explicit or in_scope)


def _path_relation(incident_id: int, service: str, other: str, topology: Topology, in_scope: bool,
                   downstream_only: bool = False) -> Relation | None:
    down = topology.dependency_path(service, other)  # the alert's service depends on the incident's
    up = None if downstream_only else topology.dependency_path(other, service)  # the incident's depends on the alert's
    candidates: list[tuple[Path, bool]] = [(p, upstream) for p, upstream in ((up, True), (down, False)) if p]
    candidates = [(p, upstream) for p, upstream in candidates if p.explicit or in_scope]
    if not candidates:
        return None
    path, upstream = min(candidates, key=lambda c: (not c[0].explicit, len(c[0].edges), not c[1]))
    kind = EXPLICIT_PATH if path.explicit else INFERRED_PATH
    role = f"{other} depends on it" if upstream else f"it depends on {other}"
    return Relation(incident_id, kind, upstream, len(path.edges),
                    f"service {service} is linked to {other} in the topology ({path.text()}, '->' = depends on; {role})")


def relations(alert: Alert, incidents: list[IncidentSummary], rules: Correlation, topology: Topology
              ) -> list[Relation]:
    """Every incident the alert is related to, strongest first (ties: the incident with the latest alert)."""
    values = scope_values(alert, rules)
    found = [r for r in (relation(alert, incident, rules, topology, values) for incident in incidents) if r]
    last = {incident.id: incident.last_alert_at for incident in incidents}
    return sorted(found, key=lambda r: (-r.strength, -last[r.incident], r.incident))


@dataclass(frozen=True)
class Decision:
    """Where an alert goes: `join` (None: a new incident), the incidents to merge into it, and why."""

    join: int | None
    merge: tuple[int, ...]
    reason: str


def decide(alert: Alert, incidents: list[IncidentSummary], rules: Correlation, topology: Topology) -> Decision:
    """Which incident the alert joins and which incidents it links (grouping.py carries out merges)."""
    related = relations(alert, incidents, rules, topology)
    if not related:
        return Decision(None, (), "opened a new incident: no open incident in its scope shares its service, "
                                  f"a dependency path or its alert within {fmt_seconds(rules.window)}")
    upstream = [r for r in related if r.upstream]
    downstream = [r for r in related if not r.upstream]
    linked = upstream + downstream[:1] if upstream else []
    if len(linked) < 2:
        return Decision(related[0].incident, (), related[0].reason)
    sizes = {i.id: i.alert_count for i in incidents}
    survivor = max(linked, key=lambda r: (sizes.get(r.incident, 0), -r.incident)).incident
    merged = tuple(sorted(r.incident for r in linked if r.incident != survivor))
    why = "; ".join(f"#{r.incident}: {r.reason}" for r in linked)
    return Decision(survivor, merged, f"links incidents {', '.join('#' + str(r.incident) for r in linked)} ({why})")
