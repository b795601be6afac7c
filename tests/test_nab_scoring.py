"""The NAB scorer on hand-built cases (benchmarks/nabscore.py)."""

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks.nab import coarser, main, unlabelled_files, with_gaps, with_offset
from benchmarks.nabscore import Profile, optimize, prepare, probation_length, scaled_sigmoid, score_at

STANDARD = Profile("standard", tp=1.0, fp=0.11, fn=1.0)
ROWS = 1000  # probation: 150 rows
TIMES = pd.date_range("2026-01-01", periods=ROWS, freq="5min")
WINDOW = [[str(TIMES[500]), str(TIMES[599])]]  # rows 500..599


def file_with(detections, windows=WINDOW, name="f"):
    scores = np.zeros(ROWS)
    scores[list(detections)] = 1.0
    return prepare(name, TIMES, scores, windows)


def test_probation_is_fifteen_percent_capped_at_750_rows():
    assert probation_length(1000) == 150
    assert probation_length(100000) == 750


def test_a_detection_at_the_windows_first_row_earns_the_full_true_positive_weight():
    result = score_at([file_with([500])], STANDARD, 1.0)
    assert result.raw == pytest.approx(1.0)
    assert (result.tp, result.fp, result.fn) == (1, 0, 0)
    assert result.normalized == pytest.approx(100.0)


def test_a_late_detection_earns_less_and_only_the_first_detection_in_a_window_counts():
    late = score_at([file_with([590])], STANDARD, 1.0).raw
    assert 0 < late < 0.3
    assert late == pytest.approx(scaled_sigmoid(-(599 - 590 + 1) / 100) / scaled_sigmoid(-1.0))
    both = score_at([file_with([500, 590])], STANDARD, 1.0).raw
    assert both == pytest.approx(1.0)


def test_a_missed_window_costs_the_false_negative_weight_and_scores_zero_normalised():
    result = score_at([file_with([])], STANDARD, 1.0)
    assert result.raw == pytest.approx(-1.0) and result.normalized == pytest.approx(0.0)


def test_false_positives_cost_full_weight_before_the_first_window_and_less_right_after_one():
    before = score_at([file_with([300, 500])], STANDARD, 1.0)
    assert before.fp == 1 and before.raw == pytest.approx(1.0 - 0.11)
    just_after = score_at([file_with([500, 601])], STANDARD, 1.0).raw
    long_after = score_at([file_with([500, 999])], STANDARD, 1.0).raw
    assert 1.0 - 0.11 < just_after < 1.0
    assert long_after == pytest.approx(1.0 - 0.11)


def test_detections_in_the_probationary_period_are_ignored():
    assert score_at([file_with([10, 500])], STANDARD, 1.0).fp == 0


def test_an_empty_file_without_windows_scores_nothing_either_way():
    empty = prepare("e", TIMES, np.zeros(ROWS), [])
    assert score_at([empty], STANDARD, 1.0).raw == 0.0
    noisy = prepare("n", TIMES, np.where(np.arange(ROWS) == 400, 5.0, 0.0), [])
    assert score_at([noisy], STANDARD, 1.0).raw == pytest.approx(-0.11)


def test_the_optimised_threshold_maximises_the_total_across_files():
    scores = np.zeros(ROWS)
    scores[520] = 0.8  # inside the window
    scores[300] = 0.9  # a false positive scoring higher
    a = prepare("a", TIMES, scores, WINDOW)
    best = optimize([a], STANDARD)
    assert best.threshold == pytest.approx(0.8)
    assert best.raw == pytest.approx(score_at([a], STANDARD, 0.8).raw)
    for threshold in (0.85, 0.95, 2.0):
        assert score_at([a], STANDARD, threshold).raw <= best.raw


def test_nan_scores_never_detect():
    scores = np.full(ROWS, np.nan)
    assert score_at([prepare("x", TIMES, scores, WINDOW)], STANDARD, -1e9).tp == 0


def test_the_gapped_copy_drops_about_a_tenth_of_the_rows_outside_the_windows_and_the_same_ones_every_time(tmp_path):
    source = tmp_path / "nab"
    (source / "data" / "cat").mkdir(parents=True)
    (source / "labels").mkdir()
    (source / "config").mkdir()
    times = pd.date_range("2026-01-01", periods=20_000, freq="5min")
    pd.DataFrame({"timestamp": times.strftime("%Y-%m-%d %H:%M:%S"), "value": range(len(times))}).to_csv(
        source / "data" / "cat" / "series.csv", index=False)
    window = [str(times[5000]), str(times[7000])]
    windows = {"cat/series.csv": [window]}
    (source / "labels" / "combined_windows.json").write_text(json.dumps(windows))
    (source / "config" / "profiles.json").write_text("{}")

    first = pd.read_csv(with_gaps(source, tmp_path / "a", windows) / "data" / "cat" / "series.csv")
    again = pd.read_csv(with_gaps(source, tmp_path / "b", windows) / "data" / "cat" / "series.csv")
    other = pd.read_csv(with_gaps(source, tmp_path / "c", windows, seed=1) / "data" / "cat" / "series.csv")
    assert first.equals(again) and not first.equals(other)
    assert 0.05 < 1 - len(first) / len(times) < 0.15
    kept = set(first["value"])
    assert all(v in kept for v in range(5000, 7001))  # the window's rows, anomalies included, all stay
    assert (tmp_path / "a" / "labels" / "combined_windows.json").exists()


def test_the_offset_copy_writes_every_value_as_a_large_level_plus_a_scaled_move(tmp_path):
    source = tmp_path / "nab"
    (source / "data" / "cat").mkdir(parents=True)
    (source / "labels").mkdir()
    (source / "config").mkdir()
    pd.DataFrame({"timestamp": ["2026-01-01 00:00:00", "2026-01-01 00:05:00"], "value": [0.5, 2.0]}).to_csv(
        source / "data" / "cat" / "series.csv", index=False)
    (source / "labels" / "combined_windows.json").write_text("{}")
    (source / "config" / "profiles.json").write_text("{}")
    copy = pd.read_csv(with_offset(source, tmp_path / "copy", 1000.0, 5e6) / "data" / "cat" / "series.csv")
    assert copy["value"].tolist() == [5_000_500.0, 5_002_000.0]
    assert copy["timestamp"].tolist() == ["2026-01-01 00:00:00", "2026-01-01 00:05:00"]


def test_the_coarser_copy_averages_each_k_rows_and_stamps_them_at_the_last(tmp_path):
    source = tmp_path / "nab"
    (source / "data" / "cat").mkdir(parents=True)
    (source / "labels").mkdir()
    (source / "config").mkdir()
    times = [f"2026-01-01 00:{minute:02d}:00" for minute in range(0, 25, 5)]
    pd.DataFrame({"timestamp": times, "value": [1.0, 3.0, 5.0, 7.0, 9.0]}).to_csv(
        source / "data" / "cat" / "series.csv", index=False)
    (source / "labels" / "combined_windows.json").write_text("{}")
    (source / "config" / "profiles.json").write_text("{}")
    copy = pd.read_csv(coarser(source, tmp_path / "copy", 2) / "data" / "cat" / "series.csv")
    assert copy["value"].tolist() == [2.0, 6.0, 9.0]  # a last, shorter step keeps what it holds
    assert copy["timestamp"].tolist() == [times[1], times[3], times[4]]


def test_files_the_labels_do_not_list_are_named_not_silently_judged_as_anomaly_free(tmp_path):
    for name in ("realTweets/a.csv", "realTweets/b.csv", "artificialNoAnomaly/c.csv"):
        (tmp_path / "data" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / name).write_text("timestamp,value\n")
    files = sorted((tmp_path / "data").glob("*/*.csv"))
    windows = {"realTweets/a.csv": [["2015-01-01 00:00:00", "2015-01-02 00:00:00"]], "artificialNoAnomaly/c.csv": []}
    assert unlabelled_files(files, tmp_path, windows) == ["realTweets/b.csv"]


def test_an_unknown_model_is_refused_by_name_before_any_file_is_scored(capsys):
    with pytest.raises(SystemExit):
        main(["--models", "seasonal,windowed_gaussian"])
    assert "--models: unknown windowed_gaussian" in capsys.readouterr().err
