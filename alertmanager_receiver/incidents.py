"""Incidents on the write path: ranking recomputes, lifecycle transitions, operator actions.

The rules live elsewhere: `lifecycle.advance` decides status changes, `rootcause` and
`priority` rank; `incident_repo` holds the SQL. This module applies one to the other.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from . import incident_repo as repo
from . import priority as priority_mod
from . import rootcause
from .correlate import Correlation
from .domain import Alert
from .lifecycle import (
    RESOLVED,
    Acknowledged,
    Assessed,
    Event,
    FiringAlertJoined,
    QuietPeriodElapsed,
    ResolvedByOperator,
    Transition,
    advance,
)
from .topology import Topology

SMALL_INCIDENT = 200  # alerts; smaller incidents are always recomputed inline


@dataclass
class LifecycleStats:
    """What happened to incidents in one transaction (the app turns it into metrics)."""

    opened: int = 0
    resolved_durations: list[float] = field(default_factory=list)
    acked_after: list[float] = field(default_factory=list)


@dataclass
class Assessment:
    """An incident's ranking, read from its alerts (see Incidents.assess)."""

    candidates: list[rootcause.Candidate]
    priority: priority_mod.Priority
    title: str
    firing: bool


class DeferredRanking:
    """Which large incidents need a ranking recompute, and when the next may run (thread-safe)."""

    def __init__(self) -> None:
        self._large: set[int] = set()  # incidents known to hold more than SMALL_INCIDENT alerts
        self._dirty: set[int] = set()  # large incidents changed since their last recompute
        self._not_before: dict[int, float] = {}  # large incident -> earliest next deferred recompute
        self._lock = threading.Lock()

    def is_large(self, incident_id: int) -> bool:
        with self._lock:
            return incident_id in self._large

    def mark(self, incident_id: int) -> None:
        with self._lock:
            self._large.add(incident_id)
            self._dirty.add(incident_id)

    def pending(self) -> bool:
        with self._lock:
            return bool(self._dirty)

    def take_due(self, now: float) -> list[int]:
        """The marked incidents whose deferred recompute is due, clearing their marks."""
        with self._lock:
            ids = sorted(i for i in self._dirty if self._not_before.get(i, 0.0) <= now)
            self._dirty.difference_update(ids)
        return ids

    def ran(self, incident_id: int, now: float, took: float) -> None:
        """Space a large incident's recomputes so that they take at most ~3% of the time."""
        with self._lock:
            self._not_before[incident_id] = now + 30 * took


class Incidents:
    def __init__(self, rules: Correlation, topology: Topology, quiet_period: float):
        self.rules, self.topology, self.quiet_period = rules, topology, quiet_period
        self.deferred = DeferredRanking()

    # ---- lifecycle ---------------------------------------------------------------
    def _apply(self, conn: Connection, incident_id: int, event: Event, now: float, status: str,
               **columns) -> Transition:
        """Advance the stored incident (currently `status`) by `event`; write its columns and timeline."""
        transition = advance(status, event)
        values = {**transition.columns(now), **columns}
        if values:
            repo.update(conn, incident_id, **values)
        repo.add_entries(conn, incident_id, now, transition.entries)
        return transition

    def open_incident(self, conn: Connection, alert: Alert, group_values: dict | None, now: float,
                      reason: str) -> int:
        incident_id = repo.insert(conn, alert, alert.service(self.rules.service_label), group_values, now)
        repo.add_event(conn, incident_id, now, "opened", reason=reason, alert=alert.name)
        return incident_id

    def join_many(self, conn: Connection, incident_id: int, alerts: list[Alert], now: float) -> None:
        """New alerts joined the incident: its services, time span and (if resolving) state."""
        row = repo.get(conn, incident_id)
        assert row is not None, f"incident {incident_id} vanished inside its transaction"
        services = set(row.services) | {s for s in (a.service(self.rules.service_label) for a in alerts) if s}
        repo.update_span(conn, incident_id, sorted(services), min(row.first_alert_at, *(a.starts_at for a in alerts)),
                         max(row.last_alert_at, *(a.starts_at for a in alerts)), now)
        recurring = next((a for a in alerts if a.status == "firing"), None)
        if recurring is not None:
            self._apply(conn, incident_id, FiringAlertJoined(recurring.name), now, row.status)

    def close_quiet(self, conn: Connection, now: float, stats: LifecycleStats) -> list[int]:
        rows = repo.quiet_incidents(conn, now - self.quiet_period)
        for row in rows:
            self._apply(conn, row.id, QuietPeriodElapsed(self.quiet_period), now, row.status, updated_at=now)
            stats.resolved_durations.append(now - row.opened_at)
        return [row.id for row in rows]

    def ack(self, conn: Connection, incident_id: int, now: float, by: str, stats: LifecycleStats) -> bool:
        row = repo.get(conn, incident_id)
        if row is None:
            return False
        if row.acked_at is None:
            stats.acked_after.append(now - row.opened_at)
        self._apply(conn, incident_id, Acknowledged(by), now, row.status,
                    acked_at=row.acked_at or now, acked_by=by, updated_at=now)
        return True

    def resolve(self, conn: Connection, incident_id: int, now: float, by: str, stats: LifecycleStats) -> bool:
        row = repo.get(conn, incident_id)
        if row is None:
            return False
        transition = self._apply(conn, incident_id, ResolvedByOperator(by), now, row.status,
                                 **({"updated_at": now} if row.status != RESOLVED else {}))
        if transition.changed:
            stats.resolved_durations.append(now - row.opened_at)
        return True

    def add_feedback(self, conn: Connection, incident_id: int, now: float, verdict: str, comment: str) -> int | None:
        if not repo.exists(conn, incident_id):
            return None
        feedback_id = repo.insert_feedback(conn, incident_id, now, verdict, comment)
        repo.add_event(conn, incident_id, now, "feedback", verdict=verdict, comment=comment)
        return feedback_id

    # ---- ranking -----------------------------------------------------------------
    def touch(self, conn: Connection, incident_id: int, now: float) -> bool:
        """Recompute an incident that changed now, unless it is large.

        Root cause and priority read every alert of the incident. An incident of more than
        SMALL_INCIDENT alerts is marked instead, and the background loop recomputes it at most
        every `correlation.large_incident_recompute_interval` on a read connection (Maintenance.recompute_deferred):
        during a storm ingest stays fast and holds the write lock briefly, and the ranking of a
        large incident lags by about that interval. Returns whether it ran now.
        """
        if self.deferred.is_large(incident_id) or repo.alert_count(conn, incident_id) > SMALL_INCIDENT:
            self.deferred.mark(incident_id)
            return False
        self.recompute(conn, incident_id, now)
        return True

    def recompute(self, conn: Connection, incident_id: int, now: float) -> None:
        """Root cause, priority, title and the firing/resolving state from the incident's alerts."""
        assessment = self.assess(conn, incident_id, now)
        if assessment is not None:
            self.apply(conn, incident_id, assessment, now)

    def assess(self, conn: Connection, incident_id: int, now: float) -> Assessment | None:
        """Read the incident's alerts and rank them (reads only; see `apply`)."""
        first_alert_at = repo.first_alert_at(conn, incident_id)
        members = repo.ranking_alerts(conn, incident_id, self.rules.service_label)
        if not members:
            return None
        candidates = rootcause.rank(members, self.topology, self.rules.service_label)
        prio = priority_mod.assess(members, self.topology, self.rules.service_label, now, first_alert_at)
        return Assessment(candidates, prio, _title(members, candidates), any(a.status == "firing" for a in members))

    def apply(self, conn: Connection, incident_id: int, assessment: Assessment, now: float) -> None:
        """Write an assessment to the incident (inside a write transaction)."""
        row = repo.get(conn, incident_id)
        assert row is not None, f"incident {incident_id} vanished inside its transaction"
        prio = assessment.priority
        if prio.level != row.priority:
            repo.add_event(conn, incident_id, now, "priority", old=row.priority, new=prio.level, factors=prio.factors)
        self._apply(conn, incident_id, Assessed(assessment.firing, self.quiet_period), now, row.status,
                    root_cause=[c.as_dict() for c in assessment.candidates], priority=prio.level,
                    priority_points=prio.points, priority_factors=prio.factors, updated_at=now,
                    title=assessment.title)


def _title(members: list[Alert], candidates: list[rootcause.Candidate]) -> str:
    names = sorted({a.name for a in members})
    head = names[0] if len(names) == 1 else f"{names[0]} and {len(names) - 1} other alert(s)"
    if candidates:
        return f"{head} (probable cause: {candidates[0].service})"
    return head


__all__ = ["Assessment", "DeferredRanking", "Incidents", "LifecycleStats"]
