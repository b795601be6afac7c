"""The read side of incidents: rows shaped into the API's JSON (list, detail, feedback)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from .store import alerts as alerts_t
from .store import feedback as feedback_t
from .store import incident_events as events_t
from .store import incidents as incidents_t


def incident_dict(row: Row) -> dict:
    return {
        "id": row.id, "status": row.status, "title": row.title, "priority": row.priority,
        "priority_factors": row.priority_factors, "services": row.services, "group_values": row.group_values,
        "opened_at": row.opened_at, "updated_at": row.updated_at, "first_alert_at": row.first_alert_at,
        "last_alert_at": row.last_alert_at, "resolved_at": row.resolved_at, "acked_at": row.acked_at,
        "acked_by": row.acked_by, "merged_into": row.merged_into, "alert_count": row.alert_count or 0,
        "probable_root_cause": row.root_cause[0] if row.root_cause else None,
    }


def list_incidents(conn: Connection, status: str | None, priority: str | None, limit: int) -> list[dict]:
    query = sa.select(incidents_t).order_by(incidents_t.c.id.desc()).limit(limit)
    if status:
        query = query.where(incidents_t.c.status == status)
    if priority:
        query = query.where(incidents_t.c.priority == priority)
    rows = conn.execute(query).all()
    counts: dict[int, int] = dict(conn.execute(sa.select(alerts_t.c.incident_id, sa.func.count()).where(
        alerts_t.c.incident_id.in_([r.id for r in rows])).group_by(alerts_t.c.incident_id)).all()) if rows else {}
    return [{**incident_dict(r), "alert_count": counts.get(r.id, 0)} for r in rows]  # counted: exact for old rows


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
        "alert_count": len(alert_rows),
        "root_cause_candidates": row.root_cause,
        "metric_evidence": _evidence_summary(row.metric_evidence),
        "alerts": [{"id": a.id, "fingerprint": a.fingerprint, "status": a.status, "starts_at": a.starts_at,
                    "ends_at": a.ends_at, "labels": a.labels, "annotations": a.annotations,
                    "generator_url": a.generator_url, "join_reason": a.join_reason} for a in alert_rows],
        "timeline": [{"at": e.at, "kind": e.kind, **e.detail} for e in events],
        "feedback": [{"id": f.id, "at": f.at, "verdict": f.verdict, "comment": f.comment} for f in verdicts],
    }


def _evidence_summary(stored: dict | None) -> dict | None:
    """When and over what span metric evidence was read (the candidates carry each service's evidence)."""
    if not stored:
        return None
    out = {k: stored[k] for k in ("computed_at", "from", "to", "error", "error_at") if k in stored}
    out["services_with_scores"] = len(stored.get("services") or {})
    return out


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
