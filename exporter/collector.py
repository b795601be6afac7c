"""The custom collector: per-query families built per scrape from engine snapshots.

A scrape only reads immutable snapshots the background loop swapped in; it
never queries Prometheus or fits a model. The per-series families (one sample
per modelled series: bands, scores, forecasts) are rendered by exposition.py
from the same snapshots, without a prometheus_client object per sample.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .snapshot import QuerySnapshot


class ExporterCollector(Collector):
    def __init__(self, snapshots: Mapping[str, QuerySnapshot]):
        self._snapshots = snapshots

    def describe(self) -> Iterable[Metric]:
        return self._families()  # the names, so /metrics?name[]=... finds this collector

    def collect(self) -> Iterable[Metric]:
        series, last_fit, coverage = self._families()
        for snap in list(self._snapshots.values()):
            series.add_metric([snap.name], snap.series)
            if snap.last_fit is not None:
                last_fit.add_metric([snap.name], snap.last_fit)
            if snap.coverage is not None and not math.isnan(snap.coverage):
                coverage.add_metric([snap.name, snap.model], snap.coverage)
        return [series, last_fit, coverage]

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        series = GaugeMetricFamily("aiops_exporter_series", "Series currently modelled per query.", labels=["aiops_query"])
        last_fit = GaugeMetricFamily("aiops_exporter_last_fit_timestamp_seconds",
                                     "Unix time of the last full retrain of the query.", labels=["aiops_query"])
        coverage = GaugeMetricFamily("aiops_band_coverage_ratio",
                                     "Share of recent samples (coverage_window) that fell inside the band.",
                                     labels=["aiops_query", "aiops_model"])
        return [series, last_fit, coverage]
