"""Metric evidence for an incident (run by the EvidenceWorker) and on demand (GET /api/v1/investigate)."""

from __future__ import annotations

import logging
import time

from . import incident_repo as repo
from . import metric_rca
from .context import Receiver
from .evidence import as_stored
from .lifecycle import ACTIVE
from .prom import PrometheusError
from .store import StoreUnavailable

log = logging.getLogger(__name__)


def compute_incident_evidence(receiver: Receiver, incident_id: int) -> None:
    """Read the incident, query Prometheus (never under the write lock), store the evidence and re-rank."""
    metric, cfg = receiver.metric_evidence, receiver.config.metric_evidence
    if metric is None or cfg is None:
        return
    with receiver.store.read() as conn:
        row = repo.get(conn, incident_id)
    if row is None or row.status not in ACTIVE:
        return
    now = receiver.clock()
    start = row.first_alert_at - cfg.lookback
    started = time.monotonic()
    try:
        stored = as_stored(metric.collect(start, now), start, now, now)
        receiver.metrics.evidence.labels("ok").inc()
    except PrometheusError as err:
        receiver.metrics.evidence.labels("error").inc()
        log.warning("metric evidence for incident %d: Prometheus query failed (the ranking keeps what it had): %s",
                    incident_id, err)
        stored = {**(row.metric_evidence or {}), "error": str(err)[:300], "error_at": now}
    finally:
        receiver.metrics.evidence_duration.observe(time.monotonic() - started)
    try:
        with receiver.store.write() as conn:
            receiver.incidents.set_evidence(conn, incident_id, stored, now)
            receiver.automation.on_incidents_changed(conn, {incident_id}, now)
    except StoreUnavailable as err:
        log.warning("metric evidence for incident %d not stored: %s", incident_id, err)


def investigate(receiver: Receiver, service: str, at: float) -> dict:
    """Ranked candidates for `service` as if it alerted at `at`, with the evidence (raises PrometheusError)."""
    metric, cfg, graphs = receiver.metric_evidence, receiver.config.metric_evidence, receiver.graphs
    assert metric is not None and cfg is not None and graphs is not None
    start = at - cfg.lookback
    evidence = metric.collect(start, at)
    candidates = metric_rca.rank({service: at}, graphs.explicit, evidence, cfg.max_hops, cfg.step)
    considered = sorted(set(graphs.explicit.dependencies(service)) & set(evidence))
    return {"service": service, "at": at, "window": {"from": start, "to": at},
            "candidates": [c.as_dict() for c in candidates],
            "services_with_scores": len(evidence), "dependencies_with_scores": considered,
            "note": "" if candidates else "no anomalous service among it and its dependencies"}
