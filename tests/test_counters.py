"""A counter's running total is told apart from a gauge, so the exporter can say it cannot judge it."""

import numpy as np

from exporter.counters import counter_like


def test_a_running_total_with_a_reset_and_gaps_is_counter_like_and_gauges_are_not():
    rng = np.random.default_rng(0)
    n = 500
    total = np.cumsum(rng.poisson(5, n)).astype(float)
    total[300:] -= total[299]  # the process restarted
    total[[50, 51, 200]] = np.nan  # missed scrapes
    rare_events = np.cumsum(rng.random(n) < 0.01).astype(float)  # an error counter that rose a handful of times
    noisy_gauge = 100 + rng.normal(0, 1, n)
    rising_gauge = np.linspace(0, 50, n) + rng.normal(0, 1, n)  # a filling disk with noise falls now and then
    flat = np.full(n, 3.0)
    like = counter_like(np.vstack([total, rare_events, noisy_gauge, rising_gauge, flat]))
    assert like.tolist() == [True, False, False, False, False]


def test_only_the_newest_window_is_judged_and_rows_are_judged_alike_in_any_chunk():
    rng = np.random.default_rng(1)
    gauge_then_counter = np.concatenate([100 + rng.normal(0, 1, 1000), 100 + np.cumsum(rng.poisson(3, 400))])
    assert counter_like(gauge_then_counter[None, :]).tolist() == [True]
    assert counter_like(gauge_then_counter[None, :], window=2000).tolist() == [False]
    many = np.vstack([np.cumsum(rng.poisson(3, (20_000, 40)), axis=1).astype(float)[::2],
                      100 + rng.normal(0, 1, (10_000, 40))])
    like = counter_like(many)
    assert like[:10_000].all() and not like[10_000:].any()
