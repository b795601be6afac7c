"""The exporter's own metrics (aiops_exporter_*), kept in the exporter's registry."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

FIT_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class WithoutCreated(Collector):
    """Collects these metrics without their `*_created` samples, which only add series here.

    prometheus_client's disable_created_metrics() does the same for the whole process; this
    does it for the metrics it is given, so nothing else in the process is affected.
    """

    def __init__(self, metrics: Iterable[MetricWrapperBase]):
        self.metrics = list(metrics)

    def describe(self):
        for metric in self.metrics:
            yield from metric.describe()

    def collect(self):
        for metric in self.metrics:
            for family in metric.collect():
                family.samples = [s for s in family.samples if not _created(s)]
                yield family


def _created(sample: Sample) -> bool:
    return sample.name.endswith("_created")


class SelfMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry if registry is not None else CollectorRegistry()
        reg = None  # each metric is registered through WithoutCreated, below
        self.fit_duration = Histogram(
            "aiops_exporter_fit_duration_seconds", "Wall time of one fit of a query's series batch.",
            ["aiops_query", "aiops_model"], buckets=FIT_BUCKETS, registry=reg)
        self.fits = Counter(
            "aiops_exporter_fits", "Series fits by result (success, timeout, error, no_data).",
            ["aiops_query", "result"], registry=reg)
        self.query_errors = Counter(
            "aiops_exporter_query_errors", "Failed Prometheus requests (each attempt, retries included).",
            ["aiops_query"], registry=reg)
        self.dropped_series = Counter(
            "aiops_exporter_dropped_series",
            "Series left unmodelled, per cycle, by reason (max_series, insufficient_history, no_samples: "
            "listed by the source but without a sample in the history read).",
            ["aiops_query", "reason"], registry=reg)
        self.empty_history_reads = Counter(
            "aiops_exporter_empty_history_reads", "History reads that returned no sample at all (each is followed "
            "by a longer wait before the next, up to retrain_every; the log says why and what to try).",
            ["aiops_query"], registry=reg)
        self.query_delay = Gauge(
            "aiops_exporter_query_delay_seconds", "How far behind now each query scores (its `delay`; for "
            "`delay: auto`, as last measured). Its published score and band are for that grid point.",
            ["aiops_query"], registry=reg)
        self.counter_like_series = Gauge(
            "aiops_exporter_counter_like_series", "Series of the query that only rise, save for resets, over their "
            "newest 360 samples, as a counter's running total does (at its last full refit, plus series admitted "
            "since): their scores say little; model rate() instead. The log names the query.",
            ["aiops_query"], registry=reg)
        self.profile_series = Gauge(
            "aiops_exporter_profile_series", "Series of the query by the seasonal profile their model uses: none, or "
            "the profile's period (1d, 1w); as of the last fit (a full refit, plus series admitted since) or expiry. "
            "Only models that choose a profile (seasonal) publish it.",
            ["aiops_query", "profile"], registry=reg)
        self.invalid_samples = Counter(
            "aiops_exporter_invalid_samples", "Samples skipped because they were NaN or infinite.",
            ["aiops_query"], registry=reg)
        self.cycle_duration = Gauge(
            "aiops_exporter_cycle_duration_seconds", "Wall time of the last completed refresh cycle.", registry=reg)
        self.cycles = Counter("aiops_exporter_cycles", "Completed refresh cycles.", registry=reg)
        self.source_up = Gauge(
            "aiops_exporter_source_up", "1 if Prometheus answered the last cycle's queries, 0 if unreachable.",
            registry=reg)
        self.feedback_verdicts = Counter(
            "aiops_exporter_feedback_verdicts", "Operator verdicts read from the receiver, by verdict and result "
            "(applied: it changed a series' sensitivity; ignored: no anomaly alert of this exporter's queries).",
            ["verdict", "result"], registry=reg)
        self.feedback_errors = Counter(
            "aiops_exporter_feedback_errors", "Failed reads of the receiver's verdicts (retried next interval).",
            registry=reg)
        self.state_file_errors = Counter(
            "aiops_exporter_state_file_errors", "Carried model state (exporter.state_dir) that could not be used, by "
            "operation (read: unreadable file; stale: written for other settings; write: could not be saved).",
            ["aiops_query", "operation"], registry=reg)
        self.last_cycle = Gauge(
            "aiops_exporter_last_cycle_timestamp_seconds", "Unix time the last refresh cycle completed.",
            registry=reg)
        self.registry.register(WithoutCreated(v for v in vars(self).values() if isinstance(v, MetricWrapperBase)))
