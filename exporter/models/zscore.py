"""`zscore`: an online robust level and scale, for series without seasonality.

Fit: level = median of the last `level_half_life` x 2 of history, scale = a
robust sigma of the deviations from it over the last `scale_window` (floored
for quantised or flat series), band half-width calibrated like `seasonal`.
Online: level and variance follow exponentially weighted updates, with each
residual clipped at `clip` sigmas so a spike does not inflate the band.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import Field

from aiops_common.durations import PositiveDuration

from ._arrays import calibrated_k, fill_nan, level_floor, nanmedian, robust_sigma
from .base import Band, FitContext, FitResult, FittedModel, ModelParams, ModelSpec, concat_arrays, z_for_width


class ZScoreParams(ModelParams):
    level_half_life: PositiveDuration = 1800.0
    scale_half_life: PositiveDuration = 6 * 3600.0
    scale_window: PositiveDuration = 86400.0
    clip: float = Field(default=3.0, gt=0)
    calibrate: bool = True  # band half-width >= the interval_width quantile of the history's own |z|
    relative_scale_floor: float = Field(default=0.001, ge=0)  # a constant history's sigma: this x |level|


class ZScoreModel(FittedModel):
    def __init__(self, level, var, last_t, floor, z, *, params: ZScoreParams):
        self.level, self.var, self.last_t, self.floor = level, var, last_t, floor
        self.z, self.p = z, params  # z: (S,) band half-width in sigmas

    ARRAYS = ("level", "var", "last_t", "floor", "z")

    @property
    def n_series(self) -> int:
        return self.level.shape[0]

    def predict(self, t: float) -> Band:
        half = self.z * np.sqrt(self.var)
        return Band(self.level.copy(), self.level - half, self.level + half)

    def update(self, t: float, y: np.ndarray) -> None:
        seen = np.isfinite(y)
        if not seen.any():
            return
        sigma = np.sqrt(self.var)
        resid = np.clip(np.where(seen, y - self.level, 0.0), -self.p.clip * sigma, self.p.clip * sigma)
        dt = np.maximum(t - self.last_t, 0.0)
        a_level = 1.0 - 0.5 ** (dt / self.p.level_half_life)
        a_var = 1.0 - 0.5 ** (dt / self.p.scale_half_life)
        self.level = self.level + np.where(seen, a_level * resid, 0.0)
        self.var = np.maximum(np.where(seen, (1 - a_var) * self.var + a_var * resid**2, self.var), self.floor**2)
        self.last_t = np.where(seen, t, self.last_t)

    def take(self, rows: np.ndarray) -> ZScoreModel:
        return ZScoreModel(*(getattr(self, n)[rows] for n in self.ARRAYS), params=self.p)

    @classmethod
    def concat(cls, parts: Sequence[ZScoreModel]) -> ZScoreModel:
        return ZScoreModel(*concat_arrays(parts, cls.ARRAYS), params=parts[0].p)


class ZScoreSpec(ModelSpec[ZScoreParams]):
    name = "zscore"
    params_class = ZScoreParams

    def fit(self, times: np.ndarray, values: np.ndarray, ctx: FitContext) -> FitResult:
        p = self.params
        end = times[-1]
        level = nanmedian(values[:, times >= end - 2 * p.level_half_life], axis=1)
        overall = nanmedian(values, axis=1)
        level = fill_nan(level, overall)
        window = values[:, times >= end - p.scale_window]
        sigma = robust_sigma(window - level[:, None])
        floor = level_floor(sigma, overall, p.relative_scale_floor)
        sigma = np.maximum(fill_nan(sigma, 0.0), floor)
        z = np.full(len(level), z_for_width(ctx.interval_width))
        if p.calibrate and window.shape[1] > 1:
            z = np.fmax(z, calibrated_k(np.abs(window - level[:, None]) / sigma[:, None], ctx.interval_width))
        ok = np.isfinite(overall)
        model = ZScoreModel(level, sigma**2, np.full(len(level), float(end)), floor, z, params=p)
        return FitResult(model, ok, {"no_data": int((~ok).sum())} if not ok.all() else {})
