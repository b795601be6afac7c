"""One notification -> stored alert occurrences and incidents, in one transaction.

An alert occurrence is (fingerprint, startsAt): Alertmanager delivers at least
once, HA pairs deliver twice and retries repeat, so an occurrence already
stored is only refreshed. Each notification is the group's full current
state: an alert that went resolved, or vanished from an untruncated group,
is closed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from . import incident_repo as repo
from .automation.decide import Event
from .automation.queue import Automation
from .cooccurrence_repo import save as save_learning
from .correlate import Correlation, scope_values
from .domain import Alert
from .graphs import ServiceGraphs
from .grouping import GroupingPlan, plan_grouping
from .incident_repo import add_event
from .incidents import Incidents, LifecycleStats
from .payload import Notification
from .store import Store, ranking_values
from .store import alerts as alerts_t
from .store import group_state as group_state_t
from .store import incident_events as events_t
from .store import incidents as incidents_t
from .store import notifications as notifications_t

log = logging.getLogger(__name__)

# Statements on the ingest path are built once: building a SQLAlchemy statement costs more than running it.
INSERT_NOTIFICATION = notifications_t.insert()
INSERT_ALERT = alerts_t.insert()
INSERT_EVENT = events_t.insert()
SELECT_KNOWN = (sa.select(alerts_t.c.id, alerts_t.c.fingerprint, alerts_t.c.starts_at, alerts_t.c.status,
                          alerts_t.c.incident_id)
                .where(alerts_t.c.fingerprint.in_(sa.bindparam("fingerprints", expanding=True)))
                .where((alerts_t.c.status == "firing") | alerts_t.c.starts_at.in_(sa.bindparam("starts", expanding=True))))
END_OCCURRENCE = alerts_t.update().where(alerts_t.c.id == sa.bindparam("row_id")).values(
    status="resolved", ends_at=sa.bindparam("new_ends_at"), last_received=sa.bindparam("now"))
RESOLVE_OCCURRENCE = alerts_t.update().where(alerts_t.c.id == sa.bindparam("row_id")).values(
    status="resolved", ends_at=sa.bindparam("new_ends_at"), last_received=sa.bindparam("now"),
    annotations=sa.bindparam("new_annotations"), anomaly_score=sa.bindparam("new_score"))
REFRESH_OCCURRENCE = alerts_t.update().where(alerts_t.c.id == sa.bindparam("row_id")).values(
    last_received=sa.bindparam("now"), annotations=sa.bindparam("new_annotations"),
    anomaly_score=sa.bindparam("new_score"))
SELECT_GROUP = sa.select(group_state_t.c.fingerprints).where(group_state_t.c.group_key == sa.bindparam("key"))
INSERT_GROUP = group_state_t.insert()
UPDATE_GROUP = group_state_t.update().where(group_state_t.c.group_key == sa.bindparam("key")).values(
    fingerprints=sa.bindparam("new_fingerprints"), updated_at=sa.bindparam("now"))
SELECT_FIRING = (sa.select(alerts_t.c.id, alerts_t.c.incident_id, alerts_t.c.fingerprint)
                 .where(alerts_t.c.fingerprint.in_(sa.bindparam("fingerprints", expanding=True)))
                 .where(alerts_t.c.status == "firing"))
SELECT_RANKED = (sa.select(incidents_t.c.id, incidents_t.c.priority, incidents_t.c.root_cause)
                 .where(incidents_t.c.id.in_(sa.bindparam("ids", expanding=True))))


@dataclass
class IngestResult:
    new: int = 0
    resolved: int = 0
    duplicates: int = 0
    incidents: set[int] = field(default_factory=set)
    statuses: dict[str, int] = field(default_factory=dict)  # status -> new occurrences stored
    lifecycle: LifecycleStats = field(default_factory=LifecycleStats)
    events: list[tuple[int, Alert, str]] = field(default_factory=list)  # (incident, alert, firing|resolved)
    decisions: list[tuple[str, str, str]] = field(default_factory=list)  # automation: (rule, action, status)
    merged: list[tuple[int, int]] = field(default_factory=list)  # (absorbed, survivor)
    opened: set[int] = field(default_factory=set)  # incidents this notification opened
    alert_counts: dict[int, int] = field(default_factory=dict)  # alerts of the incidents it joined, once joined


class Ingestor:
    def __init__(self, store: Store, incidents: Incidents, rules: Correlation, graphs: ServiceGraphs,
                 automation: Automation | None = None):
        self.store, self.incidents, self.rules, self.graphs = store, incidents, rules, graphs
        self.automation = automation
        self._summaries = repo.SummaryCache()  # active incidents as correlation sees them, by row

    def ingest(self, notification: Notification, now: float) -> IngestResult:
        """Store one notification in a transaction of its own."""
        with self.store.write() as conn:
            return self.ingest_in(conn, notification, now)

    def ingest_in(self, conn: Connection, notification: Notification, now: float, busy: bool = False) -> IngestResult:
        """Store one notification inside the caller's transaction (see groupcommit).

        `busy`: other notifications wait for the database; incidents this one joined are re-ranked in
        the background rather than here (a new incident is always ranked at once)."""
        result = IngestResult()
        conn.execute(INSERT_NOTIFICATION, {"received_at": now, "group_key": notification.group_key,
                                           "receiver": notification.receiver, "status": notification.status,
                                           "alert_count": len(notification.alerts), "payload": notification.raw})
        self._store_alerts(conn, notification.alerts, now, result)
        if notification.truncated == 0:
            self._close_absent(conn, notification, now, result)
        for incident_id in sorted(result.incidents):
            self.incidents.touch(conn, incident_id, now, busy and incident_id not in result.opened,
                                 result.alert_counts.get(incident_id))
        closed = self.incidents.close_quiet(conn, now, result.lifecycle)
        if self.automation is not None:
            result.decisions = self.automation.on_events(conn, self._events(conn, result.events), now)
            self.automation.on_incidents_changed(conn, result.incidents | set(closed), now)
        return result

    def _events(self, conn: Connection, raw: list[tuple[int, Alert, str]]) -> list[Event]:
        ids = sorted({incident_id for incident_id, _, _ in raw})
        rows = {r.id: r for r in conn.execute(SELECT_RANKED, {"ids": ids})} if ids else {}
        events = []
        for incident_id, alert, status in raw:
            row = rows.get(incident_id)
            if row is None:
                continue
            cause = row.root_cause[0]["service"] if row.root_cause else None
            events.append(Event(incident_id, status, alert, row.priority, cause))
        return events

    def _store_alerts(self, conn: Connection, alerts: list[Alert], now: float, result: IngestResult) -> None:
        """Store a notification's alerts with a handful of statements, whatever their number.

        One SELECT finds the occurrences already stored and the firing ones the new
        occurrences end; the grouping of the new occurrences is then decided in full
        (grouping.plan_grouping) before anything is written; new occurrences, their
        timeline events and the refreshes of known ones are written with one executemany
        each; each incident joined is updated once.
        """
        unique = list({(a.fingerprint, a.starts_at): a for a in alerts}.values())
        if not unique:
            return
        known, firing = self._stored_occurrences(conn, unique)
        refresh: list[dict] = []
        new: list[Alert] = []
        for alert in unique:
            row = known.get((alert.fingerprint, alert.starts_at))
            if row is not None:
                self._known_occurrence(conn, row, alert, now, result, refresh)
            else:
                new.append(alert)
        since = min((a.starts_at for a in new), default=now) - self.rules.window
        plan = plan_grouping(new, repo.active_summaries(conn, since, self._summaries), self.rules,
                             lambda values: self.graphs.for_scope(values, now))
        self._end_earlier_occurrences(conn, new, firing, now, result)
        self._learn(conn, self._write_plan(conn, plan, now, result))
        if refresh:
            conn.execute(REFRESH_OCCURRENCE, refresh)

    def _stored_occurrences(self, conn: Connection, unique: list[Alert]
                            ) -> tuple[dict[tuple[str, float], Row], dict[str, list[Row]]]:
        """(occurrences already stored by (fingerprint, startsAt), firing occurrences by fingerprint)."""
        fingerprints = sorted({a.fingerprint for a in unique})
        starts = sorted({a.starts_at for a in unique})
        known: dict[tuple[str, float], Row] = {}
        firing: dict[str, list[Row]] = {}
        for first in range(0, len(fingerprints), 500):  # bounded IN lists
            chunk = fingerprints[first:first + 500]
            for row in conn.execute(SELECT_KNOWN, {"fingerprints": chunk, "starts": starts}):
                known[(row.fingerprint, row.starts_at)] = row
                if row.status == "firing":
                    firing.setdefault(row.fingerprint, []).append(row)
        return known, firing

    def _end_earlier_occurrences(self, conn: Connection, new: list[Alert], firing: dict[str, list[Row]],
                                 now: float, result: IngestResult) -> None:
        """A new startsAt of a fingerprint ends its earlier firing occurrence."""
        ended: set[int] = set()
        for alert in new:
            for earlier in firing.get(alert.fingerprint, []):
                if earlier.starts_at < alert.starts_at and earlier.id not in ended:
                    ended.add(earlier.id)
                    result.incidents.add(earlier.incident_id)
                    conn.execute(END_OCCURRENCE, {"row_id": earlier.id, "new_ends_at": alert.starts_at, "now": now})

    def _write_plan(self, conn: Connection, plan: GroupingPlan, now: float, result: IngestResult
                    ) -> list[tuple[Alert, int]]:
        """Open, merge and join incidents as planned, then insert the new occurrences into their final incidents.

        Returns each new alert with the incident it went to."""
        absorbed_new = {m.absorbed for m in plan.merges if m.absorbed < 0}  # opened and merged at once: never written
        ids: dict[int, int] = {}
        for new_incident in plan.opened:
            if new_incident.key not in absorbed_new:
                ids[new_incident.key] = self.incidents.open_incident(conn, new_incident.alert, new_incident.scope,
                                                                     now, new_incident.reason)
                result.opened.add(ids[new_incident.key])
                result.lifecycle.opened += 1

        def stored(key: int) -> int:
            return ids.get(plan.final(key), plan.final(key))

        for merge in plan.merges:
            if merge.absorbed >= 0:
                self.incidents.merge(conn, merge.absorbed, stored(merge.absorbed), now, merge.reason)
                result.merged.append((merge.absorbed, stored(merge.absorbed)))
                result.incidents.add(merge.absorbed)
        for key, members in plan.joined().items():
            after = plan.after.get(key)
            self.incidents.join_many(conn, stored(key), members, now, after)
            if after is not None:
                result.alert_counts[stored(key)] = after.alert_count
                if not plan.merges:  # a merge recounts the survivor from the database: read it afresh next time
                    self._summaries.remember(replace(after, id=stored(key)))
        inserts, events, placed = [], [], []
        for placement in plan.placements:
            alert, incident_id = placement.alert, stored(placement.incident)
            placed.append((alert, incident_id))
            service = alert.service(self.rules.service_label)
            inserts.append({"fingerprint": alert.fingerprint, "starts_at": alert.starts_at, "status": alert.status,
                            "ends_at": alert.ends_at if alert.status == "resolved" else None,
                            "labels": alert.labels, "annotations": alert.annotations, "generator_url": "",
                            "first_received": now, "last_received": now, "incident_id": incident_id,
                            "join_reason": placement.reason,
                            **ranking_values(alert.labels, alert.annotations, self.rules.service_label)})
            events.append({"incident_id": incident_id, "at": now, "kind": "alert_joined",
                           "detail": {"alert": alert.name, "fingerprint": alert.fingerprint, "service": service,
                                      "reason": placement.reason}})
            result.new += 1
            result.events.append((incident_id, alert, alert.status))
            result.statuses[alert.status] = result.statuses.get(alert.status, 0) + 1
            result.incidents.add(incident_id)
        if inserts:
            conn.execute(INSERT_ALERT, inserts)
            conn.execute(INSERT_EVENT, events)
        return placed

    def _learn(self, conn: Connection, placed: list[tuple[Alert, int]]) -> None:
        """Count the onsets of firing alerts' services (learned co-occurrence) and persist what changed."""
        seen: set[tuple] = set()
        for alert, incident_id in sorted(placed, key=lambda p: p[0].starts_at):
            service = alert.service(self.rules.service_label)
            if alert.status != "firing" or not service:
                continue
            values = scope_values(alert, self.rules)
            key = (tuple(sorted(values.items())), service)
            if key in seen:
                continue
            seen.add(key)
            self.graphs.observe(values, service, alert.starts_at, incident_id)
        save_learning(conn, self.graphs)

    def _known_occurrence(self, conn: Connection, row, alert: Alert, now: float, result: IngestResult,
                          refresh: list[dict]) -> None:
        """An occurrence stored before: resolve it if it went resolved, else refresh it (a duplicate)."""
        if row.status == "firing" and alert.status == "resolved":
            conn.execute(RESOLVE_OCCURRENCE, {"row_id": row.id, "new_ends_at": alert.ends_at or now, "now": now,
                                              "new_annotations": alert.annotations, "new_score": alert.anomaly_score})
            result.resolved += 1
            result.incidents.add(row.incident_id)
            result.events.append((row.incident_id, alert, "resolved"))
            add_event(conn, row.incident_id, now, "alert_resolved", alert=alert.name, fingerprint=alert.fingerprint)
        else:
            result.duplicates += 1
            refresh.append({"row_id": row.id, "now": now, "new_annotations": alert.annotations,
                            "new_score": alert.anomaly_score})

    def _close_absent(self, conn: Connection, notification: Notification, now: float, result: IngestResult) -> None:
        current = sorted({a.fingerprint for a in notification.alerts if a.status == "firing"})
        previous = conn.execute(SELECT_GROUP, {"key": notification.group_key}).scalar()
        if previous is None:
            conn.execute(INSERT_GROUP, {"group_key": notification.group_key, "fingerprints": current, "updated_at": now})
            return
        gone = set(previous) - {a.fingerprint for a in notification.alerts}
        if gone:
            rows = conn.execute(SELECT_FIRING, {"fingerprints": sorted(gone)}).all()
            for row in rows:
                conn.execute(END_OCCURRENCE, {"row_id": row.id, "new_ends_at": now, "now": now})
                add_event(conn, row.incident_id, now, "alert_resolved", fingerprint=row.fingerprint,
                          reason="absent from its group's latest notification")
                result.resolved += 1
                result.incidents.add(row.incident_id)
        if sorted(previous) != current:
            conn.execute(UPDATE_GROUP, {"key": notification.group_key, "new_fingerprints": current, "now": now})


def reconcile(ingestor: Ingestor, active: list[Alert], now: float) -> tuple[int, int]:
    """Align stored state with Alertmanager's active alerts: (picked up, closed).

    Firing alerts Alertmanager no longer holds as active (resolved while we
    missed the notification, silenced, or lost) are closed; active ones never
    received are ingested.
    """
    notification = Notification(group_key="reconcile", receiver="reconcile", status="firing", truncated=1,
                        external_url="", alerts=active, raw={"source": "GET /api/v2/alerts", "count": len(active)})
    result = ingestor.ingest(notification, now)
    keep = {a.fingerprint for a in active}
    closed = 0
    with ingestor.store.write() as conn:
        rows = conn.execute(sa.select(alerts_t.c.id, alerts_t.c.incident_id, alerts_t.c.fingerprint).where(
            alerts_t.c.status == "firing")).all()
        touched = set()
        for row in rows:
            if row.fingerprint in keep:
                continue
            conn.execute(alerts_t.update().where(alerts_t.c.id == row.id).values(
                status="resolved", ends_at=now, last_received=now))
            add_event(conn, row.incident_id, now, "alert_resolved", fingerprint=row.fingerprint,
                      reason="no longer active in Alertmanager (resolved, silenced or lost)")
            touched.add(row.incident_id)
            closed += 1
        for incident_id in sorted(touched):
            ingestor.incidents.recompute(conn, incident_id, now)
    return result.new, closed
