"""/api/v1/actions and /api/v1/automation: the audit trail, approvals, the breaker."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..automation.queue import approve, list_actions
from ..context import MAX_ID, current_receiver
from . import actor, authenticated, error

bp = Blueprint("actions", __name__, url_prefix="/api/v1")
STATUSES = ("pending", "awaiting_approval", "running", "succeeded", "failed", "dry_run", "skipped", "expired",
            "interrupted", "refused")


@bp.get("/actions")
@authenticated
def actions_list():
    status, rule = request.args.get("status"), request.args.get("rule")
    if status is not None and status not in STATUSES:
        return error(400, f"status must be one of {', '.join(STATUSES)}")
    try:
        limit = int(request.args.get("limit", 100))
        incident = request.args.get("incident_id")
        incident_id = int(incident) if incident is not None else None
    except ValueError:
        return error(400, "limit and incident_id must be integers")
    if not 1 <= limit <= 1000:
        return error(400, "limit must be between 1 and 1000")
    if incident_id is not None and not 0 <= incident_id <= MAX_ID:
        return error(400, f"incident_id must be between 0 and {MAX_ID}")
    with current_receiver().store.read() as conn:
        return jsonify(actions=list_actions(conn, status, rule, incident_id, limit))


@bp.post("/actions/<id:action_id>/approve")
@authenticated
def action_approve(action_id: int):
    by = actor()
    if by is None:
        return error(400, "body must be a JSON object; by must be a string of at most 200 characters")
    receiver = current_receiver()
    with receiver.store.write() as conn:
        status = approve(conn, action_id, by, receiver.clock())
    if status is None:
        return error(404, f"no action {action_id}")
    if status != "pending":
        return error(409, f"action {action_id} is {status}, not awaiting approval")
    return jsonify(id=action_id, status=status, approved_by=by)


@bp.get("/automation")
@authenticated
def automation_state():
    receiver = current_receiver()
    with receiver.store.read() as conn:
        breaker = receiver.automation.breaker_open(conn)
    cfg = receiver.config.automation
    return jsonify(mode=cfg.mode, breaker_open=breaker, rules=[r.name for r in cfg.rules],
                   breaker={"max_actions": cfg.breaker.max_actions, "window_seconds": cfg.breaker.window})


@bp.post("/automation/breaker/reset")
@authenticated
def breaker_reset():
    by = actor()
    if by is None:
        return error(400, "body must be a JSON object; by must be a string of at most 200 characters")
    receiver = current_receiver()
    with receiver.store.write() as conn:
        receiver.automation.reset_breaker(conn, receiver.clock(), by)
    return jsonify(breaker_open=False, reset_by=by)
