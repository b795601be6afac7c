"""`prophet`: Facebook Prophet per series, fitted in worker processes with a timeout.

Prophet's predict is slow, so each fit precomputes the forecast and band on a
grid from the end of history to `forecast_span` past it (long enough to reach
the next retrain plus the longest horizon); predicting is then a lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field

from aiops_common.durations import PositiveDuration, format_duration

from .base import Band, FitContext, FitResult, FittedModel, ModelParams, ModelSpec
from .tasks import InlineFitExecutor, TaskFailure

Seasonality = bool | Literal["auto"] | int


class ProphetParams(ModelParams):
    fit_timeout: PositiveDuration = 120.0
    daily_seasonality: Seasonality = "auto"
    weekly_seasonality: Seasonality = "auto"
    yearly_seasonality: Seasonality = False
    changepoint_prior_scale: float = Field(default=0.05, gt=0)
    seasonality_prior_scale: float = Field(default=10.0, gt=0)
    seasonality_mode: Literal["additive", "multiplicative"] = "additive"
    uncertainty_samples: int = Field(default=300, ge=10, le=10000)
    grid_points: int = Field(default=600, ge=10, le=100000)  # forecast grid resolution


def fit_one_series(times: np.ndarray, y: np.ndarray, params: dict, width: float, span: float, step: float):
    """Fit one series and return its forecast grid (runs in a worker process)."""
    import logging

    import pandas as pd
    from prophet import Prophet

    for name in ("cmdstanpy", "prophet"):
        logging.getLogger(name).setLevel(logging.ERROR)
    keep = np.isfinite(y)
    frame = pd.DataFrame({"ds": pd.to_datetime(times[keep], unit="s"), "y": y[keep]})
    model = Prophet(interval_width=width, **{k: v for k, v in params.items() if k not in ("fit_timeout", "grid_points")})
    model.fit(frame)
    grid_step = max(step, span / params["grid_points"])
    grid = times[-1] + grid_step * np.arange(int(np.ceil(span / grid_step)) + 1)
    forecast = model.predict(pd.DataFrame({"ds": pd.to_datetime(grid, unit="s")}))
    return (float(grid[0]), float(grid_step), forecast["yhat"].to_numpy(), forecast["yhat_lower"].to_numpy(),
            forecast["yhat_upper"].to_numpy())


class ProphetModel(FittedModel):
    def __init__(self, t0, grid_step, yhat, lower, upper):
        self.t0, self.grid_step = t0, grid_step  # (S,) grid start and spacing per series
        self.yhat, self.lower, self.upper = yhat, lower, upper  # (S, G)

    @property
    def n_series(self) -> int:
        return self.yhat.shape[0]

    def predict(self, t: float) -> Band:
        idx = np.rint((t - self.t0) / self.grid_step)
        valid = (idx >= 0) & (idx < self.yhat.shape[1])
        safe = np.where(valid, idx, 0).astype(np.int64)
        rows = np.arange(self.n_series)
        pick = lambda a: np.where(valid, a[rows, safe], np.nan)  # noqa: E731
        return Band(pick(self.yhat), pick(self.lower), pick(self.upper))

    def take(self, rows: np.ndarray) -> ProphetModel:
        return ProphetModel(self.t0[rows], self.grid_step[rows], self.yhat[rows], self.lower[rows], self.upper[rows])

    @classmethod
    def concat(cls, parts: Sequence[ProphetModel]) -> ProphetModel:
        width = max(p.yhat.shape[1] for p in parts)

        def pad(a):
            return np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=np.nan)

        return ProphetModel(np.concatenate([p.t0 for p in parts]), np.concatenate([p.grid_step for p in parts]),
                            *(np.concatenate([pad(getattr(p, n)) for p in parts]) for n in ("yhat", "lower", "upper")))


class ProphetSpec(ModelSpec[ProphetParams]):
    name = "prophet"
    params_class = ProphetParams
    vectorised = False  # one fit per series, already spread over the executor

    def unusable(self, history: float) -> list[str]:
        """Prophet's `auto` seasonalities are left out of a fit whose data spans less than two periods."""
        found = list[str]()
        for name, period, enough in (("daily", 86400.0, "3d"), ("weekly", 7 * 86400.0, "15d"),
                                     ("yearly", 365 * 86400.0, "740d")):
            if getattr(self.params, f"{name}_seasonality") == "auto" and history < 2 * period:
                found.append(f"Prophet's {name} seasonality ({name}_seasonality: auto) is never fitted: history "
                             f"{format_duration(history)} spans less than the two periods auto needs; for series with "
                             f"that pattern set history: {enough} (Prometheus must retain it), or {name}_seasonality: "
                             f"false to say it is not wanted")
        return found

    def fit(self, times: np.ndarray, values: np.ndarray, ctx: FitContext) -> FitResult:
        params = self.params.model_dump()
        executor = ctx.executor or InlineFitExecutor()
        n = values.shape[0]
        grid = self.params.grid_points + 1
        t0, steps = np.full(n, np.inf), np.ones(n)
        bands = [np.full((n, grid), np.nan) for _ in range(3)]
        ok = np.zeros(n, dtype=bool)
        failures: dict[str, int] = {}
        rows = [i for i in range(n) if np.isfinite(values[i]).sum() >= 2]
        if len(rows) < n:
            failures["no_data"] = n - len(rows)
        tasks = [(times, values[i], params, ctx.interval_width, ctx.forecast_span, ctx.step) for i in rows]
        for i, result in zip(rows, executor.map(fit_one_series, tasks, self.params.fit_timeout)):
            if isinstance(result, TaskFailure):
                failures[result.reason] = failures.get(result.reason, 0) + 1
                continue
            t0[i], steps[i] = result[0], result[1]
            for band, column in zip(bands, result[2:]):
                band[i, : len(column)] = column[:grid]
            ok[i] = True
        return FitResult(ProphetModel(t0, steps, *bands), ok, failures)
