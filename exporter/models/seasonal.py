"""`seasonal`: a robust seasonal profile, vectorised over all series of a query (the default).

Fit, per series:
- the period (default one day) is cut into slots; the profile is the median of
  the history samples in each slot and its neighbours. A slot that history's gaps
  left with fewer samples than two periods give it is pooled wider, from the
  nearest times of the period (`widen_slots`), rather than resting on one or two
  samples or, with none, on the series' overall median. Where slots hold fewer than
  `min_slot_samples`, a profile pooled until they do (within half an hour of a day) is
  also judged on held-out periods and taken where it predicts them better (steadier on
  short, noisy histories; a sharp pattern keeps its narrow slots), and then its scale is
  pooled until each slot holds as many too. The profile is kept
  only where it pays (it must cut the residual scale by `min_seasonal_gain`, also
  on periods it was not estimated from: two folds of alternate periods);
  otherwise the series is modelled as a level, which suits most infrastructure
  metrics that are not seasonal at all. A longer period (a week) is tried once the
  history covers `min_long_periods` of it (two: the held-out check needs two) and kept
  where it cuts the residual scale of the shorter choice by the same gain;
- the scale is a robust sigma of the residuals (per slot when seasonal; a long period's per slot
  of the week or of the day, whichever predicts held-out weeks better), floored
  so that quantised or nearly flat series do not get a zero-width band;
- the band's half-width in sigmas is calibrated: the larger of the normal
  quantile for `interval_width` and the empirical `interval_width` quantile of
  the history's own standardised residuals (plus `calibration_margin`), so
  heavy-tailed series get the wider band they need and 1 stays rare. Each
  residual weighs less the older it is (`calibration_half_life`), so one large
  episode a week ago does not set the band for every episode after it.

Online, a level offset follows the residuals, each clipped to the band so a
spike does not drag it; when samples fall outside the band on one side for
`shift_after` (at least one sample) the offset jumps to their mean, so a
sustained level shift pages for that long and then becomes the new normal.
For `shift_probation` after such a shift the band also reaches the prior
level's band on its side: a return to the prior level ends the episode
(the prior level is restored, nothing scores) instead of paging as a shift
the other way. A burst adopted as a level and then over costs one page, not two.

A sustained score (exponentially weighted mean of the standardised residuals
inside the band, one per `sustained` half-life of at least `sustained_min_steps`
steps, so on a coarse series it still averages several samples; calibrated on the history
replayed through the same online level; a burst that arrived outside the band just before
a refit stays out of its starting state) catches deviations that stay inside
the band but last; it is published through extra_score() and counts towards
`shift_after` too. Samples outside the band do not feed it: the band scores
them, and a run of them is a shift, so a spike does not leave a sustained
score behind it.

A roughness score catches a series that turns rougher than it has been while each sample stays inside
the band: the median of the last `roughness_samples` absolute differences between successive samples,
in units of (1 + `roughness_margin`) times the highest such median the series reached before those
samples (in its history, and in every earlier fit of it: the reference is carried across refits by
the engine, so it remembers the series' whole past, not only the history window). It is published
through extra_score() on the side of the current sample's residual, capped at ROUGHNESS_CAP, never
counts towards `shift_after`, and pages nothing until the series has been seen for `min_periods`
periods (3 days by default; also carried across refits): a shorter past has not shown how rough
the series' busiest hours normally are.

Volatility (off by default; an exponentially weighted mean of squared standardised
residuals) widens the band while it exceeds the most the history's own replay reached, so
the rest of a burst wilder than history is scored against a wider band; it narrows back
with the same half-life.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from aiops_common.durations import Duration, PositiveDuration, format_duration

from ._arrays import (
    MAD_TO_SIGMA,
    calibrated_k,
    fill_nan,
    level_floor,
    nanmedian,
    ongoing_episode_as_one,
    robust_sigma,
    weighted_quantile,
    window_median,
)
from .base import Band, FitContext, FitResult, FittedModel, ModelParams, ModelSpec, concat_arrays, z_for_width

VOLATILITY_CAP = 3.0  # a sample counts towards volatility as at most this many band half-widths
ROUGHNESS_FLOOR = 0.5  # the roughness reference is at least this many sigmas of the residual scale
# The roughness score pages (it passes 1) but never outranks a large deviation: how much rougher than ever a series
# is says less than how far it is from its level, and a cause's neighbours often turn rough when it fails.
ROUGHNESS_CAP = 1.5
# At a refit, samples this many (longest) sustained half-lives back are checked against the band they arrived under.
SUSTAINED_RECHECK_HALF_LIVES = 3
# A slot pooled from fewer samples than this many periods give it is pooled wider (`widen_slots`), up to
# 1/MAX_WIDEN_SHARE of the period either side; the arrays a widening pools hold at most WIDEN_BUDGET values.
MIN_SLOT_PERIODS = 2
MAX_WIDEN_SHARE = 8
# A profile's slot pooled for `min_slot_samples` reaches at most this share of `period` either side (30 minutes of
# a day): further, a pool blurs the pattern itself (the ramp of business hours) more than it steadies the median.
# Its scale, which changes slowly over the day, reaches as far as a gap's widening (MAX_WIDEN_SHARE).
MIN_SLOT_SAMPLES_REACH_SHARE = 48
# A profile is taken unsmoothed (`sharpen_slots`) where its held-out mean absolute residual is at least this share
# smaller so: a margin, so that a series whose two profiles predict alike keeps the default's steadier one.
SHARPER_GAIN = 0.01
WIDEN_BUDGET = 4_000_000
AT_YHAT = 1e-9  # |residual| / scale below this is a sample at yhat (rounding), which scores 0


class SeasonalParams(ModelParams):
    period: PositiveDuration = 86400.0
    long_period: Duration = 7 * 86400.0  # also tried where history covers min_long_periods of it; 0: only `period`
    slots: int | None = Field(default=None, ge=1, le=10080)  # default: period/step, at most 288
    seasonality: Literal["auto", "on", "off"] = "auto"
    min_seasonal_gain: float = Field(default=0.2, ge=0, lt=1)  # profile must cut the residual scale this much
    min_periods: float = Field(default=3, ge=0)  # history (in periods) a series needs before "auto" uses a profile
    min_long_periods: float = Field(default=2, ge=0)  # history (in long periods) before the long period is tried
    level_half_life: PositiveDuration = 3 * 3600.0
    smooth_slots: int = Field(default=1, ge=0, le=50)  # neighbours each side pooled into profile and scale
    sharpen_slots: bool = True  # a profile unsmoothed where held-out periods say it predicts SHARPER_GAIN better
    widen_slots: bool = True  # a slot with fewer samples than two periods give it is pooled wider
    min_slot_samples: int = Field(default=30, ge=0)  # slots pooled to this many samples where held-out periods agree
    scale_floor: float = Field(default=0.25, ge=0, le=1)  # slot scale >= this x the series' overall scale
    relative_scale_floor: float = Field(default=0.001, ge=0)  # a constant history's scale: this x |typical level|
    calibrate: bool = True
    calibration_margin: float = Field(default=0.1, ge=0)
    calibration_half_life: Duration = 3 * 86400.0  # history's weight in the band's quantile halves with this age
    shift_after: Duration = 600.0  # a shift outside the band this long becomes the new level; 0 disables
    shift_probation: Duration = 3 * 3600.0  # after a shift, a return to the old level this soon is no anomaly
    density: bool = False  # also score bursts of moderate deviations (distribution shifts); see docs
    density_level: float = Field(default=0.5, gt=0, le=1)  # a "moderate" deviation: beyond this share of the band
    density_half_life: PositiveDuration = 3600.0
    density_min_count: float = Field(default=3.0, ge=1)
    sustained: list[PositiveDuration] = Field(default_factory=lambda: [3600.0], max_length=4)  # EWMA half-lives
    sustained_margin: float = Field(default=0.5, ge=0)  # the sustained limits' calibration margin
    sustained_min_steps: float = Field(default=12, ge=1)  # each half-life covers at least this many steps
    volatility_half_life: Duration = 0.0  # > 0: the band widens after bursts beyond history's (off by default)
    roughness_samples: int = Field(default=16, ge=0, le=288)  # differences in the roughness median; 0: off
    roughness_margin: float = Field(default=0.75, ge=0)  # roughness pages at (1 + this) x the highest before

    @model_validator(mode="after")
    def _long_period_is_a_multiple(self) -> SeasonalParams:
        if self.long_period and (self.long_period <= self.period or self.long_period % self.period):
            raise ValueError("long_period: must be 0 or a multiple of period longer than it")
        return self


class SeasonalModel(FittedModel):
    def __init__(self, profile, scale, k, offset, last_t, run, run_sum, base_up, base_down, rate_up, rate_down,
                 sustained=None, sustained_k=None, vol=None, vol_ref=None, prior_offset=None, probation_until=None,
                 last_y=None, diffs=None, rough_recent=None, rough_ref=None, rough_pos=None, rough_since=None,
                 profile_period=None, *, period, slot_width, half_life, shift_samples, density: DensitySettings | None, z_width,
                 sustained_alpha=(), vol_alpha=0.0, probation=0.0, rough_margin=0.0, rough_span=0.0):
        self.profile = profile  # (S, slots) median per slot
        self.scale = scale  # (S, slots) sigma per slot
        self.k = k  # (S,) band half-width in sigmas
        self.offset = offset  # (S,) online level offset
        self.last_t = last_t  # (S,) time of the last update
        self.run = run  # (S,) consecutive samples outside the band: + above, - below
        self.run_sum = run_sum  # (S,) sum of those samples' residuals
        self.base_up, self.base_down = base_up, base_down  # (S,) history's rate of moderate deviations
        self.rate_up, self.rate_down = rate_up, rate_down  # (S,) recent (exponentially weighted) rate
        self.period, self.slot_width, self.half_life = period, slot_width, half_life
        self.shift_samples, self.density, self.z_width = shift_samples, density, z_width
        n = len(offset)
        self.sustained = np.zeros((n, 0)) if sustained is None else sustained  # (S, H) EWMA of resid / scale
        self.sustained_k = np.zeros((n, 0)) if sustained_k is None else sustained_k  # (S, H) calibrated limit
        self.sustained_alpha = tuple(sustained_alpha)
        self.vol = np.zeros(n) if vol is None else vol  # (S,) EWMA of squared standardised residuals
        self.vol_ref = np.ones(n) if vol_ref is None else vol_ref  # (S,) the most of it history reached
        self.vol_alpha = vol_alpha  # weight of each sample in vol (0: the band never widens)
        self.prior_offset = np.full(n, np.nan) if prior_offset is None else prior_offset  # (S,) level before a shift
        self.probation_until = np.full(n, -np.inf) if probation_until is None else probation_until  # (S,) its end
        self.probation = probation  # seconds after a shift during which a return to the prior level reverts it
        self.last_y = np.full(n, np.nan) if last_y is None else last_y  # (S,) the last sample seen
        self.diffs = np.zeros((n, 0)) if diffs is None else diffs  # (S, W) the last W absolute differences
        self.rough_recent = np.zeros((n, 0)) if rough_recent is None else rough_recent  # (S, W) their medians
        self.rough_ref = np.full(n, np.nan) if rough_ref is None else rough_ref  # (S,) highest median before those
        self.rough_pos = np.zeros(n, dtype=np.int64) if rough_pos is None else rough_pos  # (S,) both rings' oldest
        self.rough_margin = rough_margin
        self.rough_since = np.full(n, np.inf) if rough_since is None else rough_since  # (S,) its first sample seen
        self.rough_span = rough_span  # how long a series must have been seen before roughness pages (seconds)
        self.profile_period = np.zeros(n) if profile_period is None else profile_period  # (S,) its profile's period, 0: none
        self.context = np.zeros(n)  # (S,) the context score after the last update
        self.context_up = self.context_down = self.context
        self.level_up = self.level_down = self.context  # the part of it that counts towards shift_after

    ARRAYS = ("profile", "scale", "k", "offset", "last_t", "run", "run_sum", "base_up", "base_down", "rate_up",
              "rate_down", "sustained", "sustained_k", "vol", "vol_ref", "prior_offset", "probation_until", "last_y",
              "diffs", "rough_recent", "rough_ref", "rough_pos", "rough_since", "profile_period")

    @property
    def has_context(self) -> bool:
        return self.density is not None or bool(self.sustained_alpha) or self.has_roughness

    @property
    def has_roughness(self) -> bool:
        return self.diffs.shape[1] > 0

    @property
    def n_series(self) -> int:
        return self.profile.shape[0]

    def _slot(self, t: float) -> int:
        return int((t % self.period) // self.slot_width) % self.profile.shape[1]

    def widening(self) -> np.ndarray:
        """(S,) factor >= 1 on the band: how far recent volatility exceeds the most history had."""
        if not self.vol_alpha:
            return np.ones(len(self.vol))
        return np.sqrt(np.maximum(self.vol / self.vol_ref, 1.0))

    def _half(self, slot: int) -> np.ndarray:
        """(S,) band half-width at a slot (widened by volatility when that is on)."""
        half = self.k * self.scale[:, slot]
        return half * self.widening() if self.vol_alpha else half

    def _on_probation(self, t: float) -> np.ndarray | None:
        """(S,) series within `probation` of a level shift, None when there is none."""
        if not self.probation:
            return None
        on = self.probation_until >= t
        return on if on.any() else None

    def _reach(self, half: np.ndarray, on_probation: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(S,) distances from yhat to the band's upper and lower edges: half, or on probation after a shift,
        as far as the prior level's band on its side (a return to it ends an episode, it does not start one)."""
        if on_probation is None:
            return half, half
        gap = np.where(on_probation, self.prior_offset - self.offset, 0.0)
        return np.maximum(half, gap + half), np.maximum(half, half - gap)

    def predict(self, t: float) -> Band:
        slot = self._slot(t)
        yhat = self.profile[:, slot] + self.offset
        up, down = self._reach(self._half(slot), self._on_probation(t))
        return Band(yhat, yhat - down, yhat + up)

    def _revert(self, rows: np.ndarray) -> None:
        """Back at the prior level (inside its band, nearer it than the current level) while on probation: the shift
        was an episode, and the prior level returns."""
        self.offset = np.where(rows, self.prior_offset, self.offset)
        self.sustained = np.where(rows[:, None], 0.0, self.sustained)
        self.run, self.run_sum = np.where(rows, 0, self.run), np.where(rows, 0.0, self.run_sum)
        self.probation_until = np.where(rows, -np.inf, self.probation_until)

    def update(self, t: float, y: np.ndarray) -> None:
        slot = self._slot(t)
        seen = np.isfinite(y)
        if not seen.any():
            return
        half = self._half(slot)
        deseasoned = y - self.profile[:, slot]
        on_probation = self._on_probation(t)
        if on_probation is not None:
            with np.errstate(invalid="ignore"):  # inside the prior level's band and nearer it than the current one
                from_prior = np.abs(deseasoned - self.prior_offset)
                reverted = on_probation & (from_prior <= half) & (from_prior < np.abs(deseasoned - self.offset))
            if reverted.any():
                self._revert(reverted)
                on_probation &= ~reverted
        reach_up, reach_down = self._reach(half, on_probation)
        resid = np.where(seen, deseasoned - self.offset, 0.0)
        if self.vol_alpha:
            self.vol = np.where(seen, (1 - self.vol_alpha) * self.vol
                                + self.vol_alpha * volatility_sample(resid, self.scale[:, slot], self.k), self.vol)
        if self.has_context:
            self._update_context(t, seen, y, resid, half, self.scale[:, slot])
        above, below = seen & (resid > reach_up), seen & (resid < -reach_down)
        if self.sustained_alpha:  # a sustained deviation pages like one outside the band, then becomes the level
            above, below = above | (self.level_up >= 1), below | (self.level_down >= 1)
        continuing = (above & (self.run > 0)) | (below & (self.run < 0))
        run = np.where(above, np.where(continuing, self.run + 1, 1), np.where(below, np.where(continuing, self.run - 1, -1), 0))
        run = np.where(seen, run, self.run)
        run_sum = np.where(above | below, np.where(continuing, self.run_sum + resid, resid), 0.0)
        run_sum = np.where(seen, run_sum, self.run_sum)
        alpha = 1.0 - 0.5 ** (np.maximum(t - self.last_t, 0.0) / self.half_life)
        follow = self.offset + np.where(seen, alpha * np.clip(resid, -half, half), 0.0)
        shifted = (np.abs(run) >= self.shift_samples) if self.shift_samples else np.zeros_like(seen)
        if self.probation and shifted.any():  # the level before an episode's first shift, kept for `probation`
            first = shifted & (self.probation_until < t)
            self.prior_offset = np.where(first, self.offset, self.prior_offset)
            self.probation_until = np.where(shifted, t + self.probation, self.probation_until)
        self.offset = np.where(shifted, self.offset + run_sum / np.maximum(np.abs(run), 1), follow)
        if self.sustained_alpha:  # the new level is the new normal: nothing sustained relative to it yet
            self.sustained = np.where(shifted[:, None], 0.0, self.sustained)
        self.run = np.where(shifted, 0, run)
        self.run_sum = np.where(shifted, 0.0, run_sum)
        self.last_t = np.where(seen, t, self.last_t)

    def _update_context(self, t: float, seen: np.ndarray, y: np.ndarray, resid: np.ndarray, half: np.ndarray,
                        scale: np.ndarray) -> None:
        up = down = np.zeros(len(seen))
        if self.density is not None:
            d = self.density
            moderate = d.level * half
            is_up, is_down = seen & (resid > moderate), seen & (resid < -moderate)
            self.rate_up = np.where(seen, (1 - d.alpha) * self.rate_up + d.alpha * is_up, self.rate_up)
            self.rate_down = np.where(seen, (1 - d.alpha) * self.rate_down + d.alpha * is_down, self.rate_down)
            up, down = self._density_score(is_up, is_down)
        if self.sustained_alpha:
            s_up, s_down = self._sustained_score(seen, resid, half, scale)
            up, down = np.fmax(up, s_up), np.fmax(down, s_down)
        self.level_up, self.level_down = np.where(seen, up, 0.0), np.where(seen, down, 0.0)  # count towards a shift
        if self.has_roughness:  # roughness pages, but a rough series has not moved: it never re-centres the level
            r_up, r_down = self._roughness_score(t, seen, y, resid, scale)
            up, down = np.fmax(up, r_up), np.fmax(down, r_down)
        self.context_up, self.context_down = np.where(seen, up, 0.0), np.where(seen, down, 0.0)
        self.context = np.fmax(self.context_up, self.context_down)

    def _sustained_score(self, seen, resid, half, scale) -> tuple[np.ndarray, np.ndarray]:
        """How far the recent mean residual is beyond what history's means reached, in band units.

        One exponentially weighted mean per half-life, each calibrated on the
        history like the band (its `interval_width` quantile, plus the margin).
        Only a sample that itself deviates the same way carries the score, so
        yhat still scores 0.
        """
        alpha = np.asarray(self.sustained_alpha)
        standardised = resid / scale
        feed = seen & (np.abs(resid) <= half)  # a sample outside the band is the band's to score, not a trend
        self.sustained = np.where(feed[:, None], (1 - alpha) * self.sustained + alpha * standardised[:, None],
                                  self.sustained)
        z = (self.sustained / self.sustained_k).max(axis=1, initial=0.0)
        z_down = (-self.sustained / self.sustained_k).max(axis=1, initial=0.0)
        up = np.where(seen & (standardised > AT_YHAT), np.maximum(z, 0.0), 0.0)
        down = np.where(seen & (standardised < -AT_YHAT), np.maximum(z_down, 0.0), 0.0)
        return up, down

    def _roughness_score(self, t, seen, y, resid, scale) -> tuple[np.ndarray, np.ndarray]:
        """The median of the last W absolute differences against (1 + margin) x the highest it was before them.

        Each new difference enters the window, and the median leaving the window of
        medians enters the reference. 0 until the series has a reference and has been seen for
        rough_span (a reference from a day or two has not met the series' roughest normal hours);
        carried on the side of the current sample's residual (so yhat still scores 0).
        """
        diff = np.abs(y - self.last_y)
        push = seen & np.isfinite(diff)
        self.last_y = np.where(seen, y, self.last_y)
        pushed = np.flatnonzero(push)
        if not len(pushed):
            return np.zeros(len(seen)), np.zeros(len(seen))
        rows: np.ndarray | slice = pushed
        oldest = self.rough_pos[pushed]  # both rings are written in place at each row's oldest entry
        if len(pushed) == len(push) and (oldest == oldest[0]).all():  # the usual step: one column for every row
            rows, oldest = slice(None), oldest[0]
        self.diffs[rows, oldest] = diff[rows]
        rough = window_median(self.diffs)  # the order inside the window does not matter to a median
        self.rough_ref[rows] = np.fmax(self.rough_ref[rows], self.rough_recent[rows, oldest])
        self.rough_recent[rows, oldest] = rough[rows]
        self.rough_pos[rows] = (oldest + 1) % self.diffs.shape[1]
        reference = (1 + self.rough_margin) * np.fmax(self.rough_ref, ROUGHNESS_FLOOR * scale)
        settled = np.isfinite(self.rough_ref) & (t - self.rough_since >= self.rough_span)
        with np.errstate(invalid="ignore"):
            score = np.where(push & np.isfinite(rough) & settled, np.minimum(rough / reference, ROUGHNESS_CAP), 0.0)
            standardised = resid / scale
        return np.where(standardised > AT_YHAT, score, 0.0), np.where(standardised < -AT_YHAT, score, 0.0)

    def profiles(self) -> dict[str, int]:
        lengths, counts = np.unique(self.profile_period, return_counts=True)
        return {format_duration(length) if length else "none": int(count) for length, count in zip(lengths, counts)}

    def carry(self) -> dict[str, np.ndarray]:
        return {"rough_ref": self.rough_ref, "rough_since": self.rough_since} if self.has_roughness else {}

    def inherit(self, carried: dict[str, np.ndarray], rows: np.ndarray) -> None:
        old = carried.get("rough_ref")
        if old is not None and self.has_roughness and len(old):
            known, row = rows >= 0, np.maximum(rows, 0)
            self.rough_ref = np.fmax(self.rough_ref, np.where(known, old[row], np.nan))
            self.rough_since = np.fmin(self.rough_since, np.where(known, carried["rough_since"][row], np.inf))

    def _density_score(self, up: np.ndarray, down: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For a sample that is itself a moderate deviation: how unlikely the recent burst of them is.

        The count over the effective window is compared with the history's
        rate through the variance-stabilised (Anscombe) Poisson statistic, in
        band units: 1 means as unlikely as a sample outside the band. Samples
        nearer yhat than `density_level` of the band get 0, so the score still
        reads 0 at yhat.
        """
        d = self.density
        assert d is not None  # only called when density scoring is on
        scores = []
        for rate, base, current in ((self.rate_up, self.base_up, up), (self.rate_down, self.base_down, down)):
            count, expected = rate * d.samples, base * d.samples
            z = 2 * (np.sqrt(count + 0.375) - np.sqrt(expected + 0.375))
            scores.append(np.where(current & (count >= d.min_count), np.maximum(z, 0) / self.z_width, 0.0))
        return scores[0], scores[1]

    def extra_score(self, direction: str) -> np.ndarray | None:
        if not self.has_context:
            return None
        if direction == "up":
            return self.context_up
        if direction == "down":
            return self.context_down
        return self.context

    def take(self, rows: np.ndarray) -> SeasonalModel:
        return self._like(*(getattr(self, name)[rows] for name in self.ARRAYS))

    def _like(self, *arrays) -> SeasonalModel:
        return SeasonalModel(*arrays, period=self.period, slot_width=self.slot_width, half_life=self.half_life,
                             shift_samples=self.shift_samples, density=self.density, z_width=self.z_width,
                             sustained_alpha=self.sustained_alpha, vol_alpha=self.vol_alpha,
                             probation=self.probation, rough_margin=self.rough_margin, rough_span=self.rough_span)

    def on_period(self, period: float) -> SeasonalModel:
        """This model with its per-slot arrays repeated over a period that is a multiple of its own."""
        if period == self.period:
            return self
        repeat = int(round(period / self.period))
        model = self.take(np.arange(self.n_series))
        model.profile, model.scale = np.tile(self.profile, (1, repeat)), np.tile(self.scale, (1, repeat))
        model.period = period
        return model

    @classmethod
    def concat(cls, parts: Sequence[SeasonalModel]) -> SeasonalModel:
        longest = max(part.period for part in parts)  # a batch that chose the long period: the others repeat
        parts = [part.on_period(longest) for part in parts]
        return parts[0]._like(*concat_arrays(parts, cls.ARRAYS))


def _days(seconds: float) -> str:
    """A duration in whole days as days ("15d", as docs and configs write a history), else the shortest form."""
    return f"{seconds / 86400:g}d" if seconds >= 86400 and seconds % 86400 == 0 else format_duration(seconds)


class _Period:
    """A seasonality period cut into slots of one width, and the slot of each history column."""

    def __init__(self, length: float, n_slots: int, times: np.ndarray, slot_width: float):
        self.length, self.n_slots = length, n_slots
        self.slot_of_column = ((times % length) // slot_width).astype(np.int64) % n_slots
        self.fold_of_column = (times // length).astype(np.int64) % 2  # alternate periods, for cross-validation

    def tile(self, per_slot: np.ndarray, shorter: _Period) -> np.ndarray:
        """(S, shorter's slots) values repeated over this (a multiple) period's slots."""
        return np.tile(per_slot, (1, self.n_slots // shorter.n_slots)) if per_slot.shape[1] != self.n_slots \
            else per_slot


@dataclass(frozen=True)
class DensitySettings:
    level: float  # share of the band that makes a deviation "moderate"
    alpha: float  # weight of each new sample in the recent rate
    min_count: float

    @property
    def samples(self) -> float:
        """Effective number of samples the exponentially weighted rate averages over."""
        return (2 - self.alpha) / self.alpha


def slot_grid(values: np.ndarray, slot_of_column: np.ndarray, n_slots: int) -> np.ndarray:
    """Rearrange (S, T) values into (S, slots, k): the k samples of each slot, NaN-padded."""
    order = np.argsort(slot_of_column, kind="stable")
    sorted_slots = slot_of_column[order]
    counts = np.bincount(sorted_slots, minlength=n_slots)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(order)) - starts[sorted_slots]
    grid = np.full((values.shape[0], n_slots, max(int(counts.max(initial=0)), 1)), np.nan)
    grid[:, sorted_slots, rank] = values[:, order]
    return grid


def pooled_median(grid: np.ndarray, width: int, needed: int = 0, max_width: int = 0, least: int = 0, reach: int = 0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(S, slots) median of each slot's samples and its `width` neighbours' either side, and how many there are.

    A slot whose pool holds fewer than `needed` samples (history has gaps at that time of the period) is
    pooled wider, doubling the width up to `max_width`, so that its value rests on as many samples as a
    regular history gives it, taken from the nearest times of the period; and so is one whose pool holds
    fewer than `least` (`min_slot_samples`), up to `reach`. Each slot's width is found from the counts
    first, so a median is taken once per slot, at its width.
    """
    n_slots, depth = grid.shape[1], grid.shape[2]
    counts = np.isfinite(grid).sum(axis=2)
    chosen = pool_widths(counts, width, needed, max_width)
    if least:
        chosen = np.maximum(chosen, pool_widths(counts, width, least, reach))
    median, count = np.full(chosen.shape, np.nan), np.zeros(chosen.shape, dtype=np.int64)
    at_width = chosen == width
    rows = np.flatnonzero(at_width.any(axis=1))
    if len(rows):  # all slots of these rows at once, as cheap as the slots that need it
        pooled = pool_neighbours(grid[rows], width)
        median[rows], count[rows] = nanmedian(pooled, axis=2), np.isfinite(pooled).sum(axis=2)
    for wider in np.unique(chosen[~at_width]):
        rows, slots = np.nonzero(chosen == wider)
        around = np.arange(-wider, wider + 1)
        per_chunk = max(1, WIDEN_BUDGET // (len(around) * depth))  # bounded memory
        for lo in range(0, len(rows), per_chunk):
            r, c = rows[lo:lo + per_chunk], slots[lo:lo + per_chunk]
            pooled = grid[r[:, None], (c[:, None] + around) % n_slots].reshape(len(r), -1)
            median[r, c], count[r, c] = nanmedian(pooled, axis=1), np.isfinite(pooled).sum(axis=1)
    return median, count


def pool_widths(counts: np.ndarray, width: int, needed: int, max_width: int) -> np.ndarray:
    """(S, slots) the width each slot is pooled at: `width`, doubled while the pool holds fewer than `needed`
    of the slots' `counts` (S, slots), up to `max_width`."""
    chosen = np.full(counts.shape, width, dtype=np.int64)
    short = pooled_counts(counts, width) < needed
    while short.any() and width < max_width:
        width = min(2 * width if width else 1, max_width)
        chosen[short] = width
        short &= pooled_counts(counts, width) < needed
    return chosen


def pooled_counts(counts: np.ndarray, width: int) -> np.ndarray:
    """(S, slots) how many samples each slot's pool of `width` neighbours either side holds (circular: a pool
    longer than the period holds some slots more than once, as pool_neighbours does). Cumulative sums, so
    the cost does not grow with the width."""
    n = counts.shape[1]
    whole, part = divmod(2 * width + 1, n)
    doubled = np.concatenate([np.zeros((counts.shape[0], 1), dtype=counts.dtype), counts, counts], axis=1).cumsum(axis=1)
    start = (np.arange(n) - width) % n
    return whole * doubled[:, [n]] + doubled[:, start + part] - doubled[:, start]


def pool_neighbours(grid: np.ndarray, width: int) -> np.ndarray:
    """Concatenate each slot's samples with those of `width` slots either side (circular)."""
    if width == 0:
        return grid
    return np.concatenate([np.roll(grid, shift, axis=1) for shift in range(-width, width + 1)], axis=2)


def ewma_columns(values: np.ndarray, alpha: float) -> np.ndarray:
    """Exponentially weighted mean along each row, starting from 0; NaNs leave it unchanged."""
    padded = np.concatenate([np.zeros((values.shape[0], 1)), values], axis=1)  # the online state starts at 0
    mean = pd.DataFrame(padded.T).ewm(alpha=alpha, adjust=False, ignore_na=True).mean().to_numpy().T
    return np.ascontiguousarray(mean[:, 1:])


def online_residuals(resid: np.ndarray, half: np.ndarray, step: float, level_half_life: float) -> np.ndarray:
    """The history's residuals as update() sees them: less the online level, which follows them clipped to the band."""
    level = ewma_columns(np.clip(resid, -half, half), 1 - 0.5 ** (step / level_half_life))
    return resid - np.concatenate([np.zeros((resid.shape[0], 1)), level[:, :-1]], axis=1)


def volatility_sample(resid: np.ndarray, scale: np.ndarray, k: np.ndarray) -> np.ndarray:
    """One sample's contribution to the volatility: its squared residual in sigmas, capped at VOLATILITY_CAP bands."""
    return np.minimum(np.abs(resid) / scale, VOLATILITY_CAP * k) ** 2


def volatility_state(resid: np.ndarray, scale: np.ndarray, k: np.ndarray, alpha: float, width: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The volatility's reference (its `width` quantile over the history, at least 1) and its state at the end."""
    mean = ewma_columns(volatility_sample(resid, scale, k[:, None]), alpha)
    reference = np.fmax(calibrated_k(mean, width), 1.0)
    return reference, (mean[:, -1] if mean.shape[1] else np.zeros(len(k)))


def sustained_state(resid: np.ndarray, scale: np.ndarray, k: np.ndarray, alphas: tuple[float, ...], width: float,
                    margin: float, unfed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The sustained scores' calibrated limits (S, H) and their state at the end of history, in sigmas.

    The limit for each half-life is the `width` quantile of the history's own
    |EWMA| in sigmas (times the margin), never below the normal-theory value
    for an EWMA of independent residuals, so a smooth history cannot make it
    trigger-happy. `unfed` (S, T): samples left out of the end state as well
    (those that arrived outside the band; see SeasonalSpec._arrived_outside).
    """
    n = resid.shape[0]
    limits, state = np.zeros((n, len(alphas))), np.zeros((n, len(alphas)))
    z_width = z_for_width(width)
    inside = np.abs(resid / scale) <= k[:, None]
    standardised = np.where(inside, resid / scale, np.nan)  # as online: a sample outside the band does not feed it
    fed = None  # rows with samples left out, and their standardised residuals without them
    if unfed is not None and unfed.any():
        unfed_rows = np.flatnonzero(unfed.any(axis=1))
        fed = np.where(unfed[unfed_rows], np.nan, standardised[unfed_rows])
    for i, alpha in enumerate(alphas):
        mean = ewma_columns(standardised, alpha)
        empirical = calibrated_k(np.abs(mean), width) * margin
        limits[:, i] = np.fmax(empirical, z_width * np.sqrt(alpha / (2 - alpha)))
        state[:, i] = mean[:, -1] if mean.shape[1] else 0.0
        if fed is not None:
            state[unfed_rows, i] = ewma_columns(fed, alpha)[:, -1]
    return limits, state


def first_seen(times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(S,) time of each row's first finite sample (inf where there is none)."""
    finite = np.isfinite(values)
    return np.where(finite.any(axis=1), times[np.argmax(finite, axis=1)] if len(times) else np.inf, np.inf)


def roughness_state(values: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """From history (S, T): the roughness reference (S,), the last w differences (S, w), the medians of the
    windows ending at the last w samples (S, w) and the last sample (S,).

    The reference is the highest median over windows of w differences taken every w/2 samples, before the
    last w samples (their windows are the ones online scoring still holds).
    """
    n, t = values.shape
    filled = pd.DataFrame(values.T).ffill().to_numpy().T if t else values
    before = np.concatenate([np.full((n, 1), np.nan), filled[:, :-1]], axis=1)
    with np.errstate(invalid="ignore"):
        diffs = np.where(np.isfinite(values), np.abs(values - before), np.nan)
    padded = np.concatenate([np.full((n, 2 * w), np.nan), diffs], axis=1)
    reference = np.full(n, np.nan)
    older = diffs[:, :max(t - w, 0)]
    for start in (0, w // 2):
        blocks = (older.shape[1] - start) // w
        if blocks > 0:
            medians = window_median(older[:, start:start + blocks * w].reshape(n, blocks, w))
            reference = np.fmax(reference, np.fmax.reduce(medians, axis=1))  # NaN only where every window is
    recent = np.lib.stride_tricks.sliding_window_view(padded[:, -(2 * w - 1):], w, axis=1)
    last = filled[:, -1] if t else np.full(n, np.nan)
    return reference, np.ascontiguousarray(padded[:, -w:]), window_median(recent), last


class WidePool(NamedTuple):
    """A profile's pool widened until each slot holds `samples`, reaching at most `reach` slots either side."""
    samples: int
    reach: int

    def halved(self) -> WidePool:
        """The same pool for a fold of half the periods."""
        return WidePool(self.samples // 2, self.reach)


class SeasonalSpec(ModelSpec[SeasonalParams]):
    name = "seasonal"
    params_class = SeasonalParams

    def n_slots(self, step: float) -> int:
        if self.params.slots is not None:
            return self.params.slots
        return int(max(1, min(288, round(self.params.period / step))))

    def unusable(self, history: float) -> list[str]:
        p, found = self.params, list[str]()
        if p.seasonality == "off":
            return found
        for name, length, needed, off in (("period", p.period, p.min_periods, "seasonality: off"),
                                          ("long_period", p.long_period, p.min_long_periods, "long_period: 0")):
            if length and history < needed * length:
                enough = _days(needed * length + p.period)  # and a period to spare: retention is not exact
                found.append(f"the {format_duration(length)} profile ({name}) is never tried: history "
                             f"{_days(history)} holds less than {needed:g} x {format_duration(length)} "
                             f"(min_{name}s); for series with that pattern set history: {enough} (Prometheus must "
                             f"retain it), or {off} to say it is not wanted")
        return found

    def _band(self, resid: np.ndarray, use: np.ndarray, period: _Period, short: _Period,
              overall: np.ndarray, width: float, weights: np.ndarray | None, wide: np.ndarray,
              samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scale (S, slots) and band half-width in sigmas k (S,) of residuals; `samples` (S, slots, at least 1): the
        profile's samples per slot, for which each slot's scale allows (the profile's own error).

        `period` is the profile's; `short` the shortest period. For a long period's profile the residual scale is
        taken per slot of the week or per slot of the day (pooling the seven days), whichever predicts the
        residuals of held-out weeks better: a slot of the week holds a sample or two per week of history, and a
        scale from so few residuals swings from slot to slot, so that the calibration widens the whole band to
        cover the lowest; with many weeks of history and noise that differs by day (busy weekend nights), the
        week's own slots are the better scale. `wide` (S,): rows whose profile is pooled to `min_slot_samples`;
        their scale is too, reaching as far as a gap's widening."""
        pool = self._wide_pool(short, MAX_WIDEN_SHARE)
        slot_abs, _ = self._pooled_rows(slot_grid(np.abs(resid), period.slot_of_column, period.n_slots), wide, pool)
        scale, k = self._scale_and_k(resid, use, period, slot_abs, samples, overall, width, weights)
        by_day = use & self._day_scale_predicts_better(resid, period, short, scale.min(axis=1)) \
            if short is not period and use.any() else np.zeros(len(use), dtype=bool)
        if by_day.any():  # the day's scale, computed only where held-out weeks prefer it
            daily_abs, _ = self._pooled_rows(slot_grid(np.abs(resid), short.slot_of_column, short.n_slots), wide,
                                             pool)
            pooled_scale, pooled_k = self._scale_and_k(resid, use, period, period.tile(daily_abs, short), samples,
                                                       overall, width, weights)
            scale, k = np.where(by_day[:, None], pooled_scale, scale), np.where(by_day, pooled_k, k)
        return scale, k

    def _day_scale_predicts_better(self, resid: np.ndarray, period: _Period, short: _Period, floor: np.ndarray
                                   ) -> np.ndarray:
        """(S,) whether a scale per slot of the day, taken from alternate weeks, fits the other weeks' residuals
        better than a scale per slot of the week (Laplace log-likelihood, both folds, as the profile itself is
        judged): held out, a scale from a slot's few residuals pays only where the noise really differs by day."""
        cost = np.zeros((2, len(resid)))
        floor = np.maximum(fill_nan(floor, 0.0), 1e-12)[:, None]
        for fold in (0, 1):
            train, test = period.fold_of_column != fold, period.fold_of_column == fold
            if not train.any() or not test.any():
                return np.zeros(len(resid), dtype=bool)
            held_out = np.abs(resid[:, test])
            for i, slots in enumerate((period, short)):
                train_abs, _ = self._pooled(slot_grid(np.abs(resid[:, train]), slots.slot_of_column[train],
                                                      slots.n_slots))
                sigma = np.maximum(fill_nan(MAD_TO_SIGMA * period.tile(train_abs, slots), floor), floor)
                sigma = sigma[:, period.slot_of_column[test]]
                cost[i] += np.nansum(np.where(np.isfinite(held_out), np.log(sigma) + held_out / sigma, 0.0), axis=1)
        return cost[1] < cost[0]

    def _scale_and_k(self, resid: np.ndarray, use: np.ndarray, period: _Period, slot_abs: np.ndarray,
                     samples: np.ndarray, overall: np.ndarray, width: float, weights: np.ndarray | None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Scale (S, slots) from each slot's median absolute residual, floored, and its calibrated k (S,)."""
        p = self.params
        overall_sigma = robust_sigma(resid)
        slot_sigma = MAD_TO_SIGMA * slot_abs * np.sqrt(1 + np.pi / 2 / samples)  # and the profile's own error
        floor = level_floor(overall_sigma, overall, p.relative_scale_floor)
        overall_sigma = np.maximum(fill_nan(overall_sigma, 0.0), floor)
        slot_floor = np.maximum(p.scale_floor * overall_sigma, floor)[:, None]
        scale = np.where(use[:, None], np.maximum(fill_nan(slot_sigma, slot_floor), slot_floor),
                         overall_sigma[:, None])
        k = np.full(len(overall), z_for_width(width))
        if p.calibrate and resid.shape[1] > 1:
            # an episode still going on when the history ends counts once, like a spike: at a refit (or a start)
            # in the middle of an incident its latest samples, the most weighted of all, would otherwise set the band
            z = np.abs(resid) / scale[:, period.slot_of_column]
            k = self._calibrated_k(ongoing_episode_as_one(z, z_for_width(width)), weights, width)
        return scale, k

    def _calibrated_k(self, z: np.ndarray, weights: np.ndarray | None, width: float) -> np.ndarray:
        """(S,) the band's half-width in sigmas from standardised residuals |z| (S, T): their (age-weighted)
        `width` quantile plus the margin, never below the normal quantile."""
        quantile = calibrated_k(z, width) if weights is None else weighted_quantile(z, weights, width)
        return np.fmax(z_for_width(width), quantile * (1 + self.params.calibration_margin))

    def _arrived_outside(self, resid: np.ndarray, online_resid: np.ndarray, scale: np.ndarray,
                         weights: np.ndarray | None, width: float, recent: int) -> np.ndarray | None:
        """(S, T): the samples of the last `recent` columns beyond the band that the history without them gives.

        Online, a sample outside the band does not feed the sustained score. A refit calibrates the band
        with the newest samples in it (a fresh episode sets the band), so replaying the history through
        the new band would feed a burst that arrived just before the refit, and leave behind it a
        sustained score that online scoring never had. The band without the recent samples is about the
        one they arrived under. None when no row has a recent sample beyond the normal quantile, or when the
        history is no longer than `recent` (no band without them to compare with).
        """
        if resid.shape[1] <= recent or not self.params.calibrate:
            return None  # without calibration the band is the normal quantile, which already leaves them out
        normal = z_for_width(width)
        z_online = np.abs(online_resid[:, -recent:]) / scale[:, -recent:]
        rows = np.flatnonzero((z_online > normal).any(axis=1))
        if not len(rows):
            return None
        z = np.abs(resid[rows]) / scale[rows]
        z[:, -recent:] = np.nan
        before = self._calibrated_k(z, weights, width)
        unfed = np.zeros(resid.shape, dtype=bool)
        unfed[rows, -recent:] = z_online[rows] > before[:, None]
        return unfed

    def _periods(self, times: np.ndarray, slot_width: float) -> list[_Period]:
        """The candidate periods: `period`, and `long_period` when the history covers min_long_periods of it."""
        p = self.params
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        lengths = [p.period]
        if p.long_period and p.seasonality != "off" and span >= p.min_long_periods * p.long_period:
            lengths.append(p.long_period)
        return [_Period(length, int(round(length / slot_width)), times, slot_width) for length in lengths]

    def _choose(self, values: np.ndarray, overall: np.ndarray, periods: list[_Period], seen: np.ndarray
                ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray], np.ndarray]:
        """Per series, which profile to use (0: none, i: periods[i - 1]), each period's profile (S, slots) and
        the samples each of its slots was pooled from (S, slots), and whether the chosen profile is pooled wide
        (`min_slot_samples`, see _pool_choice).

        A longer period is taken only where it cuts the residual scale of the best shorter choice
        by `min_seasonal_gain` (and the series has been seen, in history, for `min_long_periods` of it,
        `min_periods` for `period`: `seen` (S,) seconds): its profile rests on fewer samples per slot, so it
        must pay for that. A series seen for less is not pooled at all (a new series in a long history would
        otherwise widen nearly every slot of the week as far as a gap's widening reaches).
        """
        p = self.params
        choice = np.zeros(len(overall), dtype=np.int64)
        wide = np.zeros(len(overall), dtype=bool)
        best = robust_sigma(values - overall[:, None])
        pool = self._wide_pool(periods[0], MIN_SLOT_SAMPLES_REACH_SHARE)
        profiles, counts = [], []
        for i, period in enumerate(periods if p.seasonality != "off" else [], start=1):
            needed = p.min_periods if period.length == p.period else p.min_long_periods
            on = p.seasonality == "on" and i == 1
            eligible = np.ones(len(overall), dtype=bool) if on else seen >= needed * period.length
            profile, samples = self._eligible_profile(values, overall, period, eligible)
            profiles.append(profile)
            counts.append(samples)
            # A profile must cut the scale in-sample (cheap) and then on held-out periods (the real test).
            sigma = best.copy()
            sigma[eligible] = robust_sigma(values[eligible] - profile[eligible][:, period.slot_of_column])
            better = (sigma <= (1 - p.min_seasonal_gain) * best) & eligible
            period_wide = np.zeros(len(overall), dtype=bool)
            sharp = np.zeros(0, dtype=np.int64)  # rows whose profile is taken unsmoothed (sharpen_slots)
            if better.any() and p.seasonality == "auto":
                rows = np.flatnonzero(better)
                short = samples[rows].min(axis=1) < pool.samples  # the rest would pool no wider
                sigma[rows], period_wide[rows], held_out = self._pool_choice(values[rows], overall[rows], period, short,
                                                                             pool)
                better &= sigma <= (1 - p.min_seasonal_gain) * best
                narrow = better[rows] & ~period_wide[rows]
                if p.sharpen_slots and p.smooth_slots and held_out is not None and narrow.any():
                    rows = rows[narrow]
                    sharp = rows[self._sharper(values[rows], overall[rows], period, held_out[narrow])]
            if period_wide.any():
                profile[period_wide], samples[period_wide] = self._profile(
                    values[period_wide], period.slot_of_column, period.n_slots, overall[period_wide], pool=pool)
            if len(sharp):
                profile[sharp], samples[sharp] = self._profile(
                    values[sharp], period.slot_of_column, period.n_slots, overall[sharp], width=0)
            if on:
                better = np.ones(len(overall), dtype=bool)
            choice = np.where(better, i, choice)
            wide = np.where(better, period_wide, wide)
            best = np.where(better, sigma, best)
        return choice, profiles, counts, wide

    def _sharper(self, values: np.ndarray, overall: np.ndarray, period: _Period, smooth: np.ndarray) -> np.ndarray:
        """(S,) whether each series' profile predicts its held-out periods better unsmoothed, each slot its own
        samples' median, than its smoothed one did (`smooth` (S, T): those held-out residuals, from _pool_choice), by
        SHARPER_GAIN of the mean absolute residual: smoothing over `smooth_slots` neighbours steadies a profile of few
        samples per slot, but blurs a pattern that changes from one slot to the next (a coarse series' rush hour: at a
        30-minute step the neighbours are half an hour away)."""
        sharp = self._held_out_residuals(values, overall, period, width=0)
        assert sharp is not None  # the same periods as `smooth`
        with np.errstate(invalid="ignore"):
            return np.nanmean(np.abs(sharp), axis=1) < (1 - SHARPER_GAIN) * np.nanmean(np.abs(smooth), axis=1)

    def _eligible_profile(self, values: np.ndarray, overall: np.ndarray, period: _Period, eligible: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
        """(S, slots) the period's profile and its samples per pooled slot, for the `eligible` rows (S,); the
        overall median and no samples for the rest."""
        profile = np.repeat(overall[:, None], period.n_slots, axis=1)
        samples = np.zeros(profile.shape, dtype=np.int64)
        if eligible.any():
            profile[eligible], samples[eligible] = self._profile(values[eligible], period.slot_of_column,
                                                                 period.n_slots, overall[eligible])
        return profile, samples

    def _pool_choice(self, values: np.ndarray, overall: np.ndarray, period: _Period, short: np.ndarray,
                     pool: WidePool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(S,) held-out residual scale of the period's profile, (S,) whether it is pooled wide, and (S, T) the
        held-out residuals of the pooling taken (None with one period).

        A profile's slot is a median of its samples and its neighbours'. On a short or sparse history a slot
        holds few samples and its median swings; pooled until it holds `min_slot_samples` (from the nearest
        times of the period, at most `pool.reach` slots either side) it is steadier, but flattens a pattern that
        changes quickly within the period (a daily job's spike of a few minutes). Each series whose slots fall
        `short` (S,) of that many samples takes the pooling whose held-out residuals are smaller on average: a
        mean, not a robust scale, so that missing a short daily spike counts against the wide pool."""
        resid = self._held_out_residuals(values, overall, period)
        wide = np.zeros(len(values), dtype=bool)
        if resid is None:
            return np.full(len(values), np.inf), wide, None  # one period: no profile can be judged
        if pool.samples and pool.reach > self.params.smooth_slots and self.params.widen_slots and short.any():
            wide_resid = self._held_out_residuals(values[short], overall[short], period, pool.halved())
            assert wide_resid is not None  # the same periods as `resid`
            with np.errstate(invalid="ignore"):
                wide[short] = np.nanmean(np.abs(wide_resid), axis=1) < np.nanmean(np.abs(resid[short]), axis=1)
            resid[wide] = wide_resid[wide[short]]
        return robust_sigma(resid), wide, resid

    def _profile(self, values: np.ndarray, slot_of_column: np.ndarray, n_slots: int, overall: np.ndarray,
                 widen: bool = True, pool: WidePool | None = None, width: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """(S, slots) median of each slot's samples and its `width` neighbours' each side (`smooth_slots` by default;
        the overall median where a slot has none), and (S, slots) how many samples each pooled."""
        median, count = self._pooled(slot_grid(values, slot_of_column, n_slots), widen, pool, width)
        return fill_nan(median, overall[:, None]), count

    def _pooled(self, grid: np.ndarray, widen: bool = True, pool: WidePool | None = None, width: int | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """pooled_median of a slot grid (S, slots, k) with `width` (`smooth_slots` by default) either side, widened
        (`widen` and `widen_slots`) where a slot holds fewer samples than MIN_SLOT_PERIODS regular periods give it, or
        than `pool` asks for."""
        width = self.params.smooth_slots if width is None else width
        if not (widen and self.params.widen_slots):
            return pooled_median(grid, width)
        return pooled_median(grid, width, MIN_SLOT_PERIODS * (2 * width + 1),
                             max(width, grid.shape[1] // MAX_WIDEN_SHARE), *(pool or (0, 0)))

    def _wide_pool(self, short: _Period, reach_share: int) -> WidePool:
        """The `min_slot_samples` pool, reaching 1/reach_share of the shortest period `short` either side."""
        p = self.params
        return WidePool(p.min_slot_samples, max(p.smooth_slots, short.n_slots // reach_share))

    def _pooled_rows(self, grid: np.ndarray, wide: np.ndarray, pool: WidePool) -> tuple[np.ndarray, np.ndarray]:
        """_pooled, with the rows in `wide` pooled as `pool` asks."""
        if not wide.any():
            return self._pooled(grid)
        pooled, samples = np.zeros(grid.shape[:2]), np.zeros(grid.shape[:2], dtype=np.int64)
        pooled[wide], samples[wide] = self._pooled(grid[wide], pool=pool)
        if not wide.all():
            pooled[~wide], samples[~wide] = self._pooled(grid[~wide])
        return pooled, samples

    def _held_out_residuals(self, values: np.ndarray, overall: np.ndarray, period: _Period,
                            pool: WidePool | None = None, width: int | None = None) -> np.ndarray | None:
        """(S, T) residuals of each period under the profile of the other half of the periods (2-fold, alternate
        periods); None with one period. `pool`: the profile pooled as it asks (see WidePool.halved); `width`: its
        smoothing (`smooth_slots` by default).

        An in-sample profile (a median of few samples per slot) fits its own noise, so it always looks
        better than a level; judged on the other half of the periods it pays only where it predicts.
        """
        resid = np.full(values.shape, np.nan)
        for fold in (0, 1):
            train, test = period.fold_of_column != fold, period.fold_of_column == fold
            if not train.any() or not test.any():
                return None
            # judged as it is estimated on a regular history: a half of the periods would widen every slot
            profile, _ = self._profile(values[:, train], period.slot_of_column[train], period.n_slots, overall,
                                       pool is not None, pool, width)
            resid[:, test] = values[:, test] - profile[:, period.slot_of_column[test]]
        return resid

    def _grouped_band(self, resid: np.ndarray, choice: np.ndarray, periods: list[_Period], grid: _Period,
                      overall: np.ndarray, width: float, weights: np.ndarray | None, wide: np.ndarray,
                      counts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """_band for each group of series sharing a period, laid out on the grid of the longest one chosen;
        `counts`: each period's samples per profile slot (from _choose)."""
        n = len(overall)
        scale, samples, k = np.zeros((n, grid.n_slots)), np.ones((n, grid.n_slots)), np.zeros(n)
        for group in np.unique(choice):
            rows = np.flatnonzero(choice == group)
            period = periods[group - 1] if group else periods[0]
            m = np.maximum(counts[group - 1][rows], 1) if group else np.ones((len(rows), period.n_slots))
            s, kk = self._band(resid[rows], np.full(len(rows), bool(group)), period, periods[0], overall[rows],
                               width, weights, wide[rows], m)
            scale[rows], samples[rows], k[rows] = grid.tile(s, period), grid.tile(m, period), kk
        return scale, k, samples

    def fit(self, times: np.ndarray, values: np.ndarray, ctx: FitContext) -> FitResult:
        p = self.params
        slot_width = p.period / self.n_slots(ctx.step)
        periods = self._periods(times, slot_width)
        overall = nanmedian(values, axis=1)  # (S,)
        choice, profiles, counts, wide = self._choose(values, overall, periods, times[-1] - first_seen(times, values))
        use = choice > 0
        grid = periods[int(choice.max(initial=0)) - 1] if use.any() else periods[0]
        profile = np.repeat(overall[:, None], grid.n_slots, axis=1)
        for i, period in enumerate(periods[:int(choice.max(initial=0))], start=1):
            rows = choice == i
            profile[rows] = grid.tile(profiles[i - 1][rows], period)
        slot_of_column = grid.slot_of_column
        resid = values - profile[:, slot_of_column]

        weights = 0.5 ** ((times[-1] - times) / p.calibration_half_life) if p.calibration_half_life else None
        scale, k, samples = self._grouped_band(resid, choice, periods, grid, overall, ctx.interval_width, weights,
                                               wide, counts)
        online_resid = online_residuals(resid, k[:, None] * scale[:, slot_of_column], ctx.step, p.level_half_life)

        recent = times >= times[-1] - p.level_half_life  # the level restarts at its robust recent value
        offset = fill_nan(nanmedian(resid[:, recent], axis=1), 0.0)
        ok = np.isfinite(overall)
        n = len(overall)
        density = None
        if p.density:
            density = DensitySettings(p.density_level, 1 - 0.5 ** (ctx.step / p.density_half_life), p.density_min_count)
        moderate = p.density_level * k[:, None] * scale[:, slot_of_column]
        floor_rate = 1.0 / max(values.shape[1], 1)
        seen = np.isfinite(resid)
        counted = np.maximum(seen.sum(axis=1), 1)
        base_up = np.maximum(((resid > moderate) & seen).sum(axis=1) / counted, floor_rate)
        base_down = np.maximum(((resid < -moderate) & seen).sum(axis=1) / counted, floor_rate)
        alphas = tuple(1 - 0.5 ** (ctx.step / max(h, p.sustained_min_steps * ctx.step)) for h in p.sustained)
        sustained_k, sustained = np.zeros((n, 0)), np.zeros((n, 0))
        if alphas:
            recheck = int(np.ceil(SUSTAINED_RECHECK_HALF_LIVES * np.log(0.5) / np.log(1 - min(alphas))))  # the longest
            unfed = self._arrived_outside(resid, online_resid, scale[:, slot_of_column], weights, ctx.interval_width,
                                          recheck)
            sustained_k, sustained = sustained_state(online_resid, scale[:, slot_of_column], k, alphas,
                                                     ctx.interval_width, 1 + p.sustained_margin, unfed)
            # a seasonal profile's own error (a median of few samples per slot) is itself sustained: the limit
            # must exceed it (in quadrature), so short seasonal histories rarely trigger the sustained score
            profile_error = np.sqrt(np.pi / 2 / samples).mean(axis=1) * z_for_width(ctx.interval_width)
            sustained_k = np.where(use[:, None], np.hypot(sustained_k, profile_error[:, None]), sustained_k)
        vol_alpha = 1 - 0.5 ** (ctx.step / p.volatility_half_life) if p.volatility_half_life else 0.0
        vol_ref, vol = np.ones(n), np.zeros(n)
        if vol_alpha:
            vol_ref, vol = volatility_state(online_resid, scale[:, slot_of_column], k, vol_alpha, ctx.interval_width)
        rough = roughness_state(values, p.roughness_samples) if p.roughness_samples else (None, None, None, None)
        model = SeasonalModel(profile, scale, k, offset, np.full(n, float(times[-1])), np.zeros(n, dtype=np.int64),
                              np.zeros(n), base_up, base_down, base_up.copy(), base_down.copy(), sustained, sustained_k,
                              vol, vol_ref, None, None, rough[3], rough[1], rough[2], rough[0], None, first_seen(times, values),
                              np.array([0.0] + [period.length for period in periods])[choice],
                              period=grid.length, slot_width=slot_width, half_life=p.level_half_life,
                              shift_samples=int(np.ceil(p.shift_after / ctx.step)) if p.shift_after else 0,
                              density=density, z_width=z_for_width(ctx.interval_width),
                              sustained_alpha=alphas, vol_alpha=vol_alpha,
                              probation=p.shift_probation if p.shift_after else 0.0,
                              rough_margin=p.roughness_margin, rough_span=p.min_periods * p.period)
        return FitResult(model, ok, {"no_data": int((~ok).sum())} if not ok.all() else {})
