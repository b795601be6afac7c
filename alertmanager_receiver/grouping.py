"""Where a notification's new alerts go: which incident each joins, which open, which merge. Pure.

`plan_grouping` decides for every new alert, in order, before anything is written: an alert may
join an incident that an earlier alert of the same notification opened, or link two incidents
(correlate.decide), which then merge: the smaller into the larger. Incidents the plan opens
carry negative placeholder ids until ingest writes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .correlate import Correlation, decide, instance_key, scope_values
from .domain import Alert, IncidentSummary
from .topology import Topology

TopologyFor = Callable[[dict[str, str]], Topology]  # scope values -> the graph to use there (inferred edges differ)


@dataclass(frozen=True)
class Placement:
    alert: Alert
    incident: int  # an open incident's id, or a NewIncident.key
    reason: str


@dataclass(frozen=True)
class NewIncident:
    key: int  # negative placeholder, replaced by the database id when written
    alert: Alert  # the alert that opens it
    scope: dict[str, str]
    reason: str


@dataclass(frozen=True)
class Merge:
    absorbed: int  # an incident id or NewIncident.key
    survivor: int
    reason: str


@dataclass
class GroupingPlan:
    placements: list[Placement] = field(default_factory=list)
    opened: list[NewIncident] = field(default_factory=list)
    merges: list[Merge] = field(default_factory=list)
    after: dict[int, IncidentSummary] = field(default_factory=dict)  # incidents as the plan leaves them

    def final(self, incident: int) -> int:
        """Where an incident (or placeholder) ends up after this plan's merges."""
        moved = {m.absorbed: m.survivor for m in self.merges}
        while incident in moved:
            incident = moved[incident]
        return incident

    def joined(self) -> dict[int, list[Alert]]:
        """The alerts each incident (or placeholder) receives, after merges: every placement joins one."""
        out: dict[int, list[Alert]] = {}
        for placement in self.placements:
            out.setdefault(self.final(placement.incident), []).append(placement.alert)
        return out


def _add(summary: IncidentSummary, alert: Alert, service_label: str) -> None:
    service = alert.service(service_label)
    if service:
        summary.services.add(service)
    else:
        key = instance_key(alert)
        if key:
            summary.instance_keys.add(key)
    summary.first_alert_at = min(summary.first_alert_at, alert.starts_at)
    summary.last_alert_at = max(summary.last_alert_at, alert.starts_at)
    summary.alert_count += 1


def _absorb(survivor: IncidentSummary, absorbed: IncidentSummary) -> None:
    survivor.services |= absorbed.services
    survivor.instance_keys |= absorbed.instance_keys
    survivor.first_alert_at = min(survivor.first_alert_at, absorbed.first_alert_at)
    survivor.last_alert_at = max(survivor.last_alert_at, absorbed.last_alert_at)
    survivor.alert_count += absorbed.alert_count


class _Index:
    """Open incidents by the services and alert keys they hold: an alert is compared only with incidents
    holding its service, a service related to it in the topology, or its alertname@instance."""

    def __init__(self, summaries: dict[int, IncidentSummary]):
        self.summaries = summaries
        self.by_key: dict[str, set[int]] = {}
        for summary in summaries.values():
            self.add(summary)

    def add(self, summary: IncidentSummary) -> None:
        for key in summary.services | summary.instance_keys:
            self.by_key.setdefault(key, set()).add(summary.id)

    def remove(self, incident: int) -> None:
        summary = self.summaries.pop(incident)
        for key in summary.services | summary.instance_keys:
            self.by_key.get(key, set()).discard(incident)

    def candidates(self, alert: Alert, rules: Correlation, topology: Topology) -> list[IncidentSummary]:
        service = alert.service(rules.service_label)
        keys: set[str] = set()
        if service is None:
            key = instance_key(alert)
            keys = {key} if key else set()
        else:
            keys = {service} | set(topology.dependencies(service)) | set(topology.dependents(service))
        ids = set().union(*(self.by_key.get(k, set()) for k in keys)) if keys else set()
        return [self.summaries[i] for i in sorted(ids) if i in self.summaries]


def plan_grouping(alerts: list[Alert], incidents: list[IncidentSummary], rules: Correlation,
                  topology_for: TopologyFor) -> GroupingPlan:
    """Place each new alert in an incident (see correlate.py for the rules)."""
    summaries = {s.id: s for s in incidents}
    index = _Index(summaries)
    copied: set[int] = set()  # summaries copied before their first change: the caller's stay untouched

    def own(incident: int) -> IncidentSummary:
        if incident not in copied and incident > 0:  # placeholders are the plan's own already
            original = summaries[incident]
            summaries[incident] = replace(original, services=set(original.services),
                                          instance_keys=set(original.instance_keys))
            copied.add(incident)
        return summaries[incident]

    graphs: dict[tuple, Topology] = {}
    plan = GroupingPlan()
    for alert in alerts:
        values = scope_values(alert, rules)
        scope = tuple(sorted(values.items()))
        topology = graphs[scope] if scope in graphs else graphs.setdefault(scope, topology_for(values))
        decision = decide(alert, index.candidates(alert, rules, topology), rules, topology)
        if decision.join is None:
            key = -(len(plan.opened) + 1)
            plan.opened.append(NewIncident(key, alert, values, decision.reason))
            summaries[key] = IncidentSummary(key, set(), values, alert.starts_at, alert.starts_at)
            target = key
        else:
            target = decision.join
            for absorbed in decision.merge:
                plan.merges.append(Merge(absorbed, target, decision.reason))
                gone = summaries[absorbed]
                index.remove(absorbed)
                _absorb(own(target), gone)
        _add(own(target), alert, rules.service_label)
        index.add(summaries[target])
        plan.placements.append(Placement(alert, target, decision.reason))
    plan.after = {i: summaries[i] for i in copied | {n.key for n in plan.opened} if i in summaries}
    return plan
