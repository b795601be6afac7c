"""The receiver's metrics (aiops_receiver_*)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from .lifecycle import ACTIVE
from .store import Store, StoreUnavailable, automation_state
from .store import alerts as alerts_t
from .store import incidents as incidents_t

log = logging.getLogger(__name__)
DURATION_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 259200)
PRIORITIES = ("P1", "P2", "P3", "P4")


class ReceiverMetrics:
    def __init__(self, store: Store, noise_window: float, clock: Callable[[], float] = time.time):
        reg = CollectorRegistry()
        self.registry = reg
        self.notifications = Counter("aiops_receiver_notifications", "Webhook notifications by result "
                                     "(stored, invalid, unauthorized, too_large, unavailable).", ["result"],
                                     registry=reg)
        self.alerts = Counter("aiops_receiver_alerts", "New alert occurrences stored, by status when first seen.",
                              ["status"], registry=reg)
        self.incidents = Counter("aiops_receiver_incidents", "Incidents opened.", registry=reg)
        self.incident_duration = Histogram("aiops_receiver_incident_duration_seconds",
                                           "Time from opening to resolution of incidents.",
                                           buckets=DURATION_BUCKETS, registry=reg)
        self.time_to_ack = Histogram("aiops_receiver_time_to_ack_seconds",
                                     "Time from opening to first acknowledgement.", buckets=DURATION_BUCKETS,
                                     registry=reg)
        self.actions = Counter("aiops_receiver_actions", "Automation decisions and results by rule, action type "
                               "and result (succeeded, failed, dry_run, skipped, awaiting_approval, refused, ...).",
                               ["rule", "action", "result"], registry=reg)
        self.merges = Counter("aiops_receiver_incident_merges", "Incidents absorbed into another, by how "
                              "(late_evidence: an alert linked them; operator: POST /api/v1/incidents/<id>/merge).",
                              ["how"], registry=reg)
        self.splits = Counter("aiops_receiver_incident_splits", "Incidents split by an operator "
                              "(POST /api/v1/incidents/<id>/split).", registry=reg)
        self.evidence = Counter("aiops_receiver_metric_evidence", "Metric evidence computations for incidents "
                                "by result (ok; error: Prometheus failed, the ranking kept what it had).", ["result"],
                                registry=reg)
        self.evidence_duration = Histogram("aiops_receiver_metric_evidence_duration_seconds",
                                           "Wall time of reading one incident's metric evidence from Prometheus.",
                                           buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=reg)
        self.action_duration = Histogram("aiops_receiver_action_duration_seconds", "Wall time of running one action.",
                                         buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300), registry=reg)
        reg.register(_StateCollector(store, noise_window, clock))

    def record(self, lifecycle) -> None:
        self.incidents.inc(lifecycle.opened)
        for seconds in lifecycle.resolved_durations:
            self.incident_duration.observe(seconds)
        for seconds in lifecycle.acked_after:
            self.time_to_ack.observe(seconds)


    def watch_topology(self, graphs, discovery, clock: Callable[[], float]) -> None:
        """Export the dependency graph's edges by source and the discovery's refresh state."""
        self.registry.register(_TopologyCollector(graphs, discovery, clock))


class _TopologyCollector(Collector):
    """Edges by source (configured, discovered, inferred) and topology discovery's refreshes, per scrape."""

    def __init__(self, graphs, discovery, clock):
        self.graphs, self.discovery, self.clock = graphs, discovery, clock

    def describe(self):
        return []

    def collect(self):
        edges = GaugeMetricFamily("aiops_receiver_topology_edges", "Dependency edges the receiver correlates and "
                                  "ranks over, by source (configured, discovered, inferred).", labels=["source"])
        by_source = {"configured": 0, "discovered": 0, "inferred": 0}
        for edge in self.graphs.explicit.edges():
            by_source[edge.source] = by_source.get(edge.source, 0) + 1
        by_source["inferred"] = len(self.graphs.inferred_edges(self.clock()))
        for source, count in sorted(by_source.items()):
            edges.add_metric([source], count)
        yield edges
        if self.discovery is None:
            return
        errors = CounterMetricFamily("aiops_receiver_topology_refresh_errors", "Failed queries of a topology "
                                     "discovery source (its last good edges are kept).", labels=["source"])
        for name, count in sorted(self.discovery.errors.items()):
            errors.add_metric([name], count)
        yield errors
        if self.discovery.last_refresh is not None:
            yield GaugeMetricFamily("aiops_receiver_topology_last_refresh_timestamp_seconds",
                                    "Unix time topology discovery last read every source successfully.",
                                    value=self.discovery.last_refresh)


class _StateCollector(Collector):
    """Gauges read from the database at scrape time (two small aggregate queries)."""

    def __init__(self, store: Store, window: float, clock):
        self.store, self.window, self.clock = store, window, clock

    def describe(self):
        return []

    def collect(self):
        open_by_priority = GaugeMetricFamily("aiops_receiver_incidents_open", "Incidents not yet resolved.",
                                             labels=["priority"])
        breaker = GaugeMetricFamily("aiops_receiver_automation_breaker_open",
                                    "1 while the automation circuit breaker is open, else 0.")
        noise = GaugeMetricFamily("aiops_receiver_noise_reduction_ratio",
                                  "1 - incidents opened / alert occurrences received over the noise window.")
        try:
            with self.store.read() as conn:
                counts: dict[str, int] = dict(conn.execute(sa.select(incidents_t.c.priority, sa.func.count()).where(
                    incidents_t.c.status.in_(ACTIVE)).group_by(incidents_t.c.priority)).all())
                since = self.clock() - self.window
                alert_count = conn.execute(sa.select(sa.func.count()).select_from(alerts_t).where(
                    alerts_t.c.first_received >= since)).scalar()
                incident_count = conn.execute(sa.select(sa.func.count()).select_from(incidents_t).where(
                    incidents_t.c.opened_at >= since)).scalar()
                state = conn.execute(sa.select(automation_state.c.value).where(
                    automation_state.c.key == "breaker")).scalar()
        except (StoreUnavailable, sa.exc.SQLAlchemyError) as err:
            log.warning("metrics: database unavailable: %s", err)
            return
        for priority in PRIORITIES:
            open_by_priority.add_metric([priority], counts.get(priority, 0))
        yield open_by_priority
        breaker.add_metric([], 1 if state and state.get("open") else 0)
        yield breaker
        if alert_count:
            noise.add_metric([], max(0.0, 1 - (incident_count or 0) / alert_count))
            yield noise
