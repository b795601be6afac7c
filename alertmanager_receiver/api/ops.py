"""/metrics, /healthz, /readyz, /openapi.json."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..context import current_receiver
from .openapi import openapi_document

bp = Blueprint("ops", __name__)


@bp.get("/metrics")
def metrics():
    return Response(generate_latest(current_receiver().metrics.registry), mimetype=CONTENT_TYPE_LATEST)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    if current_receiver().store.ping():
        return jsonify(status="ready")
    return jsonify(status="not ready", reason="database unreachable"), 503


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
