"""The default detector's mechanisms and the meaning of its score, through the code path score-csv and the loop use."""

import numpy as np
import pytest

from exporter.backtest import replay
from exporter.config import DEFAULT_HISTORY, DEFAULT_HISTORY_STEPS, DEFAULT_MIN_HISTORY_STEPS, QueryConfig
from exporter.models import FitContext, make_model
from exporter.models.seasonal import SeasonalParams
from exporter.scoring import anomaly_score
from exporter.series import SeriesBatch

HOUR, DAY, WEEK = 3600.0, 86400.0, 7 * 86400.0


def weekly_series(weeks=6, step=HOUR, seed=0):
    """A business-hours series: a daily shape on weekdays, low all weekend (the epoch starts on a Thursday)."""
    times = np.arange(0, weeks * WEEK, step)
    day_of_week = ((times // DAY) + 3) % 7  # 0 = Monday
    daily = 100 + 50 * np.sin(2 * np.pi * times / DAY)
    values = np.where(day_of_week < 5, daily, 20.0) + np.random.default_rng(seed).normal(0, 2, len(times))
    return times, values


def irregular_series(n=2500, seed=1):
    """Road-sensor-like sampling: mostly 5 minutes apart, sometimes 1 or 40, with a few multi-hour gaps."""
    rng = np.random.default_rng(seed)
    gaps = rng.choice([60.0, 300.0, 300.0, 300.0, 2400.0], size=n)
    gaps[rng.choice(n, 5, replace=False)] = 6 * HOUR
    times = np.cumsum(gaps)
    values = 50 + 10 * np.sin(2 * np.pi * times / DAY) + rng.gamma(2.0, 2.0, n)
    values[2000:2004] += 80
    return times, values


def query(**settings) -> QueryConfig:
    return QueryConfig.model_validate({"name": "q", "expr": "x", **settings})


def scores_of(times, values, **settings):
    """What score-csv does: replay through QueryState at the samples' median spacing (unless set)."""
    settings.setdefault("step", float(np.median(np.diff(times))))
    settings.setdefault("retrain_every", "6h")  # fewer refits than live (1h): the same path, a shorter test
    return replay(SeriesBatch([{"__name__": "x"}], times, values[None, :]), query(**settings))


def test_the_default_history_holds_seven_days_or_2016_steps_whichever_is_longer():
    assert query(step=60).history == DEFAULT_HISTORY
    assert query(step=300).history == DEFAULT_HISTORY
    assert query(step=3600).history == DEFAULT_HISTORY_STEPS * 3600
    assert query(step=3600, history="3d").history == 3 * DAY  # an explicit setting is kept


def test_a_new_series_waits_a_tenth_of_history_but_a_coarse_one_not_201_samples():
    assert query(step=60).effective_min_history == 0.1 * DEFAULT_HISTORY  # 16.8 hours, as before
    assert query(step=300).effective_min_history == 0.1 * DEFAULT_HISTORY
    assert query(step=3600).effective_min_history == DEFAULT_MIN_HISTORY_STEPS * 3600  # 2 days, not 8.4
    assert query(step=600).effective_min_history == 0.1 * DEFAULT_HISTORY  # 101 samples, not 201
    assert query(step=60, history="1h").effective_min_history == 600  # at least 10 steps
    assert query(step=3600, min_history="5d").effective_min_history == 5 * DAY  # an explicit setting is kept


def test_an_hourly_series_that_shifts_on_its_fourth_day_pages_there():
    step = 3600.0
    times = np.arange(0, 10 * DAY, step)
    values = 50 + 10 * np.sin(2 * np.pi * times / DAY) + np.random.default_rng(8).normal(0, 1, len(times))
    shift = int(4 * DAY / step)
    values[shift:] += 15
    scores = scores_of(times, values).scores[0]
    assert np.isnan(scores[:DEFAULT_MIN_HISTORY_STEPS - 1]).all()
    assert np.nanmax(scores[DEFAULT_MIN_HISTORY_STEPS:shift]) < 1  # no page while it learns
    assert np.nanmax(scores[shift:shift + 3]) > 1  # before: nothing scored until 201 samples, day 8.4


def test_a_weekly_pattern_gets_a_weekly_profile_and_its_weekend_is_normal():
    times, values = weekly_series()
    fit = make_model("seasonal").fit(times, values[None, :], FitContext(0.999, HOUR, 7200.0))
    model = fit.model
    assert model.period == WEEK
    saturday_noon = times[-1] - times[-1] % WEEK + 2 * DAY + 12 * HOUR + WEEK  # the epoch's week starts Thursday
    band = model.predict(saturday_noon)
    assert band.lower[0] <= 20 <= band.upper[0]
    ctx = FitContext(0.999, HOUR, 7200.0)
    daily_only = make_model("seasonal", SeasonalParams(long_period=0)).fit(times, values[None, :], ctx)
    assert daily_only.model.period == DAY  # a daily profile must stretch its band over the weekends
    width, daily_width = (np.ptp([m.predict(saturday_noon - 3 * DAY).lower, m.predict(saturday_noon - 3 * DAY).upper])
                          for m in (model, daily_only.model))
    assert width < daily_width / 3


def test_a_weekly_profiles_band_is_as_wide_as_the_noise_at_every_hour_of_the_week_not_set_by_each_slots_few_samples():
    step = 300.0
    times = np.arange(0, 15 * DAY, step)  # two weeks and a day at 5 minutes: two or three samples per slot of the week
    weekday = ((times // DAY) + 3) % 7 < 5
    shape = 10 + 5 * np.sin(2 * np.pi * times / DAY)
    values = np.where(weekday, shape, shape - 6)[None, :] + np.random.default_rng(4).normal(0, 1, (20, len(times)))
    model = make_model("seasonal").fit(times, values, FitContext(0.9995, step, 0.0)).model
    assert model.period == WEEK
    half_width = model.k[:, None] * model.scale  # in units of the noise (sigma 1), per series and slot of the week
    spread = np.percentile(half_width, 90, axis=1) / np.percentile(half_width, 10, axis=1)
    assert np.median(spread) < 2.5  # was 4.0: each slot's scale came from the residuals of its own few samples
    assert np.median(half_width) < 6.5  # was 9.2 (the normal quantile is 3.5): the calibration made up for the lowest


def test_a_weekly_profile_keeps_a_scale_per_slot_of_the_week_where_the_noise_differs_by_day():
    times = np.arange(0, 8 * WEEK, HOUR)  # eight weeks, hourly: enough residuals in every slot of the week
    weekend = ((times // DAY) + 3) % 7 >= 5
    shape = 100 + 50 * np.sin(2 * np.pi * times / DAY)
    noise = np.random.default_rng(5).normal(0, 1, (10, len(times))) * np.where(weekend, 8.0, 1.0)  # busy weekends
    values = np.where(weekend, shape - 40, shape)[None, :] + noise
    model = make_model("seasonal").fit(times, values, FitContext(0.9995, HOUR, 0.0)).model
    assert model.period == WEEK
    monday_noon, saturday_noon = 4 * DAY + 12 * HOUR, 2 * DAY + 12 * HOUR  # the epoch's week starts on a Thursday
    weekday_width = np.ptp([model.predict(monday_noon).lower, model.predict(monday_noon).upper], axis=0)
    weekend_width = np.ptp([model.predict(saturday_noon).lower, model.predict(saturday_noon).upper], axis=0)
    assert (weekend_width > 3 * weekday_width).all()  # pooled by the slot of the day they would be one width


def test_the_long_period_is_tried_once_history_covers_min_long_periods_of_it_and_not_before():
    times, values = weekly_series(weeks=3)
    ctx = FitContext(0.999, HOUR, 7200.0)
    two_weeks = times <= times[0] + 2 * WEEK
    just_short = times < times[0] + 2 * WEEK - HOUR
    assert make_model("seasonal").fit(times[two_weeks], values[None, two_weeks], ctx).model.period == WEEK
    assert make_model("seasonal").fit(times[just_short], values[None, just_short], ctx).model.period == DAY
    three = SeasonalParams(min_long_periods=3)
    assert make_model("seasonal", three).fit(times[two_weeks], values[None, two_weeks], ctx).model.period == DAY


def test_a_long_period_must_be_a_multiple_of_the_period():
    with pytest.raises(ValueError, match="long_period"):
        query(params={"period": "1d", "long_period": "36h"})


def test_series_fitted_on_different_periods_concatenate_on_the_longer_one_and_predict_as_before():
    times, values = weekly_series()
    ctx = FitContext(0.999, HOUR, 7200.0)
    weekly = make_model("seasonal").fit(times, values[None, :], ctx).model
    flat = make_model("seasonal").fit(times[-200:], values[None, -200:] * 0 + 7.0, ctx).model
    t = times[-1] + 30 * HOUR
    expected = [weekly.predict(t).yhat[0], flat.predict(t).yhat[0]]
    both = type(weekly).concat([weekly.take(np.arange(1)), flat.take(np.arange(1))])
    assert both.period == WEEK
    assert np.allclose(both.predict(t).yhat, expected)


def test_with_volatility_on_the_band_widens_after_a_burst_beyond_history_and_narrows_again():
    times = np.arange(0, 3 * DAY, 300.0)
    values = 10 + np.random.default_rng(2).normal(0, 1, len(times))
    ctx = FitContext(0.999, 300.0, 7200.0)
    model = make_model("seasonal", SeasonalParams(volatility_half_life=HOUR)).fit(times, values[None, :], ctx).model
    t = times[-1] + 300
    normal_width = np.ptp([model.predict(t).lower[0], model.predict(t).upper[0]])
    for i in range(6):  # half an hour of wild swings
        model.update(t + i * 300, np.array([10 + (30 if i % 2 else -30)]))
    after_burst = model.predict(t + 6 * 300)
    assert after_burst.upper[0] - after_burst.lower[0] > 1.5 * normal_width
    for i in range(6, 6 + 12 * 12):  # twelve quiet hours
        model.update(t + i * 300, np.array([10.0]))
    later = model.predict(t + (6 + 12 * 12) * 300)
    assert later.upper[0] - later.lower[0] == pytest.approx(normal_width, rel=0.01)
    default = make_model("seasonal").fit(times, values[None, :], ctx).model  # off by default
    for i in range(6):
        default.update(t + i * 300, np.array([10 + (30 if i % 2 else -30)]))
    assert np.ptp([default.predict(t + 6 * 300).lower[0], default.predict(t + 6 * 300).upper[0]]) == pytest.approx(
        normal_width, rel=0.01)


def test_the_score_is_zero_at_yhat_one_at_the_band_edge_and_above_one_outside():
    times, values = irregular_series()
    result = scores_of(times, values)
    scored = np.isfinite(result.scores[0])
    y, score = result.values[0, scored], result.scores[0, scored]
    yhat, lower, upper = (getattr(result.bands, name)[0, scored] for name in ("yhat", "lower", "upper"))
    outside = (y > upper) | (y < lower)
    assert (score[outside] > 1).all()
    band_score = np.where(y >= yhat, (y - yhat) / (upper - yhat), (yhat - y) / (yhat - lower))
    assert np.allclose(score[~outside & (band_score <= 1)], band_score[~outside & (band_score <= 1)]) or \
        (score >= band_score - 1e-9).all()  # the sustained score may only add to the band score
    assert (score >= band_score - 1e-9).all()
    at_yhat = np.abs(y - yhat) < 1e-12
    assert (score[at_yhat] == 0).all()
    assert np.nanmax(result.scores[0, 2000:2004]) > 1
    edge = 1.0 + 0 * yhat  # the score of a sample placed exactly on the band edge, through the scoring function
    from exporter.models.base import Band
    from exporter.scoring import anomaly_score
    assert np.allclose(anomaly_score(upper, Band(yhat, lower, upper)), edge)
    assert np.allclose(anomaly_score(yhat, Band(yhat, lower, upper)), 0.0)
    exact = scores_of(np.array([0.0, 300.0]), np.array([1.0, 1.0]))  # too short to score: NaN, not 0
    assert np.isnan(exact.scores).all()


def test_direction_and_min_deviation_apply_to_the_default_detector():
    times, values = irregular_series()  # its upward spike at 2000
    values = values.copy()
    values[2200:2204] -= 200  # a dip after it, beyond the band that spike widened (a band keeps an episode's width for days)
    both = scores_of(times, values).scores[0]
    up = scores_of(times, values, direction="up").scores[0]
    assert np.nanmax(both[2200:2204]) > 1 and np.nanmax(up[2200:2204]) <= 1
    assert np.nanmax(up[2000:2004]) > 1
    muted = scores_of(times, values, min_deviation=1000).scores[0]
    assert np.nanmax(muted) <= 1


def test_scores_are_causal_and_deterministic_on_irregular_gappy_samples():
    times, values = irregular_series()
    full = scores_of(times, values).scores[0]
    again = scores_of(times, values).scores[0]
    prefix = scores_of(times[:2002], values[:2002]).scores[0]
    np.testing.assert_array_equal(full, again)
    np.testing.assert_array_equal(full[:2002], prefix)


def test_scores_are_causal_when_the_model_picks_a_weekly_profile():
    times, values = weekly_series(weeks=5)
    values[-30:] += 60
    full = scores_of(times, values, step=HOUR).scores[0]
    cut = len(times) - 20
    prefix = scores_of(times[:cut], values[:cut], step=HOUR).scores[0]
    np.testing.assert_array_equal(full[:cut], prefix)
    assert np.nanmax(full[-30:-20]) > 1


@pytest.mark.parametrize("model", ["seasonal", "zscore"])
@pytest.mark.parametrize("constant, moved", [(0.0, 1.0), (0.0, 1e-6), (1.0, 0.0), (5.0, 7.0)])
def test_a_series_that_was_constant_and_moves_gets_a_finite_readable_score(model, constant, moved):
    query = QueryConfig.model_validate({"name": "q", "expr": "flag", "model": model, "step": "5m", "history": "3d"})
    times = 1.7e9 + np.arange(3 * 288 + 2) * 300.0
    values = np.full((1, len(times)), constant)
    values[0, -1] = moved
    scores = replay(SeriesBatch([{"__name__": "flag"}], times, values), query, start_index=len(times) - 2).scores[0]
    assert scores[-2] == pytest.approx(0.0, abs=1e-6)
    assert 1 < scores[-1] <= 1000, "a move off a constant pages, with a score a person can read"


def test_a_profile_is_taken_only_where_it_predicts_periods_it_was_not_estimated_from():
    """Sparse, irregular samples (about 50 a day on 144 slots): a median of a sample or two per slot fits its own
    noise, so judged on its own data a profile often looks better than a level; judged on held-out days it is
    taken only for a real cycle."""
    ctx = FitContext(0.999, 600.0, 3600.0)
    for seed in range(5):
        rng = np.random.default_rng(seed)
        times = np.sort(rng.uniform(0, 4 * DAY, 4 * 50))
        noise = rng.normal(0, 10, len(times))
        flat = make_model("seasonal").fit(times, (50 + noise)[None, :], ctx).model
        assert np.ptp(flat.profile[0]) == 0, f"seed {seed}: pure noise is modelled as a level"
        cycle = 50 + 40 * np.sin(2 * np.pi * times / DAY) + noise
        daily = make_model("seasonal").fit(times, cycle[None, :], ctx).model
        assert np.ptp(daily.profile[0]) > 40, f"seed {seed}: a real daily cycle keeps its profile"


def _rough_swings(model, t0, n, size=1.8, level=100.0):
    """n samples alternating size above and below the level, 5 minutes apart; the last (band, extra) scores."""
    band_scores, extra = [], None
    for i in range(n):
        t, y = t0 + i * 300, np.array([level + (size if i % 2 else -size)])
        band_scores.append(anomaly_score(y, model.predict(t))[0])
        model.update(t, y)
        extra = model.extra_score("both")
    return max(band_scores), extra[0]


def test_a_series_that_turns_rougher_than_ever_pages_while_each_sample_stays_inside_the_band():
    times = np.arange(0, 4 * DAY, 300.0)
    values = 100 + np.random.default_rng(3).normal(0, 1, len(times))
    ctx = FitContext(0.9995, 300.0, 7200.0)
    rough = make_model("seasonal").fit(times, values[None, :], ctx).model
    band, score = _rough_swings(rough, times[-1] + 300, 20)  # an hour and a half of swings of 3.6 sigmas
    assert band < 1 and score >= 1
    wilder = make_model("seasonal").fit(times, values[None, :], ctx).model
    assert _rough_swings(wilder, times[-1] + 300, 20, size=3.0)[1] == 1.5  # it pages, but never outranks a deviation
    smooth = make_model("seasonal", SeasonalParams(roughness_samples=0)).fit(times, values[None, :], ctx).model
    assert _rough_swings(smooth, times[-1] + 300, 20)[1] < 1  # the band and the sustained score do not see it
    quiet = make_model("seasonal").fit(times, values[None, :], ctx).model
    assert _rough_swings(quiet, times[-1] + 300, 20, size=0.5)[1] < 1  # as rough as history: nothing
    too_short = make_model("seasonal").fit(times[:20], values[None, :20], ctx).model  # no reference yet: nothing
    assert _rough_swings(too_short, times[19] + 300, 1)[1] == 0


def test_the_roughness_reference_outlives_a_refit_so_a_second_episode_as_rough_does_not_page_again():
    step = 300.0
    times = np.arange(0, 14 * DAY, step)
    values = 100 + np.random.default_rng(4).normal(0, 1, len(times))
    episode = np.arange(24)
    first, second = int(3.5 * DAY / step), int(12.5 * DAY / step)  # nine days apart: beyond the 7-day history
    values[first + episode] = 100 + np.where(episode % 2, 2.2, -2.2)
    values[second + episode] = 100 + np.where(episode % 2, 2.2, -2.2)
    scores = scores_of(times, values, step=step, retrain_every="1h", min_history="1d").scores[0]
    assert np.nanmax(scores[first:first + 24]) >= 1 and np.nanmax(scores[second:second + 24]) < 1
    # a model fitted on the last 7 days alone has forgotten the first episode and pages on the second
    recent = (times >= times[second] - 7 * DAY) & (times < times[second])
    forgetful = make_model("seasonal").fit(times[recent], values[None, recent], FitContext(0.9995, step, 7200.0)).model
    assert _rough_swings(forgetful, times[second], 24, size=2.2)[1] >= 1


def test_roughness_pages_only_once_the_series_has_been_seen_for_three_days_even_with_a_shorter_history():
    step = 300.0
    times = np.arange(0, 5 * DAY, step)
    episode = np.arange(24)

    def peak_of_episode_at(start: int) -> float:
        values = 100 + np.random.default_rng(5).normal(0, 1, len(times))
        values[start + episode] = 100 + np.where(episode % 2, 2.2, -2.2)
        scores = scores_of(times, values, step=step, history="2d", min_history="12h", retrain_every="1h").scores[0]
        return float(np.nanmax(scores[start:start + 24]))

    # a day and a half in, the reference has not met a whole busy cycle; four days in (with refits that each
    # see two days only: the series' first sample is carried from fit to fit) the same episode pages
    assert peak_of_episode_at(int(1.5 * DAY / step)) < 1 <= peak_of_episode_at(int(4 * DAY / step))
    values = 100 + np.random.default_rng(5).normal(0, 1, len(times))
    young = make_model("seasonal").fit(times[:288], values[None, :288], FitContext(0.9995, step, 7200.0)).model
    assert _rough_swings(young, times[288], 24, size=2.2)[1] == 0


def test_an_episode_still_going_on_at_a_refit_does_not_widen_the_band_that_scores_it_but_a_past_one_does():
    step = 60.0
    times = np.arange(0, 4 * DAY, step)
    values = 70 + np.random.default_rng(6).normal(0, 1, len(times))
    ctx = FitContext(0.999, step, 7200.0)
    ongoing = values.copy()
    ongoing[-10:] += 40  # the exporter starts, or refits, ten minutes into an incident
    model = make_model("seasonal").fit(times, ongoing[None, :], ctx).model
    assert anomaly_score(np.array([110.0]), model.predict(times[-1] + step))[0] > 1
    past = values.copy()
    past[-1000:-990] += 40  # the same episode, over by the refit: it is history the band must cover
    widened = make_model("seasonal").fit(times, past[None, :], ctx).model
    assert widened.k[0] > 2 * model.k[0]


def test_a_seasonal_model_says_which_profile_each_series_uses_and_keeps_it_through_take_and_concat():
    times, weekly = weekly_series(weeks=3)
    daily = 100 + 50 * np.sin(2 * np.pi * times / DAY) + np.random.default_rng(1).normal(0, 2, len(times))
    flat = 100 + np.random.default_rng(2).normal(0, 2, len(times))
    model = make_model("seasonal").fit(times, np.vstack([weekly, daily, flat]), FitContext(0.999, HOUR, 0.0)).model
    assert model.profiles() == {"1w": 1, "1d": 1, "none": 1}
    assert model.take(np.array([2, 1])).profiles() == {"none": 1, "1d": 1}
    # a batch of daily series joined to one that chose the week is laid out over the week, but still uses its day
    joined = type(model).concat([model.take(np.array([1, 2])), model.take(np.array([0]))])
    assert joined.period == WEEK and joined.profiles() == {"1w": 1, "1d": 1, "none": 1}
    off = make_model("seasonal", SeasonalParams(seasonality="off")).fit(times, weekly[None, :],
                                                                        FitContext(0.999, HOUR, 0.0)).model
    assert off.profiles() == {"none": 1}


def test_a_history_too_short_for_a_profile_is_named_with_the_history_that_would_let_it_be_tried():
    def unusable(**settings):
        q = query(**settings)
        return make_model(q.model, q.params).unusable(q.history)

    default = unusable(step=60)  # 7 days: the week's profile needs two of them
    assert len(default) == 1 and "1w profile (long_period) is never tried" in default[0]
    assert "history: 15d" in default[0] and "long_period: 0" in default[0]
    assert unusable(step=600) == []  # 2016 steps of 10 minutes are two weeks
    assert unusable(step=60, history="15d") == []
    assert unusable(step=60, params={"long_period": 0}) == []
    short = unusable(step=60, history="2d", params={"long_period": 0})
    assert len(short) == 1 and "1d profile (period)" in short[0] and "history: 4d" in short[0]
    assert unusable(step=60, history="2d", params={"seasonality": "off"}) == []
    assert unusable(step=60, model="zscore") == []
    prophet = unusable(step=60, model="prophet")  # its weekly_seasonality: auto needs two weeks as well
    assert len(prophet) == 1 and "weekly seasonality (weekly_seasonality: auto) is never fitted" in prophet[0]
    assert unusable(step=60, model="prophet", history="15d") == []
    assert unusable(step=60, model="prophet", params={"weekly_seasonality": False}) == []
