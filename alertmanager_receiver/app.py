"""create_app(config): wiring only. The logic lives in plain modules."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from .api import actions as actions_api
from .api import analysis as analysis_api
from .api import incidents as incidents_api
from .api import ops as ops_api
from .api import webhook as webhook_api
from .auth import Authenticator
from .automation.queue import Automation
from .automation.run import Runner
from .config import ReceiverConfig
from .context import MAX_ID, Receiver, bind, current_receiver
from .cooccurrence import CoOccurrence, Settings
from .cooccurrence_repo import load as load_learning
from .correlate import Correlation
from .discovery import TopologyDiscovery
from .evidence import EvidenceWorker, MetricEvidence
from .graphs import ServiceGraphs
from .groupcommit import GroupCommitter
from .incidents import Incidents
from .ingest import Ingestor
from .investigation import compute_incident_evidence
from .log_evidence import LogEvidence
from .metrics import ReceiverMetrics
from .prom import PrometheusReader
from .store import Store, StoreUnavailable
from .topology import Topology


def write_slot_count(config: ReceiverConfig) -> int:
    """Webhook requests that may wait for the database at once: two threads always stay free for
    probes and the API, so a retry storm sheds load with 503s instead of starving /readyz."""
    return max(1, min(config.storage.max_pending_writes, config.server.threads - 2))


class IdConverter(IntegerConverter):
    """`<id:name>`: a database id; larger numbers do not match the route (404), never reach the database."""

    def __init__(self, url_map):
        super().__init__(url_map, min=0, max=MAX_ID)


def build_graphs(config: ReceiverConfig, store: Store) -> ServiceGraphs:
    """The configured topology, and what co-occurrence learned so far (read from the store)."""
    corr, learn = config.correlation, config.correlation.learning
    settings = Settings(window=corr.window, half_life=learn.half_life, min_count=learn.min_count,
                        min_confidence=learn.min_confidence, min_lift=learn.min_lift, min_order=learn.min_order,
                        max_pairs=learn.max_pairs)
    learning = CoOccurrence(settings, enabled=learn.enabled)
    with store.read() as conn:
        load_learning(conn, learning)
    return ServiceGraphs(Topology.from_config(config.topology), learning, tuple(corr.group_by))


def build_receiver(config: ReceiverConfig, store: Store, clock: Callable[[], float]) -> Receiver:
    """The receiver's parts, each given what it needs."""
    store.create_schema(config.correlation.service_label)
    corr = config.correlation
    rules = Correlation(tuple(corr.group_by), corr.window, corr.service_label, tuple(corr.topology_scope))
    graphs = build_graphs(config, store)
    incidents = Incidents(rules, graphs, corr.quiet_period, config.metric_evidence)
    automation = Automation(config.automation)
    log_evidence = (LogEvidence(config.prometheus, config.log_evidence, corr.service_label, clock)
                    if config.prometheus is not None else None)
    ingestor = Ingestor(store, incidents, rules, graphs, automation)
    reader = PrometheusReader(config.prometheus) if config.prometheus is not None else None
    discovery = (TopologyDiscovery(config.topology_discovery, reader.instant, Topology.from_config(config.topology),
                                   graphs, clock) if config.topology_discovery is not None and reader else None)
    metric = (MetricEvidence(config.metric_evidence, reader, corr.service_label)
              if config.metric_evidence is not None and reader else None)
    parts = Receiver(
        config=config, store=store, ingestor=ingestor, incidents=incidents,
        metrics=ReceiverMetrics(store, config.server.noise_window, clock), auth=Authenticator(config.auth),
        clock=clock, write_slots=threading.BoundedSemaphore(write_slot_count(config)),
        committer=GroupCommitter(ingestor), automation=automation,
        runner=Runner(config.automation, store, config.alertmanager.url, clock, log_evidence),
        log_evidence=log_evidence, graphs=graphs, discovery=discovery, metric_evidence=metric)
    if metric is not None and config.metric_evidence is not None:
        parts.evidence_worker = EvidenceWorker(config.metric_evidence,
                                               lambda incident_id: compute_incident_evidence(parts, incident_id))
    parts.metrics.watch_topology(graphs, discovery, clock)
    return parts


def _create_labelled_series(parts: Receiver) -> None:
    """Labelled counters exist from the start, at 0, so rate() and dashboards see them."""
    metrics = parts.metrics
    for result in ("stored", "invalid", "unauthorized", "too_large", "unavailable"):
        metrics.notifications.labels(result)
    for status in ("firing", "resolved"):
        metrics.alerts.labels(status)
    for how in ("late_evidence", "operator"):
        metrics.merges.labels(how)
    if parts.metric_evidence is not None:
        for result in ("ok", "error"):
            metrics.evidence.labels(result)
    for rule in parts.config.automation.rules:
        for action in rule.actions:
            for result in ("dry_run", "succeeded", "failed", "skipped"):
                metrics.actions.labels(rule.name, action.type, result)


def _store_down(err: StoreUnavailable):
    response = jsonify(error="database unavailable", detail=str(err))
    response.status_code = 503
    response.headers["Retry-After"] = "5"
    return response


def _http_error(err: HTTPException):
    if err.code == 413 and request.path.startswith("/webhook"):
        current_receiver().metrics.notifications.labels("too_large").inc()
    response = jsonify(error=err.name, detail=err.description)
    response.status_code = err.code or 500
    for name, value in err.get_headers():  # e.g. Allow on 405
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def create_app(config: ReceiverConfig, store: Store | None = None, clock: Callable[[], float] = time.time) -> Flask:
    store = store if store is not None else Store(config.storage.url, config.storage.busy_timeout)
    parts = build_receiver(config, store, clock)
    _create_labelled_series(parts)
    app = Flask("alertmanager_receiver", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = config.server.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.converters["id"] = IdConverter
    bind(app, parts)
    for blueprint in (webhook_api.bp, incidents_api.bp, analysis_api.bp, actions_api.bp, ops_api.bp):
        app.register_blueprint(blueprint)
    app.register_error_handler(StoreUnavailable, _store_down)
    app.register_error_handler(HTTPException, _http_error)
    return app
