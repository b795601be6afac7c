"""score-csv: the exporter's code path replayed over CSV files, causally."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest


def write_csv(path, n=4 * 288, anomaly_at=None, seed=0):
    times = pd.date_range("2026-01-05", periods=n, freq="5min")
    t = np.arange(n) * 300.0
    values = 40 + 15 * np.sin(2 * np.pi * t / 86400) + np.random.default_rng(seed).normal(0, 1, n)
    if anomaly_at is not None:
        values[anomaly_at:anomaly_at + 6] += 60
    pd.DataFrame({"timestamp": times.strftime("%Y-%m-%d %H:%M:%S"), "value": values}).to_csv(path, index=False)
    return path


def score_csv(inputs, out_dir, *extra):
    cmd = [sys.executable, "-m", "exporter", "score-csv", "--output-dir", str(out_dir), *map(str, inputs), *extra]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return [pd.read_csv(out_dir / p.name) for p in inputs]


@pytest.mark.integration
@pytest.mark.parametrize("model", ["seasonal", "zscore"])
def test_scores_of_a_prefix_equal_the_prefix_of_the_scores(tmp_path, model):
    full = write_csv(tmp_path / "full.csv", anomaly_at=900)
    frame = pd.read_csv(full)
    prefix = tmp_path / "prefix.csv"
    frame.iloc[:950].to_csv(prefix, index=False)
    out_full, out_prefix = score_csv([full, prefix], tmp_path / "out", "--model", model)
    assert list(out_full.columns) == ["timestamp", "value", "anomaly_score"]
    assert len(out_prefix) == 950
    pd.testing.assert_series_equal(out_full["anomaly_score"].iloc[:950], out_prefix["anomaly_score"])
    assert out_full["anomaly_score"].iloc[900:906].max() > 1
    assert out_full["anomaly_score"].iloc[600:900].median() < 1
    assert out_full["timestamp"].tolist() == frame["timestamp"].tolist()


@pytest.mark.integration
def test_scoring_is_deterministic_and_rows_before_min_history_are_left_empty(tmp_path):
    path = write_csv(tmp_path / "series.csv", seed=4)
    first = score_csv([path], tmp_path / "a")[0]
    second = score_csv([path], tmp_path / "b")[0]
    pd.testing.assert_frame_equal(first, second)
    assert first["anomaly_score"].iloc[:10].isna().all()
    assert first["anomaly_score"].iloc[400:].notna().all()


@pytest.mark.integration
def test_a_file_without_the_columns_is_refused_with_the_reason(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("time,val\n1,2\n")
    result = subprocess.run([sys.executable, "-m", "exporter", "score-csv", "--output-dir", str(tmp_path / "o"),
                             str(bad)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "missing column(s) timestamp, value" in result.stderr


@pytest.mark.integration
def test_score_csv_takes_the_query_settings_from_a_config_file_given_after_the_subcommand(tmp_path):
    path = write_csv(tmp_path / "series.csv", anomaly_at=900)
    config = tmp_path / "exporter.yml"
    config.write_text("prometheus: {url: 'http://127.0.0.1:9090'}\n"
                      "queries:\n  - {name: cpu, expr: x, model: zscore, interval_width: 0.9999}\n")
    scored = score_csv([path], tmp_path / "out", "--config.file", str(config), "--query", "cpu")[0]
    default = score_csv([path], tmp_path / "out2", "--model", "zscore")[0]
    assert scored["anomaly_score"].iloc[900] < default["anomaly_score"].iloc[900]  # the wider band scores lower


@pytest.mark.integration
def test_a_row_whose_timestamp_goes_back_is_scored_in_file_order_and_every_row_gets_a_line(tmp_path):
    path = write_csv(tmp_path / "series.csv", seed=2)
    frame = pd.read_csv(path)
    frame.loc[700, "timestamp"] = frame.loc[689, "timestamp"]  # 55 minutes before its predecessor
    frame["value"] = frame["value"].astype(object)
    frame.loc[720, "value"] = "12,5"
    frame.to_csv(path, index=False)
    result = subprocess.run([sys.executable, "-m", "exporter", "score-csv", "--output-dir", str(tmp_path / "o"),
                             str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "1 row(s) where the timestamp goes back" in result.stderr and "line 702" in result.stderr
    assert "1 row(s) where the value is missing or does not parse" in result.stderr
    scored = pd.read_csv(tmp_path / "o" / "series.csv")
    assert len(scored) == len(frame) and scored["timestamp"].tolist() == frame["timestamp"].tolist()
    assert np.isfinite(scored["anomaly_score"].iloc[690:720]).all() and np.isnan(scored["anomaly_score"].iloc[720])

    strict = subprocess.run([sys.executable, "-m", "exporter", "score-csv", "--strict", "--output-dir",
                             str(tmp_path / "s"), str(path)], capture_output=True, text=True)
    assert strict.returncode == 2 and "line 702" in strict.stderr and "goes back" in strict.stderr


@pytest.mark.integration
def test_a_file_that_gets_no_score_or_is_out_of_order_says_why(tmp_path):
    short = write_csv(tmp_path / "short.csv", n=100)  # 8 hours of 5-minute samples
    shuffled = tmp_path / "shuffled.csv"
    pd.read_csv(write_csv(tmp_path / "whole.csv")).sample(frac=1, random_state=1).to_csv(shuffled, index=False)
    for path, why in ((short, "no row was scored: the rows span 8h15m of time, less than the 16h48m of history the "
                              "model needs"),
                      (shuffled, "most timestamps repeat or go back: sort the file by timestamp")):
        result = subprocess.run([sys.executable, "-m", "exporter", "score-csv", "--output-dir", str(tmp_path / "o"),
                                 str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert f"{path.name}: {why}" in result.stderr
