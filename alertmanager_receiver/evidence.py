"""Metric evidence: anomaly scores of services read from Prometheus, collected off the webhook path.

`MetricEvidence.collect` runs two queries over every service the score query knows:
- `max by (<service_label>) (<score_query>)` over [first alert - lookback, now] at `step`;
- the 99th percentile of the same over the `baseline` span before that window (a subquery).
metric_rca.summarize turns them into per-service evidence (peak, usual high, onset).

`EvidenceWorker` computes it for incidents that opened or changed, at most once per `refresh` per
incident, in its own thread, with the queries' timeout: ingest never waits for Prometheus. The
evidence is stored on the incident (column metric_evidence) and the incident is re-ranked
(Incidents.assess uses it); when Prometheus fails the error is stored beside the last good
evidence, and an incident that never had any keeps the alert-only ranking.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .config import MetricEvidenceConfig
from .metric_rca import ServiceEvidence, summarize
from .prom import PrometheusReader

log = logging.getLogger(__name__)

MAX_POINTS = 10000  # Prometheus refuses more than 11,000 points per series in a range query


class MetricEvidence:
    def __init__(self, cfg: MetricEvidenceConfig, reader: PrometheusReader, service_label: str):
        self.cfg, self.reader, self.service_label = cfg, reader, service_label

    @property
    def per_service(self) -> str:
        return f"max by ({self.service_label}) ({self.cfg.score_query})"

    def collect(self, start: float, end: float) -> dict[str, ServiceEvidence]:
        """Evidence of every service with scores in [start, end] (raises PrometheusError)."""
        end = max(end, start + self.cfg.step)
        step = max(self.cfg.step, (end - start) / MAX_POINTS)  # a long-lived incident: a coarser range
        window = self.reader.range(self.per_service, start, end, step)
        usual_expr = f"quantile_over_time(0.99, ({self.per_service})[{int(self.cfg.baseline)}s:{int(self.cfg.step)}s])"
        usual = {item["metric"].get(self.service_label, ""): float(item["value"][1])
                 for item in self.reader.instant(usual_expr, start)}
        evidence = {}
        for item in window:
            service = item["metric"].get(self.service_label)
            if not service:
                continue
            points = [(float(t), float(v)) for t, v in item.get("values", [])]
            evidence[service] = summarize(points, usual.get(service))
        return evidence


def as_stored(evidence: dict[str, ServiceEvidence], start: float, end: float, computed_at: float) -> dict:
    return {"computed_at": computed_at, "from": start, "to": end,
            "services": {s: e.as_dict() for s, e in sorted(evidence.items())}}


def from_stored(stored: dict | None) -> dict[str, ServiceEvidence]:
    services = (stored or {}).get("services") or {}
    return {s: ServiceEvidence.from_dict(e) for s, e in services.items()}


class EvidenceWorker:
    """Computes metric evidence for incidents that changed, at most once per `refresh` each, off the webhook path."""

    def __init__(self, cfg: MetricEvidenceConfig, compute: Callable[[int], None],
                 clock: Callable[[], float] = time.monotonic):
        self.cfg, self.compute, self.clock = cfg, compute, clock
        self._due: dict[int, float] = {}  # incident -> earliest next computation (monotonic)
        self._last: dict[int, float] = {}
        self._cond = threading.Condition()

    def request(self, incident_ids) -> None:
        """These incidents opened or changed: compute their evidence now, or once `refresh` has passed."""
        now = self.clock()
        with self._cond:
            for incident_id in incident_ids:
                if incident_id is None or incident_id in self._due:
                    continue
                self._due[incident_id] = max(now, self._last.get(incident_id, -1e18) + self.cfg.refresh)
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._due)

    def take_due(self) -> int | None:
        """The incident whose computation is due first (removed from the queue), or None."""
        now = self.clock()
        with self._cond:
            due = min(((t, i) for i, t in self._due.items()), default=None)
            if due is None or due[0] > now:
                return None
            del self._due[due[1]]
            self._last[due[1]] = now
            if len(self._last) > 100_000:
                self._last.clear()
            return due[1]

    def _next(self, stop: threading.Event) -> int | None:
        while not stop.is_set():
            incident_id = self.take_due()
            if incident_id is not None:
                return incident_id
            with self._cond:
                upcoming = min(self._due.values(), default=None)
                self._cond.wait(min(1.0, max(0.01, upcoming - self.clock())) if upcoming is not None else 1.0)
        return None

    def run(self, stop: threading.Event) -> None:
        while (incident_id := self._next(stop)) is not None:
            try:
                self.compute(incident_id)
            except Exception:  # evidence must never take the receiver down
                log.exception("metric evidence for incident %d failed", incident_id)
