"""Where a notification's new alerts go: which open incident each joins, which incidents open. Pure.

`plan_grouping` decides for every new alert, in order, before anything is written: an
alert may join an incident that an earlier alert of the same notification opened.
Incidents the plan opens carry negative placeholder ids until ingest writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .correlate import Correlation, choose_incident, group_values
from .domain import Alert, IncidentSummary
from .topology import Topology


@dataclass(frozen=True)
class Placement:
    alert: Alert
    incident: int  # an open incident's id, or a NewIncident.key
    reason: str


@dataclass(frozen=True)
class NewIncident:
    key: int  # negative placeholder, replaced by the database id when written
    alert: Alert  # the alert that opens it
    group_values: dict[str, str] | None
    reason: str


@dataclass
class GroupingPlan:
    placements: list[Placement] = field(default_factory=list)
    opened: list[NewIncident] = field(default_factory=list)

    def joined(self) -> dict[int, list[Alert]]:
        """Alerts joining incidents that were open before this notification, by incident."""
        opened = {new.key for new in self.opened}
        out: dict[int, list[Alert]] = {}
        for placement in self.placements:
            if placement.incident not in opened:
                out.setdefault(placement.incident, []).append(placement.alert)
        return out


def plan_grouping(alerts: list[Alert], incidents: list[IncidentSummary], rules: Correlation,
                  topology: Topology) -> GroupingPlan:
    """Place each new alert in an incident (see correlate.choose_incident for the rules)."""
    summaries = [replace(s, services=set(s.services)) for s in incidents]  # the caller's stay untouched
    plan = GroupingPlan()
    for alert in alerts:
        incident_id, reason = choose_incident(alert, summaries, rules, topology)
        service = alert.service(rules.service_label)
        if incident_id is None:
            key = -(len(plan.opened) + 1)
            values = group_values(alert, rules.group_by)
            plan.opened.append(NewIncident(key, alert, values, reason))
            summaries.append(IncidentSummary(key, {service} if service else set(), values,
                                             alert.starts_at, alert.starts_at))
            incident_id = key
        else:
            summary = next(s for s in summaries if s.id == incident_id)
            if service:
                summary.services.add(service)
            summary.first_alert_at = min(summary.first_alert_at, alert.starts_at)
            summary.last_alert_at = max(summary.last_alert_at, alert.starts_at)
        plan.placements.append(Placement(alert, incident_id, reason))
    return plan
