"""Incident rows and their timeline in SQL: every statement about incidents the write path runs.

Statements on the ingest path are built once: building a SQLAlchemy statement costs more than running it.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from .domain import Alert, IncidentSummary
from .lifecycle import ACTIVE, RESOLVING, TimelineEntry
from .store import alerts as alerts_t
from .store import feedback as feedback_t
from .store import incident_events as events_t
from .store import incidents as incidents_t

INSERT_EVENT = events_t.insert()
SELECT_ACTIVE = sa.select(incidents_t).where(incidents_t.c.status.in_(ACTIVE))
SELECT_INCIDENT = sa.select(incidents_t).where(incidents_t.c.id == sa.bindparam("incident_id"))
SELECT_FIRST_ALERT_AT = sa.select(incidents_t.c.first_alert_at).where(incidents_t.c.id == sa.bindparam("incident_id"))
COUNT_ALERTS = (sa.select(sa.func.count()).select_from(alerts_t)
                .where(alerts_t.c.incident_id == sa.bindparam("incident_id")))
UPDATE_SPAN = incidents_t.update().where(incidents_t.c.id == sa.bindparam("incident_id")).values(
    services=sa.bindparam("new_services"), first_alert_at=sa.bindparam("new_first"),
    last_alert_at=sa.bindparam("new_last"), updated_at=sa.bindparam("now"))
SELECT_RANKING = sa.select(alerts_t.c.id, alerts_t.c.fingerprint, alerts_t.c.starts_at, alerts_t.c.status,
                           alerts_t.c.ends_at, alerts_t.c.alertname, alerts_t.c.severity, alerts_t.c.service,
                           alerts_t.c.instance, alerts_t.c.anomaly_score
                           ).where(alerts_t.c.incident_id == sa.bindparam("incident_id"))
RANKING_BATCH = 500
SELECT_QUIET = sa.select(incidents_t.c.id, incidents_t.c.status, incidents_t.c.opened_at).where(
    (incidents_t.c.status == RESOLVING) & (incidents_t.c.resolving_since <= sa.bindparam("quiet_since")))


def add_event(conn: Connection, incident_id: int, at: float, kind: str, **detail: Any) -> None:
    conn.execute(INSERT_EVENT, {"incident_id": incident_id, "at": at, "kind": kind, "detail": detail})


def add_entries(conn: Connection, incident_id: int, at: float, entries: tuple[TimelineEntry, ...]) -> None:
    for entry in entries:
        add_event(conn, incident_id, at, entry.kind, **entry.detail)


def get(conn: Connection, incident_id: int) -> Row | None:
    return conn.execute(SELECT_INCIDENT, {"incident_id": incident_id}).first()


def exists(conn: Connection, incident_id: int) -> bool:
    return conn.execute(sa.select(incidents_t.c.id).where(incidents_t.c.id == incident_id)).first() is not None


def first_alert_at(conn: Connection, incident_id: int) -> float | None:
    return conn.execute(SELECT_FIRST_ALERT_AT, {"incident_id": incident_id}).scalar()


def alert_count(conn: Connection, incident_id: int) -> int:
    return int(conn.execute(COUNT_ALERTS, {"incident_id": incident_id}).scalar() or 0)


def active_summaries(conn: Connection) -> list[IncidentSummary]:
    rows = conn.execute(SELECT_ACTIVE).all()
    return [IncidentSummary(r.id, set(r.services), r.group_values, r.first_alert_at, r.last_alert_at, r.status)
            for r in rows]


def insert(conn: Connection, alert: Alert, service: str | None, group_values: dict | None, now: float) -> int:
    """A new open incident holding (so far) `alert`; returns its id."""
    result = conn.execute(incidents_t.insert().values(
        status="open", title=alert.name, priority="P4", priority_points=0, priority_factors=[], root_cause=[],
        services=[service] if service else [], group_values=group_values, opened_at=now, updated_at=now,
        first_alert_at=alert.starts_at, last_alert_at=alert.starts_at))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def update_span(conn: Connection, incident_id: int, services: list[str], first: float, last: float,
                now: float) -> None:
    conn.execute(UPDATE_SPAN, {"incident_id": incident_id, "new_services": services, "new_first": first,
                               "new_last": last, "now": now})


def update(conn: Connection, incident_id: int, **values: Any) -> None:
    conn.execute(incidents_t.update().where(incidents_t.c.id == incident_id).values(**values))


def quiet_incidents(conn: Connection, quiet_since: float) -> list[Row]:
    """Resolving incidents whose alerts have all been resolved since before `quiet_since`."""
    return list(conn.execute(SELECT_QUIET, {"quiet_since": quiet_since}).all())


def ranking_alerts(conn: Connection, incident_id: int, service_label: str) -> list[Alert]:
    """The incident's alerts with just what ranking reads, from the scalar columns (no JSON to decode).

    A storm incident holds thousands of alerts, so rows are read in batches as plain tuples,
    and the thread lets webhook threads run between batches (it runs in the background).
    """
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


def insert_feedback(conn: Connection, incident_id: int, at: float, verdict: str, comment: str) -> int:
    result = conn.execute(feedback_t.insert().values(incident_id=incident_id, at=at, verdict=verdict,
                                                     comment=comment))
    return int(result.inserted_primary_key[0])  # type: ignore[index]
