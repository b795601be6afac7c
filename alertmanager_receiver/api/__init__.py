"""HTTP blueprints, one per area."""

from __future__ import annotations

from functools import wraps

from flask import jsonify, request

from ..context import current_receiver


def error(status: int, message: str, **extra):
    response = jsonify(error=message, **extra)
    response.status_code = status
    return response


def authenticated(view):
    """401 unless the request carries the configured credentials."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        auth = current_receiver().auth
        if not auth.check(request.headers.get("Authorization")):
            if request.path.startswith("/webhook"):
                current_receiver().metrics.notifications.labels("unauthorized").inc()
            response = error(401, "missing or wrong credentials")
            response.headers["WWW-Authenticate"] = auth.challenge
            return response
        return view(*args, **kwargs)

    return wrapper


def json_body() -> dict | None:
    """The request's JSON object body: {} when empty, None when it is not a JSON object."""
    if not request.get_data(cache=True):
        return {}
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def actor() -> str | None:
    """`by` from an optional JSON body (default "api"); None when the body or `by` is invalid."""
    body = json_body()
    by = body.get("by", "api") if body is not None else None
    return by if isinstance(by, str) and len(by) <= 200 else None
