import numpy as np
import pytest

from exporter.models.base import Band
from exporter.scoring import MAGNITUDE_FLOOR, anomaly_score, inside_band

BAND = Band(np.array([10.0]), np.array([8.0]), np.array([14.0]))  # asymmetric: -2 / +4


@pytest.mark.parametrize("y, expected", [(10, 0), (14, 1), (8, 1), (18, 2), (6, 2), (12, 0.5)])
def test_the_score_is_zero_at_yhat_one_at_either_band_edge_and_scales_with_each_side(y, expected):
    assert anomaly_score(np.array([y]), BAND)[0] == pytest.approx(expected)


def test_direction_up_ignores_drops_and_direction_down_ignores_rises():
    y = np.array([6.0])
    assert anomaly_score(y, BAND, "up")[0] == 0
    assert anomaly_score(y, BAND, "down")[0] == pytest.approx(2)
    y = np.array([18.0])
    assert anomaly_score(y, BAND, "down")[0] == 0
    assert anomaly_score(y, BAND, "up")[0] == pytest.approx(2)


def test_deviations_below_min_deviation_never_score_above_one():
    y = np.array([18.0])  # 8 above yhat, 2 band widths
    assert anomaly_score(y, BAND, min_abs=8.0)[0] == pytest.approx(1)
    assert anomaly_score(y, BAND, min_abs=10.0)[0] < 1
    assert anomaly_score(y, BAND, min_rel=1.0)[0] < 1  # 1.0 x |yhat| = 10
    assert anomaly_score(np.array([30.0]), BAND, min_abs=10.0)[0] == pytest.approx(2)


def test_a_missing_sample_or_band_scores_nan_not_zero():
    assert np.isnan(anomaly_score(np.array([np.nan]), BAND)[0])
    assert np.isnan(anomaly_score(np.array([1.0]), Band(np.array([np.nan]), np.array([0.0]), np.array([2.0])))[0])


def test_a_zero_width_band_gives_zero_at_yhat_and_a_high_readable_score_off_it():
    flat = Band(np.array([5.0, 5.0, 0.0]), np.array([5.0, 5.0, 0.0]), np.array([5.0, 5.0, 0.0]))
    scores = anomaly_score(np.array([5.0, 6.0, 1.0]), flat)
    assert scores[0] == 0
    assert scores[1] == pytest.approx(1 / MAGNITUDE_FLOOR) == 1000  # the most any score can be
    assert scores[2] == pytest.approx(1000)


def test_a_band_with_a_width_scores_the_same_wherever_the_series_sits():
    near_zero = anomaly_score(np.array([400.0]), Band(np.array([100.0]), np.array([0.0]), np.array([200.0])))
    far_up = anomaly_score(np.array([5_000_300.0]), Band(np.array([5e6]), np.array([5e6 - 100]), np.array([5e6 + 100])))
    assert near_zero[0] == pytest.approx(3) and far_up[0] == pytest.approx(3)


def test_inside_band_includes_the_edges():
    band = Band(*(np.repeat(a, 3) for a in (BAND.yhat, BAND.lower, BAND.upper)))
    assert list(inside_band(np.array([8.0, 14.0, 14.1]), band)) == [True, True, False]
