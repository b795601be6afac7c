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
# Every notification reads the active incidents. Their scalar columns are read first; the JSON columns
# (services, scope, instance keys) only of incidents not already known with the same scalars (SummaryCache):
# a join always raises alert_count, a merge or split changes it, so unchanged scalars mean unchanged JSON.
SELECT_ACTIVE_SCALARS = (sa.select(incidents_t.c.id, incidents_t.c.alert_count, incidents_t.c.status,
                                   incidents_t.c.first_alert_at, incidents_t.c.last_alert_at)
                         .where(incidents_t.c.status.in_(ACTIVE))
                         .where(incidents_t.c.last_alert_at >= sa.bindparam("since")))
SELECT_SUMMARY_JSON = (sa.select(incidents_t.c.id, incidents_t.c.services, incidents_t.c.group_values,
                                 incidents_t.c.instance_keys)
                       .where(incidents_t.c.id.in_(sa.bindparam("ids", expanding=True))))


class SummaryCache:
    """IncidentSummary by incident and the scalars it was built from (bounded). Summaries handed out must not
    be modified (grouping copies one before changing it)."""

    def __init__(self, limit: int = 20000):
        self.limit = limit
        self._built: dict[int, tuple[tuple, IncidentSummary]] = {}

    def summaries(self, conn: Connection, since: float) -> list[IncidentSummary]:
        rows = conn.execute(SELECT_ACTIVE_SCALARS, {"since": since}).all()
        stale = [r.id for r in rows if (cached := self._built.get(r.id)) is None or cached[0] != tuple(r)]
        if stale:
            if len(self._built) + len(stale) > self.limit:
                self._built.clear()
                stale = [r.id for r in rows]
            scalars = {r.id: tuple(r) for r in rows}
            for first in range(0, len(stale), 500):
                for id_, services, scope, keys in conn.execute(SELECT_SUMMARY_JSON, {"ids": stale[first:first + 500]}):
                    _, count, status, first_at, last_at = scalars[id_]
                    self._built[id_] = (scalars[id_], IncidentSummary(
                        id_, set(services or ()), scope, first_at, last_at, status, set(keys or ()), count or 0))
        return [self._built[r.id][1] for r in rows if r.id in self._built]

    def remember(self, summary: IncidentSummary) -> None:
        """The incident as this process just wrote it: the next read needs no JSON for it."""
        if len(self._built) < self.limit:
            self._built[summary.id] = ((summary.id, summary.alert_count, summary.status, summary.first_alert_at,
                                        summary.last_alert_at), summary)


SELECT_INCIDENT = sa.select(incidents_t).where(incidents_t.c.id == sa.bindparam("incident_id"))
SELECT_ALERT_COUNT = sa.select(incidents_t.c.alert_count).where(incidents_t.c.id == sa.bindparam("incident_id"))
UPDATE_SPAN = incidents_t.update().where(incidents_t.c.id == sa.bindparam("incident_id")).values(
    services=sa.bindparam("new_services"), instance_keys=sa.bindparam("new_keys"),
    first_alert_at=sa.bindparam("new_first"), last_alert_at=sa.bindparam("new_last"),
    alert_count=sa.bindparam("new_count"), updated_at=sa.bindparam("now"))
MOVE_ALERTS = alerts_t.update().where(alerts_t.c.incident_id == sa.bindparam("from_id")).values(
    incident_id=sa.bindparam("to_id"))
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


def alert_count(conn: Connection, incident_id: int) -> int:
    return int(conn.execute(SELECT_ALERT_COUNT, {"incident_id": incident_id}).scalar() or 0)


def summary_of(row: Row) -> IncidentSummary:
    return IncidentSummary(row.id, set(row.services), row.group_values, row.first_alert_at, row.last_alert_at,
                           row.status, set(row.instance_keys or ()), row.alert_count or 0)


def active_summaries(conn: Connection, since: float = float("-inf"), cache: SummaryCache | None = None
                     ) -> list[IncidentSummary]:
    """Active incidents whose latest alert started at `since` or later (older ones cannot take a new alert)."""
    return (cache if cache is not None else SummaryCache()).summaries(conn, since)


def insert(conn: Connection, alert: Alert, scope: dict[str, str], now: float) -> int:
    """A new open incident (its alerts join it afterwards, see update_span); returns its id."""
    result = conn.execute(incidents_t.insert().values(
        status="open", title=alert.name, priority="P4", priority_points=0, priority_factors=[], root_cause=[],
        services=[], instance_keys=[], alert_count=0, group_values=scope, opened_at=now, updated_at=now,
        first_alert_at=alert.starts_at, last_alert_at=alert.starts_at))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def update_span(conn: Connection, summary: IncidentSummary, now: float) -> None:
    """Write what joining alerts changed: services, instance keys, time span, alert count."""
    conn.execute(UPDATE_SPAN, {"incident_id": summary.id, "new_services": sorted(summary.services),
                               "new_keys": sorted(summary.instance_keys), "new_first": summary.first_alert_at,
                               "new_last": summary.last_alert_at, "new_count": summary.alert_count, "now": now})


def move_alerts(conn: Connection, from_id: int, to_id: int) -> None:
    conn.execute(MOVE_ALERTS, {"from_id": from_id, "to_id": to_id})


def move_alert_ids(conn: Connection, alert_ids: list[int], to_id: int) -> None:
    conn.execute(alerts_t.update().where(alerts_t.c.id.in_(alert_ids)).values(incident_id=to_id))


def recount(conn: Connection, incident_id: int, service_label: str) -> IncidentSummary:
    """The incident's services, keys, span and count from its alerts (after alerts moved in or out)."""
    row = get(conn, incident_id)
    assert row is not None
    summary = summary_of(row)
    summary.services, summary.instance_keys, summary.alert_count = set(), set(), 0
    rows = conn.execute(sa.select(alerts_t.c.starts_at, alerts_t.c.service, alerts_t.c.alertname,
                                  alerts_t.c.instance).where(alerts_t.c.incident_id == incident_id)).all()
    for _, service, alertname, instance in rows:
        if service:
            summary.services.add(service)
        elif instance:
            summary.instance_keys.add(f"{alertname or 'alert'}@{instance}")
        summary.alert_count += 1
    if rows:
        summary.first_alert_at = min(r.starts_at for r in rows)
        summary.last_alert_at = max(r.starts_at for r in rows)
    return summary


def update(conn: Connection, incident_id: int, **values: Any) -> None:
    conn.execute(incidents_t.update().where(incidents_t.c.id == incident_id).values(**values))


def quiet_incidents(conn: Connection, quiet_since: float) -> list[Row]:
    """Resolving incidents whose alerts have all been resolved since before `quiet_since`."""
    return list(conn.execute(SELECT_QUIET, {"quiet_since": quiet_since}).all())


def _alert_of(row: tuple, service_label: str) -> Alert:
    alert_id, fingerprint, starts_at, status, ends_at, alertname, severity, service, instance, score = row
    labels = {"alertname": alertname or "alert"}
    if severity is not None:
        labels["severity"] = severity
    if service is not None:
        labels[service_label] = service
    if instance is not None:
        labels["instance"] = instance
    return Alert(fingerprint, starts_at, status, labels,
                 {"anomaly_score": repr(score)} if score is not None else {}, ends_at, alert_id)


def ranking_alerts_by_id(conn: Connection, incident_id: int, alert_ids: list[int], service_label: str) -> list[Alert]:
    """These alerts of the incident (ids of other incidents' alerts are left out)."""
    rows = conn.execute(SELECT_RANKING.where(alerts_t.c.id.in_(alert_ids)), {"incident_id": incident_id}).all()
    return [_alert_of(tuple(row), service_label) for row in rows]


def ranking_alerts(conn: Connection, incident_id: int, service_label: str) -> list[Alert]:
    """The incident's alerts with just what ranking reads, from the scalar columns (no JSON to decode).

    A storm incident holds thousands of alerts, so rows are read in batches as plain tuples,
    and the thread lets webhook threads run between batches (it runs in the background).
    """
    members: list[Alert] = []
    result = conn.execute(SELECT_RANKING, {"incident_id": incident_id})
    while batch := result.fetchmany(RANKING_BATCH):
        members.extend(_alert_of(tuple(row), service_label) for row in batch)
        if len(batch) == RANKING_BATCH:
            time.sleep(0)  # hand the GIL to waiting request threads
    return members


def quality_of(conn: Connection, incident_id: int, service: str) -> tuple[int, bool, bool]:
    """(alerts, low severity, flapping) of a service's alerts in an incident (at most 200 read)."""
    rows = conn.execute(sa.select(alerts_t.c.severity, alerts_t.c.fingerprint)
                        .where(alerts_t.c.incident_id == incident_id).where(alerts_t.c.service == service)
                        .limit(200)).all()
    low = bool(rows) and all(s is not None and Alert("", 0, "firing", {"severity": s}).severity_rank <= 1
                             for s, _ in rows)
    fingerprints = [f for _, f in rows]
    flapping = bool(rows) and max(fingerprints.count(f) for f in fingerprints) >= 3
    return len(rows), low, flapping


def insert_feedback(conn: Connection, incident_id: int, at: float, verdict: str, comment: str) -> int:
    result = conn.execute(feedback_t.insert().values(incident_id=incident_id, at=at, verdict=verdict,
                                                     comment=comment))
    return int(result.inserted_primary_key[0])  # type: ignore[index]
