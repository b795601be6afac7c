import subprocess
import sys
import textwrap

import pytest

from aiops_common.durations import format_duration, parse_duration
from exporter.config import ConfigError, load_config, parse_config

MINIMAL = """
prometheus:
  url: http://127.0.0.1:9090
queries:
  - name: cpu                 # alias, becomes label aiops_query
    expr: 'demo_cpu_usage'    # any PromQL; may return many series
    model: seasonal           # seasonal | prophet | zscore (more may follow)
    step: 60s                 # resolution of the history fetched for training
    history: 7d               # training window
"""


def _write(tmp_path, text):
    path = tmp_path / "config.yml"
    path.write_text(textwrap.dedent(text))
    return path


def test_the_minimal_config_from_the_issue_loads_as_written(tmp_path):
    cfg = load_config(_write(tmp_path, MINIMAL))
    query = cfg.queries[0]
    assert (query.name, query.expr, query.model, query.step, query.history) == (
        "cpu", "demo_cpu_usage", "seasonal", 60.0, 7 * 86400.0)
    assert query.interval_width == 0.9995 and query.direction == "both"
    assert cfg.exporter.interval == 60.0


@pytest.mark.parametrize("change, key, reason", [
    ({"queries": [{"name": "cpu", "expr": "x", "step": "sixty"}]}, "queries[0].step", "not a duration"),
    ({"queries": [{"name": "cpu", "expr": "x", "model": "magic"}]}, "queries[0].model", "unknown model 'magic'"),
    ({"queries": [{"name": "cpu", "expr": "x", "direction": "sideways"}]}, "queries[0].direction", "'both'"),
    ({"queries": [{"name": "cpu", "expr": "x", "stpe": "60s"}]}, "queries[0].stpe", "unknown key"),
    ({"queries": [{"name": "cpu", "expr": "x", "params": {"period": "1x"}}]}, "queries[0].params.period",
     "not a duration"),
    ({"queries": [{"name": "cpu", "expr": "x", "interval_width": 1.5}]}, "queries[0].interval_width", "less than 1"),
    ({"queries": [{"name": "a", "expr": "x"}, {"name": "a", "expr": "y"}]}, "queries[1].name", "duplicate"),
    ({"queries": []}, "queries", "at least 1"),
    ({"prometheus": {"url": "localhost:9090"}}, "prometheus.url", "http://"),
    ({"prometheus": {"url": "http://p:9090", "bearer_token": "t", "basic_auth": {"username": "u"}}},
     "prometheus", "one authentication method"),
])
def test_a_malformed_config_names_the_key_and_the_reason(change, key, reason):
    data = {"prometheus": {"url": "http://127.0.0.1:9090"}, "queries": [{"name": "cpu", "expr": "x"}], **change}
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    message = str(err.value)
    assert f"{key}:" in message, message
    assert reason in message, message


def test_a_missing_required_key_is_named():
    with pytest.raises(ConfigError, match=r"prometheus: Field required"):
        parse_config({"queries": [{"name": "cpu", "expr": "x"}]})


def test_invalid_yaml_and_a_missing_file_are_reported_with_the_path(tmp_path):
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(_write(tmp_path, "prometheus: [unclosed"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yml")


def test_min_deviation_accepts_a_number_or_absolute_and_relative():
    base = {"prometheus": {"url": "http://p:9090"}}
    cfg = parse_config({**base, "queries": [{"name": "a", "expr": "x", "min_deviation": 5}]})
    assert cfg.queries[0].min_deviation.absolute == 5
    cfg = parse_config({**base, "queries": [{"name": "a", "expr": "x", "min_deviation": {"relative": 0.1}}]})
    assert cfg.queries[0].min_deviation.relative == 0.1


@pytest.mark.integration
def test_check_config_exits_zero_on_a_good_file_and_two_naming_the_key_on_a_bad_one(tmp_path):
    good = _write(tmp_path, MINIMAL)
    ok = subprocess.run([sys.executable, "-m", "exporter", "check-config", str(good)], capture_output=True, text=True)
    assert ok.returncode == 0 and "OK" in ok.stdout
    assert "note: query" in ok.stdout and "1w profile (long_period) is never tried" in ok.stdout  # 7 days at 60s
    bad = tmp_path / "bad.yml"
    bad.write_text(MINIMAL.replace("step: 60s", "step: soon"))
    fail = subprocess.run([sys.executable, "-m", "exporter", "check-config", str(bad)], capture_output=True, text=True)
    assert fail.returncode == 2
    assert "queries[0].step" in fail.stderr


@pytest.mark.parametrize("text, seconds", [("60s", 60), ("1h30m", 5400), ("7d", 604800), ("500ms", 0.5), (90, 90)])
def test_durations_parse_like_prometheus(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1x", "h", "5m3", "-5s"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_durations_format_back_to_their_shortest_form():
    assert [format_duration(s) for s in (3600, 5400, 21600, 90)] == ["1h", "1h30m", "6h", "1m30s"]


def test_shard_flags_override_the_file_and_are_validated(tmp_path):
    import argparse

    from exporter.cli import with_shard_flags

    cfg = load_config(_write(tmp_path, MINIMAL))
    sharded = with_shard_flags(cfg, argparse.Namespace(shard_index=2, shard_count=4))
    assert (sharded.exporter.shard.index, sharded.exporter.shard.count) == (2, 4)
    with pytest.raises(ConfigError, match=r"exporter.shard.index: must be below count \(2\)"):
        with_shard_flags(cfg, argparse.Namespace(shard_index=2, shard_count=2))


def test_secrets_come_from_the_environment_and_an_unset_variable_names_its_key(tmp_path):
    from aiops_common.config import load_yaml

    path = tmp_path / "c.yml"
    path.write_text("auth:\n  bearer_token: ${AIOPS_TEST_TOKEN}\n  note: 'costs $$5'\nlist: ['${AIOPS_TEST_TOKEN}x']\n")
    _, data = load_yaml(path, {"AIOPS_TEST_TOKEN": "s3cret"})
    assert data == {"auth": {"bearer_token": "s3cret", "note": "costs $5"}, "list": ["s3cretx"]}
    with pytest.raises(ConfigError, match=r"c.yml: auth.bearer_token: environment variable AIOPS_TEST_TOKEN is not set"):
        load_yaml(path, {})
