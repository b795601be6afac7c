"""create_app(config): wiring only. The logic lives in plain modules."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from .auth import Authenticator
from .automation.engine import Automation
from .automation.run import Runner
from .config import ReceiverConfig
from .correlate import Correlation
from .groupcommit import GroupCommitter
from .incidents import Incidents
from .ingest import Ingestor
from .logsource import LogEvidence
from .metrics import ReceiverMetrics
from .store import Store, StoreUnavailable
from .topology import Topology


@dataclass
class Receiver:
    """Everything the blueprints need, passed in rather than imported."""

    config: ReceiverConfig
    store: Store
    ingestor: Ingestor
    incidents: Incidents
    metrics: ReceiverMetrics
    auth: Authenticator
    clock: Callable[[], float]
    write_slots: threading.BoundedSemaphore
    committer: GroupCommitter
    automation: Automation
    runner: Runner
    log_evidence: "LogEvidence | None" = None


def write_slot_count(config: ReceiverConfig) -> int:
    """Webhook requests that may wait for the database at once: two threads always stay free for
    probes and the API, so a retry storm sheds load with 503s instead of starving /readyz."""
    return max(1, min(config.storage.max_pending_writes, config.server.threads - 2))


MAX_ID = 2**63 - 1  # ids are 64-bit database integers


class IdConverter(IntegerConverter):
    """`<id:name>`: a database id; larger numbers do not match the route (404), never reach the database."""

    def __init__(self, url_map):
        super().__init__(url_map, min=0, max=MAX_ID)


def receiver() -> Receiver:
    return current_app.extensions["aiops_receiver"]


def create_app(config: ReceiverConfig, store: Store | None = None, clock: Callable[[], float] = time.time) -> Flask:
    from .api import actions as actions_api
    from .api import incidents as incidents_api
    from .api import ops, webhook

    store = store if store is not None else Store(config.storage.url, config.storage.busy_timeout)
    store.create_schema(config.correlation.service_label)
    corr = config.correlation
    rules = Correlation(tuple(corr.group_by), corr.window, corr.service_label)
    topology = Topology.from_config(config.topology)
    incidents = Incidents(rules, topology, corr.quiet_period)
    automation = Automation(config.automation)
    log_evidence = (LogEvidence(config.prometheus, config.log_evidence, corr.service_label, clock)
                    if config.prometheus is not None else None)
    app = Flask("alertmanager_receiver", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = config.server.max_body_bytes
    app.json.sort_keys = False
    app.url_map.converters["id"] = IdConverter
    ingestor = Ingestor(store, incidents, rules, topology, automation)
    app.extensions["aiops_receiver"] = Receiver(
        config=config, store=store, ingestor=ingestor,
        incidents=incidents, metrics=ReceiverMetrics(store, config.server.noise_window, clock),
        auth=Authenticator(config.auth), clock=clock,
        write_slots=threading.BoundedSemaphore(write_slot_count(config)), committer=GroupCommitter(ingestor),
        automation=automation,
        runner=Runner(config.automation, store, config.alertmanager.url, clock, log_evidence),
        log_evidence=log_evidence)
    metrics = app.extensions["aiops_receiver"].metrics
    for result in ("stored", "invalid", "unauthorized", "too_large", "unavailable"):
        metrics.notifications.labels(result)
    for status in ("firing", "resolved"):
        metrics.alerts.labels(status)
    for rule in config.automation.rules:
        for action in rule.actions:
            for result in ("dry_run", "succeeded", "failed", "skipped"):
                metrics.actions.labels(rule.name, action.type, result)
    app.register_blueprint(webhook.bp)
    app.register_blueprint(incidents_api.bp)
    app.register_blueprint(actions_api.bp)
    app.register_blueprint(ops.bp)

    @app.errorhandler(StoreUnavailable)
    def _store_down(err: StoreUnavailable):
        response = jsonify(error="database unavailable", detail=str(err))
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        if err.code == 413 and request.path.startswith("/webhook"):
            receiver().metrics.notifications.labels("too_large").inc()
        response = jsonify(error=err.name, detail=err.description)
        response.status_code = err.code
        for name, value in err.get_headers():  # e.g. Allow on 405
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    return app
