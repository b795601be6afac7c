"""Incidents on the write path: ranking recomputes, lifecycle transitions, operator actions.

The rules live elsewhere: `lifecycle.advance` decides status changes, `rootcause` and
`priority` rank; `incident_repo` holds the SQL. This module applies one to the other.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.engine import Connection

from . import incident_repo as repo
from . import metric_rca, rootcause
from . import priority as priority_mod
from .config import MetricEvidenceConfig
from .cooccurrence_repo import save as save_learning
from .correlate import Correlation
from .domain import Alert, IncidentSummary
from .evidence import from_stored
from .graphs import ServiceGraphs
from .lifecycle import (
    ACTIVE,
    RESOLVED,
    Acknowledged,
    Assessed,
    Event,
    FiringAlertJoined,
    MergedInto,
    QuietPeriodElapsed,
    ResolvedByOperator,
    TimelineEntry,
    Transition,
    advance,
)

SMALL_INCIDENT = 100  # alerts; smaller incidents are always recomputed inline


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
    row: Any = field(default=None, repr=False, compare=False)  # the incident row it was assessed from


class DeferredRanking:
    """Which large incidents need a ranking recompute, and when the next may run (thread-safe).

    Recomputes are spaced so that together they take at most ~5% of the time, however many large
    incidents a storm holds (each one also waits 30 times its own last recompute).
    """

    def __init__(self) -> None:
        self._large: set[int] = set()  # incidents known to hold more than SMALL_INCIDENT alerts
        self._dirty: set[int] = set()  # large incidents changed since their last recompute
        self._not_before: dict[int, float] = {}  # large incident -> earliest next deferred recompute
        self._next_any = 0.0  # earliest next deferred recompute of any incident
        self._lock = threading.Lock()

    def is_large(self, incident_id: int) -> bool:
        with self._lock:
            return incident_id in self._large

    def mark(self, incident_id: int, large: bool = True) -> None:
        with self._lock:
            if large:
                self._large.add(incident_id)
            self._dirty.add(incident_id)

    def pending(self) -> bool:
        with self._lock:
            return bool(self._dirty)

    def take_due(self, now: float | None = None) -> list[int]:
        """The next marked incident whose deferred recompute is due (at most one), clearing its mark.

        Spacing is in monotonic seconds (CPU budget), not the receiver's clock."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if now < self._next_any:
                return []
            due = sorted((self._not_before.get(i, 0.0), i) for i in self._dirty if self._not_before.get(i, 0.0) <= now)
            ids = [due[0][1]] if due else []
            self._dirty.difference_update(ids)
        return ids

    def seconds_to_next(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            return max(0.0, self._next_any - now)

    def ran(self, incident_id: int, took: float, now: float | None = None) -> None:
        """Space recomputes: this incident's by 30 times what it took, any incident's by 20 times."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._not_before[incident_id] = now + 30 * took
            self._next_any = now + 20 * took

    def forget(self, incident_id: int) -> None:
        """The incident was merged away: nothing to recompute."""
        with self._lock:
            self._large.discard(incident_id)
            self._dirty.discard(incident_id)
            self._not_before.pop(incident_id, None)


class IncidentGone(Exception):
    """An operator action named an incident that is not there (or no longer takes the action)."""


class Incidents:
    def __init__(self, rules: Correlation, graphs: ServiceGraphs, quiet_period: float,
                 metric_settings: MetricEvidenceConfig | None = None):
        self.rules, self.graphs, self.quiet_period = rules, graphs, quiet_period
        self.metric_settings = metric_settings  # None: metric evidence is not configured
        self.deferred = DeferredRanking()
        self._quality: dict[tuple[int, str], tuple[float, tuple[int, bool, bool]]] = {}  # nearby: 60 s memo

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

    def open_incident(self, conn: Connection, alert: Alert, scope: dict[str, str], now: float, reason: str) -> int:
        """A new incident for `alert` (which joins it with join_many, like every other alert)."""
        incident_id = repo.insert(conn, alert, scope, now)
        repo.add_event(conn, incident_id, now, "opened", reason=reason, alert=alert.name)
        return incident_id

    def join_many(self, conn: Connection, incident_id: int, alerts: list[Alert], now: float,
                  after: IncidentSummary | None = None) -> None:
        """New alerts joined the incident: its services, time span, count and (if resolving) state.

        `after`: the incident as grouping left it with these alerts (ingest knows it: no read needed).
        """
        if after is None:
            row = repo.get(conn, incident_id)
            assert row is not None, f"incident {incident_id} vanished inside its transaction"
            after = repo.summary_of(row)
            for alert in alerts:
                service = alert.service(self.rules.service_label)
                if service:
                    after.services.add(service)
                elif alert.labels.get("instance"):
                    after.instance_keys.add(f"{alert.name}@{alert.labels['instance']}")
                after.first_alert_at = min(after.first_alert_at, alert.starts_at)
                after.last_alert_at = max(after.last_alert_at, alert.starts_at)
            after.alert_count += len(alerts)
        repo.update_span(conn, replace(after, id=incident_id), now)
        recurring = next((a for a in alerts if a.status == "firing"), None)
        if recurring is not None:
            self._apply(conn, incident_id, FiringAlertJoined(recurring.name), now, after.status)

    def merge(self, conn: Connection, absorbed: int, survivor: int, now: float, reason: str,
              by: str | None = None) -> IncidentSummary:
        """Move every alert of `absorbed` into `survivor`; `absorbed` becomes merged (final). Returns the survivor."""
        gone, kept = repo.get(conn, absorbed), repo.get(conn, survivor)
        if gone is None or kept is None or gone.status not in ACTIVE or absorbed == survivor:
            raise IncidentGone(f"incident {absorbed} cannot be merged into {survivor}")
        repo.move_alerts(conn, absorbed, survivor)
        self._apply(conn, absorbed, MergedInto(survivor, reason, by), now, gone.status, merged_into=survivor,
                    updated_at=now)
        summary = repo.recount(conn, survivor, self.rules.service_label)
        repo.update_span(conn, summary, now)
        detail = {"incident": absorbed, "alerts": gone.alert_count, "reason": reason}
        repo.add_entries(conn, survivor, now, (TimelineEntry("absorbed", detail if by is None else {**detail, "by": by}),))
        self.deferred.forget(absorbed)
        if kept.status == "resolving" and gone.status != "resolving":  # it brings firing alerts
            self._apply(conn, survivor, Assessed(True, self.quiet_period), now, kept.status)
        return summary

    def split(self, conn: Connection, incident_id: int, alert_ids: list[int], now: float, by: str) -> int:
        """Move these alerts of the incident into a new incident; returns its id."""
        row = repo.get(conn, incident_id)
        if row is None or row.status not in ACTIVE:
            raise IncidentGone(f"incident {incident_id} is not active")
        moving = repo.ranking_alerts_by_id(conn, incident_id, alert_ids, self.rules.service_label)
        first = min(moving, key=lambda a: a.starts_at)
        new_id = repo.insert(conn, first, row.group_values or {}, now)
        repo.move_alert_ids(conn, alert_ids, new_id)
        for target in (incident_id, new_id):
            repo.update_span(conn, repo.recount(conn, target, self.rules.service_label), now)
        services = sorted({a.service(self.rules.service_label) or "" for a in moving} - {""})
        repo.add_event(conn, new_id, now, "opened", reason=f"split from incident {incident_id} by {by}",
                       alert=first.name, by=by)
        repo.add_event(conn, incident_id, now, "split", into=new_id, alerts=len(alert_ids), services=services, by=by)
        return new_id

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
        """Record a verdict; a false positive also unlearns the co-occurrence of the incident's services."""
        row = repo.get(conn, incident_id)
        if row is None:
            return None
        feedback_id = repo.insert_feedback(conn, incident_id, now, verdict, comment)
        repo.add_event(conn, incident_id, now, "feedback", verdict=verdict, comment=comment)
        if verdict == "false_positive":
            self.graphs.weaken(row.group_values, row.services)
            save_learning(conn, self.graphs)
        return feedback_id

    def split_by_operator(self, conn: Connection, incident_id: int, fingerprints: set[str], services: set[str],
                          now: float, by: str) -> tuple[int, int]:
        """Move the alerts matching the fingerprints or services into a new incident: (new id, alerts moved).

        Raises IncidentGone (no such active incident) or ValueError (the selection matches none or all).
        """
        row = repo.get(conn, incident_id)
        if row is None or row.status not in ACTIVE:
            raise IncidentGone(f"incident {incident_id} is {row.status if row else 'not there'}")
        members = repo.ranking_alerts(conn, incident_id, self.rules.service_label)
        chosen = [a for a in members if a.fingerprint in fingerprints
                  or (a.service(self.rules.service_label) or "") in services]
        if not chosen:
            raise ValueError("no alert of the incident matches the given fingerprints or services")
        if len(chosen) == len(members):
            raise ValueError("the selection holds every alert of the incident: nothing would be left")
        new_id = self.split(conn, incident_id, [a.id for a in chosen if a.id is not None], now, by)
        moved = {a.service(self.rules.service_label) for a in chosen} - {None}
        kept = {a.service(self.rules.service_label) for a in members if a not in chosen} - {None}
        self.graphs.weaken(row.group_values, moved, kept)  # type: ignore[arg-type]
        save_learning(conn, self.graphs)
        for target in (incident_id, new_id):
            self.recompute(conn, target, now)
        return new_id, len(chosen)

    def merge_by_operator(self, conn: Connection, incident_id: int, other_id: int, now: float, by: str) -> int:
        """Merge two active incidents (the smaller into the larger); returns the survivor. Raises IncidentGone."""
        first, second = repo.get(conn, incident_id), repo.get(conn, other_id)
        for row, wanted in ((first, incident_id), (second, other_id)):
            if row is None or row.status not in ACTIVE:
                raise IncidentGone(f"incident {wanted} is {row.status if row else 'not there'}")
        assert first is not None and second is not None
        survivor, absorbed = (first, second) if (first.alert_count, -first.id) >= (second.alert_count, -second.id) \
            else (second, first)
        self.merge(conn, absorbed.id, survivor.id, now, f"merged by {by}", by=by)
        self.graphs.strengthen(survivor.group_values, survivor.services, absorbed.services, now)
        save_learning(conn, self.graphs)
        self.recompute(conn, survivor.id, now)
        return survivor.id

    # ---- ranking -----------------------------------------------------------------
    def touch(self, conn: Connection, incident_id: int, now: float, busy: bool = False,
              alert_count: int | None = None) -> bool:
        """Recompute an incident that changed now, unless it is large or the receiver is busy.

        Root cause and priority read every alert of the incident. An incident of more than
        SMALL_INCIDENT alerts is marked instead, and so is any incident while webhooks queue for the
        database (`busy`): the background loop recomputes them on a read connection
        (Maintenance.recompute_deferred), spaced to about 5% of the time. During a storm ingest
        stays fast and holds the write lock briefly, and rankings lag by seconds. Returns whether it ran now.
        """
        if alert_count is None and not self.deferred.is_large(incident_id):
            alert_count = repo.alert_count(conn, incident_id)
        if self.deferred.is_large(incident_id) or (alert_count or 0) > SMALL_INCIDENT:
            self.deferred.mark(incident_id)
            return False
        if busy:
            self.deferred.mark(incident_id, large=False)
            return False
        self.recompute(conn, incident_id, now)
        return True

    def recompute(self, conn: Connection, incident_id: int, now: float) -> None:
        """Root cause, priority, title and the firing/resolving state from the incident's alerts."""
        assessment = self.assess(conn, incident_id, now)
        if assessment is not None:
            self.apply(conn, incident_id, assessment, now, assessment.row)

    def assess(self, conn: Connection, incident_id: int, now: float) -> Assessment | None:
        """Read the incident's alerts and rank them (reads only; see `apply`)."""
        row = repo.get(conn, incident_id)
        members = repo.ranking_alerts(conn, incident_id, self.rules.service_label)
        if row is None or not members:
            return None
        first_alert_at = row.first_alert_at
        topology = self.graphs.for_scope(row.group_values, now)
        candidates = self._metric_ranking(row, members, topology) or \
            rootcause.rank(members, topology, self.rules.service_label, nearby=self._nearby(conn, row, members))
        prio = priority_mod.assess(members, topology, self.rules.service_label, now, first_alert_at)
        return Assessment(candidates, prio, _title(members, candidates), any(a.status == "firing" for a in members),
                          row)

    def _metric_ranking(self, row, members: list[Alert], topology) -> list[rootcause.Candidate]:
        """Alerting and silent candidates from stored metric evidence ([] without evidence or anomaly)."""
        evidence = from_stored(row.metric_evidence)
        if not evidence or self.metric_settings is None:
            return []
        alerting: dict[str, float] = {}
        for alert in members:
            service = alert.service(self.rules.service_label)
            if service:
                alerting[service] = min(alerting.get(service, alert.starts_at), alert.starts_at)
        ranked = metric_rca.rank(alerting, topology, evidence, self.metric_settings.max_hops,
                                 self.metric_settings.step)
        if not ranked:
            return []
        named = {c.service for c in ranked}  # room left: the alert-based candidates follow
        fallback = [c for c in rootcause.rank(members, topology, self.rules.service_label) if c.service not in named]
        return (ranked + fallback)[:3]

    def set_evidence(self, conn: Connection, incident_id: int, stored: dict, now: float) -> None:
        """Store metric evidence on the incident and re-rank it."""
        repo.update(conn, incident_id, metric_evidence=stored)
        self.recompute(conn, incident_id, now)

    def _nearby(self, conn: Connection, row, members: list[Alert]) -> list[rootcause.Nearby]:
        """Services that started alerting in another incident of the scope shortly before this one.

        Only for an incident of fewer than three services (where a candidate slot is free); the onsets
        come from learned co-occurrence's memory, so the cost is a lookup, not a scan of alerts.
        """
        keys = {rootcause.candidate_key(a, self.rules.service_label) for a in members}
        if len(keys) >= 3:
            return []
        first = row.first_alert_at
        recent = self.graphs.recent_onsets(row.group_values, first - self.rules.window, first)
        found: list[rootcause.Nearby] = []
        tried = 0
        for service, onset, home in sorted(recent, key=lambda r: first - r[1]):
            if service in keys or home is None or home == row.id:
                continue
            alerts, low, flapping = self._quality_of(conn, home, service, first)  # none: its alerts moved (merged)
            tried += 1
            if alerts and not low and not flapping:
                found.append(rootcause.Nearby(service, home, onset, alerts))
            if len(found) == rootcause.MAX_NEARBY or tried == 2 * rootcause.MAX_NEARBY:
                break
        return found

    def _quality_of(self, conn: Connection, incident_id: int, service: str, at: float) -> tuple[int, bool, bool]:
        key = (incident_id, service)
        cached = self._quality.get(key)
        if cached is not None and abs(at - cached[0]) < 60:
            return cached[1]
        if len(self._quality) > 10000:
            self._quality.clear()
        found = repo.quality_of(conn, incident_id, service)
        self._quality[key] = (at, found)
        return found

    def apply(self, conn: Connection, incident_id: int, assessment: Assessment, now: float, row=None) -> None:
        """Write an assessment to the incident (inside a write transaction; `row`: read in this one already)."""
        row = row if row is not None else repo.get(conn, incident_id)
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
