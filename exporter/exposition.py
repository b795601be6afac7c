"""The per-series families, rendered straight into the text exposition format.

At 100,000 series a scrape carries 700,000+ samples. Through prometheus_client's
Metric/Sample objects each one costs a namedtuple, a label dict merge and label
escaping per scrape (6.2 s per scrape at 100k). Here each row's labels are
rendered once, when the series is admitted (`labels.label_text`), and a scrape only
formats the values of the latest snapshots: the same families, built fresh per
scrape from the background loop's state, at a fraction of the cost
(benchmarks/exposition.py prints both).

Text format 0.0.4: https://prometheus.io/docs/instrumenting/exposition_formats/
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .snapshot import QuerySnapshot

BAND_FAMILIES = (
    ("aiops_yhat", "yhat", "Expected value of the source series now, per the model."),
    ("aiops_yhat_lower", "lower", "Lower edge of the expected band now (interval_width coverage)."),
    ("aiops_yhat_upper", "upper", "Upper edge of the expected band now (interval_width coverage)."),
)
SCORE_FAMILY = ("aiops_anomaly_score", "Deviation of the latest sample from yhat in band half-widths: "
                "0 at yhat, 1 at the band edge, above 1 outside it.")
FORECAST_FAMILIES = (
    ("aiops_forecast_yhat", "yhat", "Forecast of the source series at now + horizon."),
    ("aiops_forecast_yhat_lower", "lower", "Lower edge of the forecast band at now + horizon."),
    ("aiops_forecast_yhat_upper", "upper", "Upper edge of the forecast band at now + horizon."),
)
MULTIPLIER_FAMILY = ("aiops_sensitivity_multiplier", "Band widening from operator feedback (false_positive "
                     "verdicts widen, useful ones narrow, decaying back to 1); only series above 1.")
FAMILY_NAMES = tuple(f[0] for f in BAND_FAMILIES) + (SCORE_FAMILY[0],) + tuple(f[0] for f in FORECAST_FAMILIES) \
    + (MULTIPLIER_FAMILY[0],)


def _header(name: str, doc: str) -> str:
    help_text = doc.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {help_text}\n# TYPE {name} gauge\n"


def _lines(name: str, texts: list[str], values: np.ndarray, extra: str = "") -> list[str]:
    """One sample line per row with a finite value; `extra` is appended inside the braces."""
    rows = np.flatnonzero(np.isfinite(values))
    return [f"{name}{{{texts[row]}{extra}}} {value!r}\n"
            for row, value in zip(rows.tolist(), values[rows].tolist())]


def render_series_families(snapshots: Iterable[QuerySnapshot], names: set[str] | None = None) -> str:
    """The per-series families of all queries (`names`: only those families, as /metrics?name[]=...)."""
    snaps = list(snapshots)
    out: list[str] = []

    def family(name: str, doc: str, rows: Iterable[list[str]]) -> None:
        if names is None or name in names:
            out.append(_header(name, doc))
            for lines in rows:
                out.extend(lines)

    for name, attr, doc in BAND_FAMILIES:
        family(name, doc, (_lines(name, s.label_text, getattr(s.current, attr)) for s in snaps))
    name, doc = SCORE_FAMILY
    family(name, doc, (_lines(name, s.label_text, s.score) for s in snaps))
    for name, attr, doc in FORECAST_FAMILIES:
        family(name, doc, (_lines(name, s.label_text, getattr(band, attr), f',horizon="{horizon}"')
                           for s in snaps for horizon, band in s.forecasts.items()))
    name, doc = MULTIPLIER_FAMILY
    family(name, doc, (_lines(name, s.label_text, np.where(s.multiplier > 1, s.multiplier, np.nan))
                       for s in snaps if s.multiplier is not None))
    return "".join(out)
