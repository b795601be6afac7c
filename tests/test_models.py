import time

import numpy as np
import pytest

from exporter.executor import LocalFitExecutor, TaskFailure
from exporter.models import REGISTRY, FitContext, make_model
from exporter.models._arrays import nanmedian, nanquantile, weighted_quantile
from exporter.models.seasonal import SeasonalParams
from exporter.scoring import anomaly_score

STEP = 300.0
CTX = FitContext(interval_width=0.95, step=STEP, forecast_span=7200.0)


def seasonal_batch(n_series=5, days=7, noise=1.0, seed=0):
    times = np.arange(0, days * 86400, STEP, dtype=float)
    rng = np.random.default_rng(seed)
    base = 50 + 20 * np.sin(2 * np.pi * times / 86400)
    values = base[None, :] + rng.normal(0, noise, (n_series, len(times)))
    return times, values


def truth(t):
    return 50 + 20 * np.sin(2 * np.pi * t / 86400)


@pytest.mark.parametrize("name", ["seasonal", "zscore"])
def test_fast_models_return_a_band_around_yhat_for_every_series(name):
    times, values = seasonal_batch()
    fit = make_model(name).fit(times, values, CTX)
    assert fit.ok.all() and fit.model.n_series == 5
    band = fit.model.predict(times[-1] + STEP)
    assert np.all(band.lower < band.yhat) and np.all(band.yhat < band.upper)


def test_the_seasonal_model_follows_the_daily_shape_and_its_band_covers_about_its_width():
    times, values = seasonal_batch(n_series=50, days=14, noise=2.0, seed=3)
    train = times < 7 * 86400
    fit = make_model("seasonal").fit(times[train], values[:, train], FitContext(0.999, STEP, 7200.0))
    inside = []
    for col in np.flatnonzero(~train):
        band = fit.model.predict(times[col])
        assert np.allclose(band.yhat, truth(times[col]), atol=4)
        inside.append((values[:, col] >= band.lower) & (values[:, col] <= band.upper))
        fit.model.update(times[col], values[:, col])
    coverage = np.mean(inside)
    assert 0.99 <= coverage <= 1.0, coverage


def test_a_single_spike_does_not_drag_the_level_but_a_sustained_shift_becomes_the_new_level():
    times, values = seasonal_batch(n_series=1)
    model = make_model("seasonal").fit(times, values, CTX).model
    t = times[-1] + STEP
    before = model.predict(t).yhat[0]
    model.update(t, np.array([truth(t) + 1000.0]))  # one spike, clipped to the band
    assert abs(model.predict(t).yhat[0] - before) < 1.0
    model.update(t + STEP, np.array([truth(t + STEP)]))
    for k in range(2, 4):  # 10 minutes (two 5-minute samples) 15 above normal: shift_after is 10m
        tk = t + k * STEP
        model.update(tk, np.array([truth(tk) + 15.0]))
    later = t + 4 * STEP
    assert abs(model.predict(later).yhat[0] - (truth(later) + 15.0)) < 2.0


def scores_of(model, t, ys):
    """Band scores of ys at successive steps after t (scored against the band before each update)."""
    scores = []
    for y in ys:
        t += STEP
        scores.append(float(anomaly_score(np.array([truth(t) + y]), model.predict(t))[0]))
        model.update(t, np.array([truth(t) + y]))
    return scores, t


def test_a_burst_adopted_as_a_level_pages_once_and_its_end_restores_the_prior_level_without_paging():
    times, values = seasonal_batch(n_series=1, seed=2)
    model = make_model("seasonal").fit(times, values, CTX).model
    burst, t = scores_of(model, times[-1], [40.0] * 6)  # 30 minutes far above: adopted after 10 minutes
    assert min(burst[:2]) > 1 and max(burst[2:]) < 1
    after, t = scores_of(model, t, [0.0] * 3)  # the burst ends: back at the prior level
    assert max(after) < 1  # without probation the return would page as a shift downwards
    assert abs(model.predict(t + STEP).yhat[0] - truth(t + STEP)) < 2.0
    assert model.predict(t + STEP).lower[0] > truth(t + STEP) - 10  # the band is symmetric again


def test_a_shift_that_lasts_beyond_the_probation_is_the_new_level_and_a_fall_back_then_pages():
    times, values = seasonal_batch(n_series=1, seed=2)
    model = make_model("seasonal").fit(times, values, CTX).model
    probation_steps = int(model.probation / STEP)
    _, t = scores_of(model, times[-1], [40.0] * (probation_steps + 4))
    back, _ = scores_of(model, t, [0.0] * 2)
    assert min(back) > 1


def test_a_spike_leaves_no_sustained_score_behind_it():
    times, values = seasonal_batch(n_series=1, noise=1.0, seed=4)
    model = make_model("seasonal").fit(times, values, FitContext(0.999, STEP, 7200.0)).model
    t = times[-1]
    for y in (60.0, 60.0):  # two samples far outside the band (not yet a shift)
        t += STEP
        model.update(t, np.array([truth(t) + y]))
    extras = []
    for _ in range(6):  # then slightly above yhat, as noise is
        t += STEP
        model.update(t, np.array([model.predict(t).yhat[0] + 0.5]))
        extras.append(float(model.extra_score("both")[0]))
    assert max(extras) < 1


def test_a_burst_that_a_refit_catches_in_progress_leaves_no_sustained_score_behind_it():
    times, values = seasonal_batch(n_series=1, noise=1.0, seed=4)
    values = values.copy()
    values[0, -2:] += 60.0  # far outside the band online; the refit's band, calibrated with it, takes it in
    model = make_model("seasonal").fit(times, values, FitContext(0.999, STEP, 7200.0)).model
    t, extras = times[-1], []
    for _ in range(6):  # then slightly above yhat, as noise is
        t += STEP
        model.update(t, np.array([model.predict(t).yhat[0] + 0.5]))
        extras.append(float(model.extra_score("both")[0]))
    assert max(extras) < 1


def test_a_burst_of_moderate_deviations_scores_above_one_when_density_is_on_but_yhat_still_scores_zero():
    from exporter.models import REGISTRY

    times, values = seasonal_batch(n_series=1, noise=1.0, seed=5)
    params = REGISTRY["seasonal"].params_class(density=True)
    ctx = FitContext(0.999, STEP, 7200.0)
    model = make_model("seasonal", params).fit(times, values, ctx).model
    t = times[-1]
    extras = []
    for k in range(1, 13):  # every other sample at 70% of the band: never outside it, but far too often
        t += STEP
        band = model.predict(t)
        y = band.yhat + (0.7 * (band.upper - band.yhat) if k % 2 else 0.0)
        model.update(t, y)
        extras.append(float(model.extra_score("both")[0]))
    assert max(extras) > 1
    assert extras[-1] == 0.0  # the last sample sat at yhat


def test_a_sustained_deviation_inside_the_band_pages_then_becomes_the_new_level_while_yhat_scores_zero():
    ctx = FitContext(0.999, STEP, 7200.0)
    times, values = seasonal_batch(n_series=1, noise=1.0, seed=7)
    model = make_model("seasonal").fit(times, values, ctx).model
    t, band_scores, sustained = times[-1], [], []
    for _ in range(12):  # an hour at 60% of the band above yhat: no single sample is outside it
        t += STEP
        band = model.predict(t)
        y = band.yhat + 0.6 * (band.upper - band.yhat)
        band_scores.append(float(anomaly_score(y, band)[0]))
        model.update(t, y)
        sustained.append(float(model.extra_score("both")[0]))
    assert max(band_scores) < 1 < max(sustained)
    assert model.extra_score("down")[0] == 0.0  # it is a deviation upwards
    paging = [i for i, score in enumerate(sustained) if score >= 1]
    assert paging[-1] - paging[0] < 6  # after shift_after (10 minutes) the new level is the normal one
    t += STEP
    model.update(t, model.predict(t).yhat)
    assert model.extra_score("both")[0] == 0.0  # a sample at yhat scores 0


def test_the_sustained_score_stays_quiet_on_noise_like_its_history():
    ctx = FitContext(0.999, STEP, 7200.0)
    times, values = seasonal_batch(n_series=40, days=9, noise=2.0, seed=11)
    train = times < 7 * 86400
    model = make_model("seasonal").fit(times[train], values[:, train], ctx).model
    above = []
    for col in np.flatnonzero(~train):
        model.update(times[col], values[:, col])
        above.append(model.extra_score("both") >= 1)
    assert np.mean(above) < 0.002  # the band's own rate at interval_width 0.999 is 0.001


def test_on_an_hourly_series_the_sustained_score_still_averages_enough_samples_to_page_on_a_lasting_deviation():
    hour = 3600.0
    times = np.arange(0, 60 * 86400, hour)
    values = 50 + np.random.default_rng(5).normal(0, 1.0, (1, len(times)))

    def sustained_over_half_a_day(params):
        model = make_model("seasonal", params).fit(times, values, FitContext(0.999, hour, 7200.0)).model
        t, scores = times[-1], []
        for _ in range(12):  # 12 hours at 60% of the band: no sample is outside it
            t += hour
            band = model.predict(t)
            model.update(t, band.yhat + 0.6 * (band.upper - band.yhat))
            scores.append(float(model.extra_score("both")[0]))
        return scores

    assert max(sustained_over_half_a_day(SeasonalParams())) > 1  # the 1h half-life covers 12 steps
    # a half-life of one hour taken literally is a mean of about two samples, whose calibrated limit
    # is as wide as the band's: the lasting deviation would never page
    assert max(sustained_over_half_a_day(SeasonalParams(sustained_min_steps=1))) < 1


def test_the_weighted_quantile_is_the_smallest_value_with_at_most_the_tail_weight_above_it():
    rng = np.random.default_rng(2)
    values = np.abs(rng.standard_t(3, (6, 2016)))
    values[1, :300] = np.nan
    values[2] = np.nan
    weights = 0.5 ** (np.arange(2016)[::-1] / 864)
    got = weighted_quantile(values, weights, 0.999)
    for row in (0, 1, 3):
        finite = np.isfinite(values[row])
        v, w = values[row][finite], weights[finite]
        order = np.argsort(-v)
        above = np.cumsum(w[order]) - w[order]  # weight ranked above each value
        assert got[row] == v[order][(above <= 0.001 * w.sum()).sum() - 1]
    assert got[2] == 0.0  # a row without samples
    equal = weighted_quantile(values[:1], np.ones(2016), 0.999)[0]
    assert equal == np.sort(values[0])[-3]  # equal weights: 2 of 2,016 samples may lie above it


@pytest.mark.parametrize("shape,axis", [((40, 1441), 1), ((7, 599), 1), ((30, 48, 5), 2), ((3, 0), 1), ((5, 12, 2), 1)])
def test_the_gap_tolerant_median_and_quantile_equal_numpys_to_the_bit(shape, axis):
    import warnings

    rng = np.random.default_rng(sum(shape))
    values = np.round(rng.standard_t(3, shape) * 100, 1)  # ties, as in quantised metrics
    values[rng.random(shape) < 0.3] = np.nan  # gaps
    if values.size:
        values[0] = np.nan  # a series without samples
        values.flat[1] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = [np.nanmedian(values, axis=axis)] + [np.nanquantile(values, q, axis=axis)
                                                        for q in (0.0, 0.3, 0.5, 0.99, 0.9995, 1.0)]
    got = [nanmedian(values, axis)] + [nanquantile(values, q, axis) for q in (0.0, 0.3, 0.5, 0.99, 0.9995, 1.0)]
    for want, have in zip(expected, got):
        assert np.array_equal(want, have, equal_nan=True)


def test_an_episode_a_week_old_no_longer_sets_the_band_while_the_same_episode_yesterday_does():
    times = np.arange(0, 7 * 86400, STEP)
    values = 50 + np.random.default_rng(9).normal(0, 1.0, (3, len(times)))
    values[0, len(times) - 288:len(times) - 285] += 12  # a quarter of an hour at +12 sigma, a day before the end
    values[1, 12:15] += 12  # the same, seven days before the end; row 2 is noise only
    ctx = FitContext(0.999, STEP, 7200.0)
    k = make_model("seasonal").fit(times, values, ctx).model.k
    assert k[0] > 2 * k[2]  # yesterday's episode sets the band
    assert k[1] < 1.3 * k[2]  # a week-old one weighs a fifth: the noise sets it again
    k_flat = make_model("seasonal", SeasonalParams(calibration_half_life=0)).fit(times, values, ctx).model.k
    assert k_flat[1] > 2 * k_flat[2]  # with all history weighing the same, the old episode sets it too


def test_a_refit_after_a_level_shift_centres_the_band_on_the_new_level():
    times, values = seasonal_batch(n_series=1)
    values[:, -24:] += 15  # the last two hours sit 15 higher: most of the level's window (level_half_life 3h)
    model = make_model("seasonal").fit(times, values, CTX).model
    t = times[-1] + STEP
    assert abs(model.predict(t).yhat[0] - (truth(t) + 15)) < 3


def hours_missing(times, first_hour, last_hour, days):
    """Mask of the columns between first_hour and last_hour (time of day) on the given days."""
    hour, day = (times % 86400) / 3600, times // 86400
    return (hour >= first_hour) & (hour < last_hour) & np.isin(day, days)


def test_a_time_of_day_that_history_never_saw_is_predicted_from_the_nearest_times_not_the_overall_median():
    times, values = seasonal_batch(n_series=3, days=7, noise=1.0, seed=5)
    values[:, hours_missing(times, 9, 10.5, range(7))] = np.nan  # a scrape gap at the same hours every day
    t = 7 * 86400 + 9.75 * 3600  # the middle of the gap, the next day
    widened = make_model("seasonal").fit(times, values, CTX).model
    assert np.allclose(widened.predict(t).yhat, truth(t), atol=4)  # the median of 9:00 and 10:30's neighbours
    unwidened = make_model("seasonal", SeasonalParams(widen_slots=False)).fit(times, values, CTX).model
    assert np.all(np.abs(unwidened.predict(t).yhat - truth(t)) > 10)  # the overall median, not the time of day


def test_hours_that_history_holds_once_get_a_band_as_wide_as_the_others():
    times, values = seasonal_batch(n_series=200, days=5, noise=1.0, seed=6)
    values[:, hours_missing(times, 12, 16, [0, 1])] = np.nan  # days 0 and 1 lost those hours; day 2 has them
    history = times < 3 * 86400
    ctx = FitContext(0.999, STEP, 7200.0)

    def outside_share(params):
        model = make_model("seasonal", params).fit(times[history], values[:, history], ctx).model
        outside = []
        for col in np.flatnonzero(hours_missing(times, 12, 16, [3])):
            band = model.predict(times[col])
            outside.append((values[:, col] < band.lower) | (values[:, col] > band.upper))
            model.update(times[col], values[:, col])
        return np.mean(outside)

    # the band promises 0.1%; the other hours of the day give 0.2-0.3% here
    assert outside_share(SeasonalParams(min_periods=2)) <= 0.015
    assert outside_share(SeasonalParams(min_periods=2, widen_slots=False)) >= 0.04  # 3 samples per slot: too narrow


def mean_error_over_the_next_day(params, times, values):
    model = make_model("seasonal", params).fit(times, values, CTX).model
    next_day = times[-1] + STEP * np.arange(1, 289)
    return np.mean([np.abs(model.predict(t).yhat - truth(t)) for t in next_day])


def test_a_noisy_profile_on_a_short_history_rests_on_enough_samples_per_slot():
    times, values = seasonal_batch(n_series=40, days=4, noise=5.0, seed=9)  # 12 samples per slot with neighbours
    pooled = mean_error_over_the_next_day(SeasonalParams(), times, values)
    narrow = mean_error_over_the_next_day(SeasonalParams(min_slot_samples=0), times, values)
    assert pooled < 0.8 * narrow


def test_a_daily_job_of_a_few_minutes_keeps_its_narrow_profile_and_is_not_paged_every_day():
    times, values = seasonal_batch(n_series=20, days=4, noise=2.0, seed=10)
    job = ((times % 86400) >= 3 * 3600) & ((times % 86400) < 3 * 3600 + 900)  # 15 minutes from 03:00, daily
    values[:, job] += 60
    model = make_model("seasonal").fit(times, values, CTX).model
    t = 4 * 86400 + 3 * 3600 + 300  # the job's next run
    band = model.predict(t)
    assert np.all(np.abs(band.yhat - (truth(t) + 60)) < 5)
    assert np.all(anomaly_score(truth(t) + 60, band) < 1)


def test_a_coarse_series_whose_pattern_changes_from_one_slot_to_the_next_keeps_it_unblurred():
    step = 1800.0  # half-hourly demand: the rush hour is one slot above its neighbours
    times = np.arange(0, 14 * 86400, step)
    rush = ((times % 86400) >= 8 * 3600) & ((times % 86400) < 8 * 3600 + step)
    daily = 30 * np.sin(2 * np.pi * times / 86400)
    values = 100 + daily + 60 * rush + np.random.default_rng(14).normal(0, 2.0, (10, len(times)))
    ctx = FitContext(interval_width=0.95, step=step, forecast_span=7200.0)
    t = 14 * 86400 + 8 * 3600  # the next rush hour
    sharp = make_model("seasonal").fit(times, values, ctx).model.predict(t).yhat
    smoothed = make_model("seasonal", SeasonalParams(sharpen_slots=False)).fit(times, values, ctx).model.predict(t).yhat
    expected = 160 + 30 * np.sin(2 * np.pi * t / 86400)
    assert np.all(np.abs(sharp - expected) < 3)  # each slot its own samples' median
    assert np.all(np.abs(smoothed - expected) > 30)  # the median of the rush hour and its two quiet neighbours


def test_a_series_seen_for_less_than_min_periods_is_a_level_however_long_the_history_of_its_query():
    times, values = seasonal_batch(n_series=2, days=15, noise=0.5, seed=13)
    values[1, times < 13 * 86400] = np.nan  # the second series appeared two days ago
    model = make_model("seasonal").fit(times, values, CTX).model
    assert list(model.profile_period) == [86400.0, 0.0]


def test_widening_a_pool_in_chunks_of_bounded_memory_gives_the_same_medians(monkeypatch):
    from exporter.models import seasonal

    rng = np.random.default_rng(8)
    grid = rng.normal(size=(40, 48, 3))
    grid[rng.random(grid.shape) < 0.8] = np.nan  # most slots hold fewer than the 6 samples needed
    whole = seasonal.pooled_median(grid, 1, needed=6, max_width=6)
    monkeypatch.setattr(seasonal, "WIDEN_BUDGET", 500)  # a few rows per chunk
    chunked = seasonal.pooled_median(grid, 1, needed=6, max_width=6)
    assert np.array_equal(whole[1], chunked[1]) and np.allclose(whole[0], chunked[0], equal_nan=True)
    assert (whole[1] >= 6).mean() > (seasonal.pooled_median(grid, 1)[1] >= 6).mean()


def test_a_pool_widened_for_min_slot_samples_reaches_no_further_than_its_reach_but_a_gap_still_does():
    from exporter.models import seasonal

    grid = np.random.default_rng(12).normal(size=(3, 48, 2))  # two samples per slot: the gap rule needs none wider
    median, count = seasonal.pooled_median(grid, 1, needed=6, max_width=6, least=30, reach=4)
    assert np.all(count == 2 * 9)  # 1, 2, 4 slots either side; 8 would reach 30 samples but lies beyond reach
    assert np.allclose(median[:, 20], np.median(grid[:, 16:25].reshape(3, -1), axis=1))
    assert np.all(seasonal.pooled_median(grid, 1, needed=6, max_width=6, least=30, reach=8)[1] == 2 * 17)
    grid[:, 10:30] = np.nan  # a gap: its middle slots widen as far as the gap rule lets them, beyond the reach
    _, count = seasonal.pooled_median(grid, 1, needed=6, max_width=12, least=30, reach=4)
    assert count[0, 20] >= 6


@pytest.mark.parametrize("name", ["seasonal", "zscore"])
def test_the_band_of_a_varying_series_does_not_depend_on_where_it_sits(name):
    times, values = seasonal_batch(n_series=2, days=7, noise=1.0, seed=9)
    shifted = values + 5e6  # the same series offset by five million (bytes, a timestamp, kelvins)
    t = times[-1] + STEP
    near, far = (make_model(name).fit(times, v, CTX).model.predict(t) for v in (values, shifted))
    assert np.allclose(far.upper - far.yhat, near.upper - near.yhat, rtol=1e-6)


def test_a_constant_series_still_gets_a_band_from_its_level():
    times = np.arange(0, 7 * 86400, STEP, dtype=float)
    band = make_model("seasonal").fit(times, np.full((1, len(times)), 5.0), CTX).model.predict(times[-1] + STEP)
    assert band.upper[0] - band.yhat[0] >= 0.001 * 5.0


def test_take_and_concat_keep_each_series_its_own_state():
    times, values = seasonal_batch(n_series=4)
    values[2] += 100
    for name in ("seasonal", "zscore"):
        model = make_model(name).fit(times, values, CTX).model
        t = times[-1] + STEP
        full = model.predict(t).yhat
        parts = type(model).concat([model.take(np.array([2, 3])), model.take(np.array([0, 1]))])
        assert np.allclose(parts.predict(t).yhat, full[[2, 3, 0, 1]])


def test_the_zscore_model_flags_a_spike_on_a_flat_noisy_series():
    rng = np.random.default_rng(1)
    times = np.arange(0, 86400, 60.0)
    values = 10 + rng.normal(0, 0.5, (1, len(times)))
    model = make_model("zscore").fit(times, values, FitContext(0.95, 60.0, 3600.0)).model
    band = model.predict(times[-1] + 60)
    assert anomaly_score(np.array([10.2]), band)[0] < 1
    assert anomaly_score(np.array([20.0]), band)[0] > 5


def test_a_series_without_any_sample_fails_its_fit_with_a_reason_and_the_others_succeed():
    times, values = seasonal_batch(n_series=3)
    values[1] = np.nan
    for name in ("seasonal", "zscore"):
        fit = make_model(name).fit(times, values, CTX)
        assert list(fit.ok) == [True, False, True]
        assert fit.failures == {"no_data": 1}


def test_prophet_fits_in_worker_processes_and_precomputes_the_forecast_band():
    times = np.arange(0, 3 * 86400, 1800.0)
    values = (50 + 20 * np.sin(2 * np.pi * times / 86400))[None, :].repeat(2, axis=0)
    values[1] += 100
    executor = LocalFitExecutor(workers=2)
    try:
        spec = make_model("prophet", REGISTRY["prophet"].params_class(uncertainty_samples=50, grid_points=50))
        fit = spec.fit(times, values, FitContext(0.95, 1800.0, 6 * 3600.0, executor=executor))
    finally:
        executor.close()
    assert fit.ok.all(), fit.failures
    t = times[-1] + 3 * 3600
    band = fit.model.predict(t)
    assert np.allclose(band.yhat, truth(t) + np.array([0, 100]), atol=5)
    assert np.all(band.lower < band.yhat) and np.all(band.yhat < band.upper)
    assert np.isnan(fit.model.predict(t + 86400).yhat).all()  # beyond the precomputed span


def _sleep_then_return(seconds):
    time.sleep(seconds)
    return seconds


def test_a_fit_that_exceeds_its_timeout_is_killed_and_reported_while_the_others_finish():
    executor = LocalFitExecutor(workers=2)
    try:
        results = executor.map(_sleep_then_return, [(0.0,), (30.0,), (0.1,)], timeout=3.0)
    finally:
        executor.close()
    assert results[0] == 0.0 and results[2] == 0.1
    assert isinstance(results[1], TaskFailure) and results[1].reason == "timeout"


@pytest.mark.parametrize("noise", ["gaussian", "autocorrelated"])
def test_on_noise_the_default_pages_no_more_than_its_band_promises(noise):
    """Band, sustained and roughness scores together, with shifts adopted after shift_after (two samples at this
    step): on noise like the history's, pages stay within the band's own rate (1 - interval_width)."""
    rng = np.random.default_rng(21)
    n, days = 100, 10
    times = np.arange(0, days * 86400, STEP, dtype=float)
    shocks = rng.normal(0, 1, (n, len(times)))
    if noise == "autocorrelated":  # AR(1): successive samples lean the same way, as real gauges do
        for col in range(1, len(times)):
            shocks[:, col] += 0.8 * shocks[:, col - 1]
    values = 50 + shocks
    train = times < 7 * 86400
    ctx = FitContext(0.9995, STEP, 7200.0)
    model = make_model("seasonal").fit(times[train], values[:, train], ctx).model
    pages = 0
    for col in np.flatnonzero(~train):
        band = anomaly_score(values[:, col], model.predict(times[col]))
        model.update(times[col], values[:, col])
        pages += int((np.fmax(band, model.extra_score("both")) >= 1).sum())
    assert pages / (n * int((~train).sum())) <= 1 - ctx.interval_width
