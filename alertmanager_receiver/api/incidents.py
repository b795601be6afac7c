"""/api/v1/incidents: list, detail, ack, resolve, feedback, split, merge."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..context import MAX_ID, current_receiver
from ..incident_views import feedback_since, incident_detail, list_incidents
from ..incidents import IncidentGone, LifecycleStats
from ..notify.summary import summarize
from ..payload import parse_time
from . import actor, authenticated, error, json_body

bp = Blueprint("incidents", __name__, url_prefix="/api/v1")
STATUSES = ("open", "acknowledged", "resolving", "resolved", "merged")
PRIORITIES = ("P1", "P2", "P3", "P4")
VERDICTS = ("false_positive", "useful")


@bp.get("/incidents")
@authenticated
def incidents_list():
    status, prio = request.args.get("status"), request.args.get("priority")
    if status is not None and status not in STATUSES:
        return error(400, f"status must be one of {', '.join(STATUSES)}")
    if prio is not None and prio not in PRIORITIES:
        return error(400, f"priority must be one of {', '.join(PRIORITIES)}")
    try:
        limit = int(request.args.get("limit", 100))
    except ValueError:
        return error(400, "limit must be an integer")
    if not 1 <= limit <= 1000:
        return error(400, "limit must be between 1 and 1000")
    with current_receiver().store.read() as conn:
        return jsonify(incidents=list_incidents(conn, status, prio, limit))


@bp.get("/incidents/<id:incident_id>")
@authenticated
def incident_get(incident_id: int):
    with current_receiver().store.read() as conn:
        detail = incident_detail(conn, incident_id)
    if detail is None:
        return error(404, f"no incident {incident_id}")
    receiver = current_receiver()
    if receiver.log_evidence is not None:
        detail["log_evidence"] = receiver.log_evidence.for_incident(detail)
    detail["summary"] = summarize(detail)
    return jsonify(detail)


def _merged(incident_id: int):
    """A 409 pointing to the survivor when the incident was merged away, else None."""
    with current_receiver().store.read() as conn:
        detail = incident_detail(conn, incident_id)
    if detail is not None and detail["status"] == "merged":
        return error(409, f"incident {incident_id} was merged into incident {detail['merged_into']}",
                     merged_into=detail["merged_into"])
    return None


def _lifecycle_action(incident_id: int, action: str):
    by = actor()
    if by is None:
        return error(400, "body must be a JSON object; by must be a string of at most 200 characters")
    merged = _merged(incident_id)
    if merged is not None:
        return merged
    receiver = current_receiver()
    lifecycle = LifecycleStats()
    with receiver.store.write() as conn:
        found = getattr(receiver.incidents, action)(conn, incident_id, receiver.clock(), by, lifecycle)
        if found:
            receiver.automation.on_incidents_changed(conn, [incident_id], receiver.clock())
    if not found:
        return error(404, f"no incident {incident_id}")
    receiver.metrics.record(lifecycle)
    with receiver.store.read() as conn:
        return jsonify(incident_detail(conn, incident_id))


@bp.post("/incidents/<id:incident_id>/ack")
@authenticated
def incident_ack(incident_id: int):
    return _lifecycle_action(incident_id, "ack")


@bp.post("/incidents/<id:incident_id>/resolve")
@authenticated
def incident_resolve(incident_id: int):
    return _lifecycle_action(incident_id, "resolve")


@bp.post("/incidents/<id:incident_id>/feedback")
@authenticated
def incident_feedback(incident_id: int):
    body = json_body()
    if not body:
        return error(400, 'body must be a JSON object like {"verdict": "false_positive", "comment": "..."}')
    verdict, comment = body.get("verdict"), body.get("comment", "")
    if verdict not in VERDICTS:
        return error(400, f"verdict must be one of {', '.join(VERDICTS)}")
    if not isinstance(comment, str) or len(comment) > 10000:
        return error(400, "comment must be a string of at most 10000 characters")
    merged = _merged(incident_id)
    if merged is not None:
        return merged
    receiver = current_receiver()
    with receiver.store.write() as conn:
        feedback_id = receiver.incidents.add_feedback(conn, incident_id, receiver.clock(), verdict, comment)
    if feedback_id is None:
        return error(404, f"no incident {incident_id}")
    return jsonify(id=feedback_id, incident_id=incident_id, verdict=verdict, comment=comment), 201


@bp.get("/feedback")
@authenticated
def feedback_list():
    raw = request.args.get("since") or "0"
    try:
        since = float(raw)
    except ValueError:
        try:
            since = parse_time(raw)
        except ValueError:
            return error(400, "since must be unix seconds or an RFC 3339 timestamp")
    try:
        limit = int(request.args.get("limit", 1000))
    except ValueError:
        return error(400, "limit must be an integer")
    if not 1 <= limit <= 10000:
        return error(400, "limit must be between 1 and 10000")
    with current_receiver().store.read() as conn:
        return jsonify(feedback=feedback_since(conn, since, limit))


def _strings(value, what: str) -> list[str] | None:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) <= 512 for v in value) \
            or len(value) > 10000:
        raise ValueError(f"{what} must be a list of non-empty strings")
    return value


@bp.post("/incidents/<id:incident_id>/split")
@authenticated
def incident_split(incident_id: int):
    body = json_body()
    by = actor()
    if not body or by is None:
        return error(400, 'body must be a JSON object like {"fingerprints": [...]} or {"services": [...]}, '
                          "with an optional by")
    try:
        fingerprints, services = _strings(body.get("fingerprints"), "fingerprints"), _strings(body.get("services"), "services")
    except ValueError as err:
        return error(400, str(err))
    if not fingerprints and not services:
        return error(400, "name the alerts to move: fingerprints or services")
    receiver = current_receiver()
    now = receiver.clock()
    try:
        with receiver.store.write() as conn:
            new_id, moved = receiver.incidents.split_by_operator(conn, incident_id, set(fingerprints or ()),
                                                                 set(services or ()), now, by)
            receiver.automation.on_incidents_changed(conn, [incident_id, new_id], now)
    except IncidentGone as err:
        return _merged(incident_id) or error(404 if "not there" in str(err) else 409, str(err))
    except ValueError as err:
        return error(400, str(err))
    receiver.metrics.splits.inc()
    return jsonify(incident_id=incident_id, new_incident_id=new_id, moved_alerts=moved, by=by), 201


@bp.post("/incidents/<id:incident_id>/merge")
@authenticated
def incident_merge(incident_id: int):
    body = json_body()
    by = actor()
    other = body.get("incident_id") if body else None
    if by is None or isinstance(other, bool) or not isinstance(other, int) or not 0 <= other <= MAX_ID:
        return error(400, 'body must be a JSON object like {"incident_id": 12}, with an optional by')
    if other == incident_id:
        return error(400, "an incident cannot be merged with itself")
    receiver = current_receiver()
    now = receiver.clock()
    try:
        with receiver.store.write() as conn:
            survivor = receiver.incidents.merge_by_operator(conn, incident_id, other, now, by)
            receiver.automation.on_incidents_changed(conn, [incident_id, other], now)
    except IncidentGone as err:
        return error(404 if "not there" in str(err) else 409, str(err))
    receiver.metrics.merges.labels("operator").inc()
    absorbed = other if survivor == incident_id else incident_id
    return jsonify(survivor=survivor, absorbed=absorbed, by=by)
