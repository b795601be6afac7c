"""POST /webhook/alertmanager: validate, store durably, then answer."""

from __future__ import annotations

import json
import logging

from flask import Blueprint, jsonify, request

from ..context import current_receiver
from ..payload import PayloadError, parse_notification
from ..store import StoreUnavailable
from . import authenticated, error

log = logging.getLogger(__name__)
bp = Blueprint("webhook", __name__)
RETRY_AFTER = "5"


def _unavailable(reason: str):
    current_receiver().metrics.notifications.labels("unavailable").inc()
    response = error(503, "cannot store the notification now; Alertmanager will retry", reason=reason)
    response.headers["Retry-After"] = RETRY_AFTER
    return response


@bp.post("/webhook/alertmanager")
@authenticated
def alertmanager_webhook():
    receiver = current_receiver()
    raw = request.get_data(cache=False)  # werkzeug raises 413 past MAX_CONTENT_LENGTH
    try:
        data = json.loads(raw)
        notification = parse_notification(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        receiver.metrics.notifications.labels("invalid").inc()
        return error(400, f"invalid JSON: {err}"[:300])
    except RecursionError:
        receiver.metrics.notifications.labels("invalid").inc()
        return error(400, "invalid JSON: nested too deeply")
    except PayloadError as err:
        receiver.metrics.notifications.labels("invalid").inc()
        return error(400, f"invalid Alertmanager payload: {err}"[:1000])
    if not receiver.write_slots.acquire(timeout=min(1.0, receiver.config.storage.busy_timeout)):
        return _unavailable("too many notifications waiting for the database")
    try:
        result = receiver.committer.submit(notification, receiver.clock())  # returns once committed, with others queued meanwhile
    except StoreUnavailable as err:
        log.error("webhook: database unavailable, answering 503 so Alertmanager retries: %s", err)
        return _unavailable(str(err))
    finally:
        receiver.write_slots.release()
    receiver.metrics.notifications.labels("stored").inc()
    for status, count in result.statuses.items():
        receiver.metrics.alerts.labels(status).inc(count)
    receiver.metrics.record(result.lifecycle)
    if receiver.evidence_worker is not None and result.incidents:  # metric evidence: off this request's path
        receiver.evidence_worker.request(result.incidents)
    if result.merged:
        receiver.metrics.merges.labels("late_evidence").inc(len(result.merged))
    for rule, action, status in result.decisions:
        if status != "pending":  # pending ones are counted when they finish
            receiver.metrics.actions.labels(rule, action, status).inc()
    return jsonify(status="stored", new=result.new, duplicates=result.duplicates, resolved=result.resolved,
                   incidents=sorted(i for i in result.incidents if i is not None))
