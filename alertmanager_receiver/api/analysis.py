"""/api/v1/topology and /api/v1/investigate: the dependency graph, and root cause from metrics on demand."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..context import current_receiver
from ..investigation import investigate
from ..payload import parse_time
from ..prom import PrometheusError
from . import authenticated, error

bp = Blueprint("analysis", __name__, url_prefix="/api/v1")


@bp.get("/topology")
@authenticated
def topology():
    receiver = current_receiver()
    graphs = receiver.graphs
    assert graphs is not None
    now = receiver.clock()
    group_by = list(graphs.group_by)
    edges = [{"from": e.dependent, "to": e.dependency, "source": e.source, **e.detail}
             for e in sorted(graphs.explicit.edges(), key=lambda e: (e.dependent, e.dependency))]
    for scope, edge in graphs.inferred_edges(now):
        edges.append({"from": edge.dependent, "to": edge.dependency, "source": "inferred",
                      "scope": dict(zip(group_by, scope)), **edge.detail})
    discovery = receiver.discovery
    refreshed = {"last_refresh": discovery.last_refresh, "errors": discovery.errors} if discovery else None
    return jsonify(edges=edges, criticality=graphs.explicit.criticality, discovery=refreshed,
                   note="an edge from A to B means A depends on B (a problem in B can show up in A)")


@bp.get("/investigate")
@authenticated
def investigate_service():
    receiver = current_receiver()
    if receiver.metric_evidence is None:
        return error(400, "metric_evidence is not configured (it needs prometheus.url): see docs/receiver.md")
    service = request.args.get("service", "")
    if not service or len(service) > 512:
        return error(400, "service is required (the service to investigate, as in correlation.service_label)")
    raw = request.args.get("at")
    at = receiver.clock()
    if raw:
        try:
            at = float(raw)
        except ValueError:
            try:
                at = parse_time(raw)
            except ValueError:
                return error(400, "at must be unix seconds or an RFC 3339 timestamp")
    try:
        return jsonify(investigate(receiver, service, at))
    except PrometheusError as err:
        response = error(503, f"Prometheus could not answer: {err}")
        response.headers["Retry-After"] = "10"
        return response

