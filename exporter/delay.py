"""Lagging series: which grid point a query scores, `delay` before now.

Exporters of cloud APIs (CloudWatch, Stackdriver) publish samples minutes after the fact, so
the value "now" is often missing while the value of 7 minutes ago exists. A query with `delay`
reads and scores the grid point `now - delay`; with `delay: auto` the delay is the median age of
the series' newest samples, measured by one instant query (`newest_age_query`) at the first cycle
and every `retrain_every` after, rounded up to the step and at most AUTO_DELAY_MAX.
"""

from __future__ import annotations

import math

AUTO_DELAY_MAX = 3600.0  # `delay: auto` never waits longer than this


def newest_age_query(expr: str, step: float, window: float = AUTO_DELAY_MAX) -> str:
    """PromQL for the median age, in seconds, of the newest sample of expr's series within `window`."""
    return f"quantile(0.5, time() - max_over_time(timestamp({expr})[{window:g}s:{step:g}s]))"


def auto_delay(median_age: float | None, step: float) -> float:
    """The delay for a median newest-sample age: rounded up to the step, within [0, AUTO_DELAY_MAX]."""
    if median_age is None or not math.isfinite(median_age) or median_age <= 0:
        return 0.0
    return min(math.ceil(median_age / step - 1e-9) * step, AUTO_DELAY_MAX)
