"""The custom collector: metric families built per scrape from engine snapshots.

A scrape only reads immutable snapshots the background loop swapped in; it
never queries Prometheus or fits a model.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping

import numpy as np
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .engine import QuerySnapshot

BAND_FAMILIES = (
    ("aiops_yhat", "yhat", "Expected value of the source series now, per the model."),
    ("aiops_yhat_lower", "lower", "Lower edge of the expected band now (interval_width coverage)."),
    ("aiops_yhat_upper", "upper", "Upper edge of the expected band now (interval_width coverage)."),
)
FORECAST_FAMILIES = (
    ("aiops_forecast_yhat", "yhat", "Forecast of the source series at now + horizon."),
    ("aiops_forecast_yhat_lower", "lower", "Lower edge of the forecast band at now + horizon."),
    ("aiops_forecast_yhat_upper", "upper", "Upper edge of the forecast band at now + horizon."),
)


def _add_rows(family: Metric, labels: list[dict[str, str]], values: np.ndarray, extra: dict[str, str] | None = None):
    for row in np.flatnonzero(np.isfinite(values)):
        row_labels = labels[row] if extra is None else {**labels[row], **extra}
        family.add_sample(family.name, row_labels, float(values[row]))


class ExporterCollector(Collector):
    def __init__(self, snapshots: Mapping[str, QuerySnapshot]):
        self._snapshots = snapshots

    def describe(self) -> Iterable[Metric]:
        return []  # families vary with the data; nothing to check at registration

    def collect(self) -> Iterable[Metric]:
        snaps = list(self._snapshots.values())
        for name, attr, doc in BAND_FAMILIES:
            family = Metric(name, doc, "gauge")
            for snap in snaps:
                _add_rows(family, snap.labels, getattr(snap.current, attr))
            yield family
        score = Metric("aiops_anomaly_score", "Deviation of the latest sample from yhat in band half-widths: "
                       "0 at yhat, 1 at the band edge, above 1 outside it.", "gauge")
        for snap in snaps:
            _add_rows(score, snap.labels, snap.score)
        yield score
        for name, attr, doc in FORECAST_FAMILIES:
            family = Metric(name, doc, "gauge")
            for snap in snaps:
                for horizon, band in snap.forecasts.items():
                    _add_rows(family, snap.labels, getattr(band, attr), {"horizon": horizon})
            yield family
        multiplier = Metric("aiops_sensitivity_multiplier", "Band widening from operator feedback (false_positive "
                            "verdicts widen, useful ones narrow, decaying back to 1); only series above 1.", "gauge")
        for snap in snaps:
            if snap.multiplier is not None:
                _add_rows(multiplier, snap.labels, np.where(snap.multiplier > 1, snap.multiplier, np.nan))
        yield multiplier
        series = GaugeMetricFamily("aiops_exporter_series", "Series currently modelled per query.", labels=["aiops_query"])
        last_fit = GaugeMetricFamily("aiops_exporter_last_fit_timestamp_seconds",
                                     "Unix time of the last full retrain of the query.", labels=["aiops_query"])
        coverage = GaugeMetricFamily("aiops_band_coverage_ratio",
                                     "Share of recent samples (coverage_window) that fell inside the band.",
                                     labels=["aiops_query", "aiops_model"])
        for snap in snaps:
            series.add_metric([snap.name], snap.series)
            if snap.last_fit is not None:
                last_fit.add_metric([snap.name], snap.last_fit)
            if snap.coverage is not None and not math.isnan(snap.coverage):
                coverage.add_metric([snap.name, snap.model], snap.coverage)
        yield series
        yield last_fit
        yield coverage
