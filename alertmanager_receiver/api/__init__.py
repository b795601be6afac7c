"""HTTP blueprints, one per area."""

from __future__ import annotations

from functools import wraps

from flask import jsonify, request

from ..app import receiver


def error(status: int, message: str, **extra):
    response = jsonify(error=message, **extra)
    response.status_code = status
    return response


def authenticated(view):
    """401 unless the request carries the configured credentials."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        auth = receiver().auth
        if not auth.check(request.headers.get("Authorization")):
            if request.path.startswith("/webhook"):
                receiver().metrics.notifications.labels("unauthorized").inc()
            response = error(401, "missing or wrong credentials")
            response.headers["WWW-Authenticate"] = auth.challenge
            return response
        return view(*args, **kwargs)

    return wrapper
