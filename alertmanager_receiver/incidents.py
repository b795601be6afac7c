"""Incident records: recompute root cause and priority, lifecycle, and the read queries."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import priority as priority_mod
from . import rootcause
from .correlate import Correlation
from .domain import Alert, IncidentSummary
from .store import alerts as alerts_t
from .store import feedback as feedback_t
from .store import incident_events as events_t
from .store import incidents as incidents_t
from .topology import Topology

ACTIVE = ("open", "acknowledged", "resolving")
SMALL_INCIDENT = 200  # alerts; smaller incidents are always recomputed inline


@dataclass
class Lifecycle:
    """What happened to incidents in one transaction (the app turns it into metrics)."""

    opened: int = 0
    resolved_durations: list[float] = field(default_factory=list)
    acked_after: list[float] = field(default_factory=list)


# Statements on the ingest path are built once: building a SQLAlchemy statement costs more than running it.
INSERT_EVENT = events_t.insert()
SELECT_ACTIVE = sa.select(incidents_t).where(incidents_t.c.status.in_(ACTIVE))
SELECT_INCIDENT = sa.select(incidents_t).where(incidents_t.c.id == sa.bindparam("incident_id"))
COUNT_ALERTS = (sa.select(sa.func.count()).select_from(alerts_t)
                .where(alerts_t.c.incident_id == sa.bindparam("incident_id")))
UPDATE_SPAN = incidents_t.update().where(incidents_t.c.id == sa.bindparam("incident_id")).values(
    services=sa.bindparam("new_services"), first_alert_at=sa.bindparam("new_first"),
    last_alert_at=sa.bindparam("new_last"), updated_at=sa.bindparam("now"))
REOPEN = incidents_t.update().where(incidents_t.c.id == sa.bindparam("incident_id")).values(
    status="open", resolving_since=None)
SELECT_RANKING = sa.select(alerts_t.c.id, alerts_t.c.fingerprint, alerts_t.c.starts_at, alerts_t.c.status,
                           alerts_t.c.ends_at, alerts_t.c.alertname, alerts_t.c.severity, alerts_t.c.service,
                           alerts_t.c.instance, alerts_t.c.anomaly_score
                           ).where(alerts_t.c.incident_id == sa.bindparam("incident_id"))
RANKING_BATCH = 500
SELECT_QUIET = sa.select(incidents_t.c.id, incidents_t.c.opened_at).where(
    (incidents_t.c.status == "resolving") & (incidents_t.c.resolving_since <= sa.bindparam("quiet_since")))


def add_event(conn: Connection, incident_id: int, at: float, kind: str, **detail) -> None:
    conn.execute(INSERT_EVENT, {"incident_id": incident_id, "at": at, "kind": kind, "detail": detail})


def row_to_alert(row) -> Alert:
    return Alert(fingerprint=row.fingerprint, starts_at=row.starts_at, status=row.status, labels=row.labels,
                 annotations=row.annotations, ends_at=row.ends_at, id=row.id)


def active_summaries(conn: Connection) -> list[IncidentSummary]:
    rows = conn.execute(SELECT_ACTIVE).all()
    return [IncidentSummary(r.id, set(r.services), r.group_values, r.first_alert_at, r.last_alert_at, r.status)
            for r in rows]


class Incidents:
    def __init__(self, rules: Correlation, topology: Topology, quiet_period: float):
        self.rules, self.topology, self.quiet_period = rules, topology, quiet_period
        self._large: set[int] = set()  # incidents known to hold more than SMALL_INCIDENT alerts
        self._dirty: set[int] = set()  # large incidents changed since their last recompute
        self._not_before: dict[int, float] = {}  # large incident -> earliest next deferred recompute
        self._lock = threading.Lock()

    def touch(self, conn: Connection, incident_id: int, now: float) -> bool:
        """Recompute an incident that changed now, unless it is large.

        Root cause and priority read every alert of the incident. An incident of more than
        SMALL_INCIDENT alerts is marked instead, and the background loop recomputes it at most
        every `correlation.large_incident_recompute_interval` on a read connection (Maintenance.recompute_deferred):
        during a storm ingest stays fast and holds the write lock briefly, and the ranking of a
        large incident lags by about that interval. Returns whether it ran now.
        """
        with self._lock:
            large = incident_id in self._large
        if not large:
            size = conn.execute(COUNT_ALERTS, {"incident_id": incident_id}).scalar()
            large = size > SMALL_INCIDENT
        if large:
            with self._lock:
                self._large.add(incident_id)
                self._dirty.add(incident_id)
            return False
        self.recompute(conn, incident_id, now)
        return True

    def has_dirty(self) -> bool:
        with self._lock:
            return bool(self._dirty)

    def take_dirty(self, now: float) -> list[int]:
        """The large incidents whose deferred recompute is due, clearing their marks."""
        with self._lock:
            ids = sorted(i for i in self._dirty if self._not_before.get(i, 0.0) <= now)
            self._dirty.difference_update(ids)
        return ids

    def recomputed(self, incident_id: int, now: float, took: float) -> None:
        """Space a large incident's recomputes so that they take at most ~3% of the time."""
        with self._lock:
            self._not_before[incident_id] = now + 30 * took

    def open_incident(self, conn: Connection, alert: Alert, group_values: dict | None, now: float,
                      reason: str) -> int:
        service = alert.service(self.rules.service_label)
        result = conn.execute(incidents_t.insert().values(
            status="open", title=alert.name, priority="P4", priority_points=0, priority_factors=[], root_cause=[],
            services=[service] if service else [], group_values=group_values, opened_at=now, updated_at=now,
            first_alert_at=alert.starts_at, last_alert_at=alert.starts_at))
        incident_id = result.inserted_primary_key[0]
        add_event(conn, incident_id, now, "opened", reason=reason, alert=alert.name)
        return incident_id

    def join_many(self, conn: Connection, incident_id: int, alerts: list[Alert], now: float) -> None:
        """New alerts joined the incident: its services, time span and (if resolving) state."""
        row = conn.execute(SELECT_INCIDENT, {"incident_id": incident_id}).one()
        services = set(row.services) | {s for s in (a.service(self.rules.service_label) for a in alerts) if s}
        conn.execute(UPDATE_SPAN, {"incident_id": incident_id, "new_services": sorted(services),
                                   "new_first": min(row.first_alert_at, *(a.starts_at for a in alerts)),
                                   "new_last": max(row.last_alert_at, *(a.starts_at for a in alerts)), "now": now})
        recurring = next((a for a in alerts if a.status == "firing"), None)
        if row.status == "resolving" and recurring is not None:
            conn.execute(REOPEN, {"incident_id": incident_id})
            add_event(conn, incident_id, now, "reopened", alert=recurring.name, reason="recurred within the quiet period")

    def recompute(self, conn: Connection, incident_id: int, now: float) -> None:
        """Root cause, priority, title and the firing/resolving state from the incident's alerts."""
        assessment = self.assess(conn, incident_id, now)
        if assessment is not None:
            self.apply(conn, incident_id, assessment, now)

    def assess(self, conn: Connection, incident_id: int, now: float) -> dict | None:
        """Read the incident's alerts and rank them (reads only; see `apply`)."""
        first_alert_at = conn.execute(sa.select(incidents_t.c.first_alert_at)
                                      .where(incidents_t.c.id == incident_id)).scalar()
        members = self._ranking_alerts(conn, incident_id)
        if not members:
            return None
        candidates = rootcause.rank(members, self.topology, self.rules.service_label)
        prio = priority_mod.assess(members, self.topology, self.rules.service_label, now, first_alert_at)
        return {"candidates": candidates, "priority": prio, "title": _title(members, candidates),
                "firing": any(a.status == "firing" for a in members)}

    def _ranking_alerts(self, conn: Connection, incident_id: int) -> list[Alert]:
        """The incident's alerts with just what ranking reads, from the scalar columns (no JSON to decode).

        A storm incident holds thousands of alerts, so rows are read in batches as plain tuples,
        and the thread lets webhook threads run between batches (it runs in the background).
        """
        service_label = self.rules.service_label
        members = []
        result = conn.execute(SELECT_RANKING, {"incident_id": incident_id})
        while batch := result.fetchmany(RANKING_BATCH):
            for alert_id, fingerprint, starts_at, status, ends_at, alertname, severity, service, instance, score \
                    in batch:
                labels = {"alertname": alertname or "alert"}
                if severity is not None:
                    labels["severity"] = severity
                if service is not None:
                    labels[service_label] = service
                if instance is not None:
                    labels["instance"] = instance
                members.append(Alert(fingerprint, starts_at, status, labels,
                                     {"anomaly_score": repr(score)} if score is not None else {}, ends_at, alert_id))
            if len(batch) == RANKING_BATCH:
                time.sleep(0)  # hand the GIL to waiting request threads
        return members

    def apply(self, conn: Connection, incident_id: int, assessment: dict, now: float) -> None:
        """Write an assessment to the incident (inside a write transaction)."""
        row = conn.execute(sa.select(incidents_t).where(incidents_t.c.id == incident_id)).one()
        prio, firing = assessment["priority"], assessment["firing"]
        values = {"root_cause": [c.as_dict() for c in assessment["candidates"]], "priority": prio.level,
                  "priority_points": prio.points, "priority_factors": prio.factors, "updated_at": now,
                  "title": assessment["title"]}
        if prio.level != row.priority:
            add_event(conn, incident_id, now, "priority", old=row.priority, new=prio.level, factors=prio.factors)
        if row.status in ("open", "acknowledged") and not firing:
            values.update(status="resolving", resolving_since=now)
            add_event(conn, incident_id, now, "all_resolved", quiet_period_seconds=self.quiet_period)
        elif row.status == "resolving" and firing:
            values.update(status="open", resolving_since=None)
        conn.execute(incidents_t.update().where(incidents_t.c.id == incident_id).values(**values))

    def close_quiet(self, conn: Connection, now: float, lifecycle: Lifecycle) -> list[int]:
        rows = conn.execute(SELECT_QUIET, {"quiet_since": now - self.quiet_period}).all()
        for row in rows:
            conn.execute(incidents_t.update().where(incidents_t.c.id == row.id).values(
                status="resolved", resolved_at=now, updated_at=now))
            add_event(conn, row.id, now, "resolved", reason=f"all alerts resolved for {self.quiet_period:g}s")
            lifecycle.resolved_durations.append(now - row.opened_at)
        return [row.id for row in rows]

    def ack(self, conn: Connection, incident_id: int, now: float, by: str, lifecycle: Lifecycle) -> bool:
        row = conn.execute(sa.select(incidents_t).where(incidents_t.c.id == incident_id)).first()
        if row is None:
            return False
        if row.acked_at is None:
            lifecycle.acked_after.append(now - row.opened_at)
        values = {"acked_at": row.acked_at or now, "acked_by": by, "updated_at": now}
        if row.status == "open":
            values["status"] = "acknowledged"
        conn.execute(incidents_t.update().where(incidents_t.c.id == incident_id).values(**values))
        add_event(conn, incident_id, now, "acknowledged", by=by)
        return True

    def resolve(self, conn: Connection, incident_id: int, now: float, by: str, lifecycle: Lifecycle) -> bool:
        row = conn.execute(sa.select(incidents_t).where(incidents_t.c.id == incident_id)).first()
        if row is None:
            return False
        if row.status != "resolved":
            conn.execute(incidents_t.update().where(incidents_t.c.id == incident_id).values(
                status="resolved", resolved_at=now, updated_at=now))
            lifecycle.resolved_durations.append(now - row.opened_at)
        add_event(conn, incident_id, now, "resolved", by=by, reason="resolved through the API")
        return True

    def add_feedback(self, conn: Connection, incident_id: int, now: float, verdict: str, comment: str) -> int | None:
        if conn.execute(sa.select(incidents_t.c.id).where(incidents_t.c.id == incident_id)).first() is None:
            return None
        result = conn.execute(feedback_t.insert().values(incident_id=incident_id, at=now, verdict=verdict,
                                                         comment=comment))
        add_event(conn, incident_id, now, "feedback", verdict=verdict, comment=comment)
        return result.inserted_primary_key[0]


def _title(members: list[Alert], candidates) -> str:
    names = sorted({a.name for a in members})
    head = names[0] if len(names) == 1 else f"{names[0]} and {len(names) - 1} other alert(s)"
    if candidates:
        return f"{head} (probable cause: {candidates[0].service})"
    return head


# ---- read queries ------------------------------------------------------------

def incident_dict(row) -> dict:
    return {
        "id": row.id, "status": row.status, "title": row.title, "priority": row.priority,
        "priority_factors": row.priority_factors, "services": row.services, "group_values": row.group_values,
        "opened_at": row.opened_at, "updated_at": row.updated_at, "first_alert_at": row.first_alert_at,
        "last_alert_at": row.last_alert_at, "resolved_at": row.resolved_at, "acked_at": row.acked_at,
        "acked_by": row.acked_by,
        "probable_root_cause": row.root_cause[0] if row.root_cause else None,
    }


def list_incidents(conn: Connection, status: str | None, priority: str | None, limit: int) -> list[dict]:
    query = sa.select(incidents_t).order_by(incidents_t.c.id.desc()).limit(limit)
    if status:
        query = query.where(incidents_t.c.status == status)
    if priority:
        query = query.where(incidents_t.c.priority == priority)
    rows = conn.execute(query).all()
    counts = dict(conn.execute(sa.select(alerts_t.c.incident_id, sa.func.count()).where(
        alerts_t.c.incident_id.in_([r.id for r in rows])).group_by(alerts_t.c.incident_id)).all()) if rows else {}
    return [{**incident_dict(r), "alert_count": counts.get(r.id, 0)} for r in rows]


def incident_detail(conn: Connection, incident_id: int) -> dict | None:
    row = conn.execute(sa.select(incidents_t).where(incidents_t.c.id == incident_id)).first()
    if row is None:
        return None
    alert_rows = conn.execute(sa.select(alerts_t).where(alerts_t.c.incident_id == incident_id)
                              .order_by(alerts_t.c.starts_at, alerts_t.c.id)).all()
    events = conn.execute(sa.select(events_t).where(events_t.c.incident_id == incident_id)
                          .order_by(events_t.c.at, events_t.c.id)).all()
    verdicts = conn.execute(sa.select(feedback_t).where(feedback_t.c.incident_id == incident_id)
                            .order_by(feedback_t.c.id)).all()
    return {
        **incident_dict(row),
        "root_cause_candidates": row.root_cause,
        "alerts": [{"id": a.id, "fingerprint": a.fingerprint, "status": a.status, "starts_at": a.starts_at,
                    "ends_at": a.ends_at, "labels": a.labels, "annotations": a.annotations,
                    "generator_url": a.generator_url, "join_reason": a.join_reason} for a in alert_rows],
        "timeline": [{"at": e.at, "kind": e.kind, **e.detail} for e in events],
        "feedback": [{"id": f.id, "at": f.at, "verdict": f.verdict, "comment": f.comment} for f in verdicts],
    }


def feedback_since(conn: Connection, since: float, limit: int) -> list[dict]:
    """Verdicts recorded after `since`, oldest first, each with its incident's alerts and labels."""
    rows = conn.execute(sa.select(feedback_t).where(feedback_t.c.at > since)
                        .order_by(feedback_t.c.at, feedback_t.c.id).limit(limit)).all()
    ids = sorted({r.incident_id for r in rows})
    members: dict[int, list[dict]] = {i: [] for i in ids}
    if ids:
        for a in conn.execute(sa.select(alerts_t).where(alerts_t.c.incident_id.in_(ids)).order_by(alerts_t.c.id)):
            members[a.incident_id].append({"fingerprint": a.fingerprint, "status": a.status, "starts_at": a.starts_at,
                                           "labels": a.labels, "annotations": a.annotations})
    return [{"id": r.id, "at": r.at, "incident_id": r.incident_id, "verdict": r.verdict, "comment": r.comment,
             "alerts": members[r.incident_id]} for r in rows]
