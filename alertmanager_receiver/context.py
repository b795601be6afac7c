"""The receiver's parts as one object, bound to the Flask app; blueprints reach it through `current_receiver()`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app

from .auth import Authenticator
from .automation.queue import Automation
from .automation.run import Runner
from .config import ReceiverConfig
from .discovery import TopologyDiscovery
from .evidence import EvidenceWorker, MetricEvidence
from .graphs import ServiceGraphs
from .groupcommit import GroupCommitter
from .incidents import Incidents
from .ingest import Ingestor
from .log_evidence import LogEvidence
from .metrics import ReceiverMetrics
from .store import Store

MAX_ID = 2**63 - 1  # ids are 64-bit database integers
_EXTENSION = "aiops_receiver"


@dataclass
class Receiver:
    """Everything the blueprints and background jobs need, passed in rather than imported."""

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
    log_evidence: LogEvidence | None = None
    graphs: ServiceGraphs | None = None
    discovery: TopologyDiscovery | None = None  # with topology_discovery
    metric_evidence: MetricEvidence | None = None  # with metric_evidence
    evidence_worker: EvidenceWorker | None = None


def bind(app: Flask, parts: Receiver) -> None:
    app.extensions[_EXTENSION] = parts


def receiver_of(app: Flask) -> Receiver:
    """The receiver bound to `app` (tests and the command line hold the app)."""
    return app.extensions[_EXTENSION]


def current_receiver() -> Receiver:
    """The receiver of the app handling the current request."""
    return receiver_of(current_app)
