"""Lagging series' delay and the probe's verdicts: pure logic."""

import pytest

from exporter.config import ConfigError, parse_config
from exporter.delay import AUTO_DELAY_MAX, auto_delay, newest_age_query
from exporter.probe import ProbeResult, verdict


def config_with_delay(delay):
    return parse_config({"prometheus": {"url": "http://prometheus:9090"},
                         "queries": [{"name": "q", "expr": "up", "step": "60s", "delay": delay}]})


def test_delay_takes_a_duration_or_auto_and_defaults_to_zero():
    assert config_with_delay("10m").queries[0].delay == 600.0
    assert config_with_delay("auto").queries[0].delay == "auto"
    assert parse_config({"prometheus": {"url": "http://p:9090"},
                         "queries": [{"name": "q", "expr": "up"}]}).queries[0].delay == 0.0


@pytest.mark.parametrize("bad", ["soon", "-5m"])
def test_a_bad_delay_is_refused_naming_the_key(bad):
    with pytest.raises(ConfigError, match=r"queries\[0\]\.delay"):
        config_with_delay(bad)


def test_auto_delay_rounds_the_median_age_up_to_the_step_and_is_bounded():
    assert auto_delay(450.0, 60.0) == 480.0
    assert auto_delay(420.0, 60.0) == 420.0
    assert auto_delay(3.0, 60.0) == 60.0
    assert auto_delay(None, 60.0) == 0.0 and auto_delay(-1.0, 60.0) == 0.0
    assert auto_delay(10 * 86400.0, 60.0) == AUTO_DELAY_MAX
    assert newest_age_query("up", 60.0) == "quantile(0.5, time() - max_over_time(timestamp(up)[3600s:60s]))"


def result(**overrides):
    base = {"query": "q", "series": 10, "with_samples": 10, "coverage": 1.0, "newest_age": 20.0, "delay": 0.0,
            "rewritten": False}
    return ProbeResult(**{**base, **overrides})


@pytest.mark.parametrize("overrides, status, advice", [
    ({}, "OK", ""),
    ({"error": "HTTP 400 bad_data"}, "ERROR", "bad_data"),
    ({"series": 0, "with_samples": 0}, "NO SERIES", "matches nothing"),
    ({"newest_age": 450.0}, "LAGGING", "delay: 480s"),
    ({"newest_age": 450.0, "delay": 300.0}, "OK", ""),
    ({"with_samples": 0, "newest_age": None}, "NO SAMPLES", "last_over_time"),
    ({"coverage": 0.3}, "SPARSE", "30%"),
    ({"newest_age": 500.0, "rewritten": True, "coverage": 0.9}, "OK", ""),
    ({"counter_like": 6}, "COUNTER", "rate(<expression>[5m])"),
    ({"counter_like": 5}, "OK", ""),  # half the series rising is a fleet of gauges, some filling up
])
def test_the_probe_verdict_names_the_problem_and_what_to_change(overrides, status, advice):
    step = 600.0 if overrides.get("rewritten") else 60.0
    got_status, got_advice = verdict(result(**overrides), step, 300.0)
    assert got_status == status and advice in got_advice
