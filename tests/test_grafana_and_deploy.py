"""Dashboards (generated JSON, lint) and the deployment files, checked with the real tools."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import promql_parser
import pytest
import yaml

from alertmanager_receiver.config import load_receiver_config
from devstack.procs import require_binary
from grafana.build import render_all

REPO = Path(__file__).resolve().parent.parent
DASHBOARDS = REPO / "grafana" / "dashboards"
VARIABLE_VALUES = {"__rate_interval": "1m", "query": "cpu", "metric": "demo_cpu_usage"}


def substitute(expr: str, values=VARIABLE_VALUES) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m.group(1), m.group(0)), expr)


def dashboards() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def panel_exprs(board: dict) -> list[str]:
    return [t["expr"] for p in board["panels"] for t in p["targets"]]


def test_regenerating_the_dashboards_reproduces_the_committed_json():
    rendered = render_all()
    assert set(rendered) == {p.name for p in DASHBOARDS.glob("*.json")}
    for name, text in rendered.items():
        assert (DASHBOARDS / name).read_text() == text, f"{name} is stale: run python -m grafana.build"


def test_dashboards_have_fixed_unique_uids_and_a_datasource_variable_used_by_every_panel():
    uids = set()
    for name, board in dashboards().items():
        assert board["uid"] == name.removesuffix(".json") and board["uid"] not in uids
        uids.add(board["uid"])
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
        for panel in board["panels"]:
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
        assert "${DS_" not in json.dumps(board)


def test_every_panel_expression_parses_as_promql():
    for board in dashboards().values():
        for expr in panel_exprs(board):
            promql_parser.parse(substitute(expr))
        for var in board["templating"]["list"]:
            if var["type"] == "query":
                inner = re.fullmatch(r"label_values\((.*), *\w+\)", var["definition"]).group(1)
                promql_parser.parse(substitute(inner))


def test_the_forecast_explorer_fills_the_band_between_lower_and_upper():
    board = dashboards()["aiops-forecast.json"]
    band = board["panels"][0]
    legends = {t["legendFormat"] for t in band["targets"]}
    assert {"upper", "lower", "yhat", "actual"} <= legends
    fills = [p for o in band["fieldConfig"]["overrides"] for p in o["properties"] if p["id"] == "custom.fillBelowTo"]
    assert fills == [{"id": "custom.fillBelowTo", "value": "lower"}]


def test_the_datasource_is_provisioned_with_a_fixed_uid_and_dashboards_with_a_file_provider():
    ds = yaml.safe_load((REPO / "grafana/provisioning/datasources/prometheus.yml").read_text())["datasources"][0]
    assert ds["uid"] == "aiops-prometheus" and ds["type"] == "prometheus"
    provider = yaml.safe_load((REPO / "grafana/provisioning/dashboards/aiops.yml").read_text())["providers"][0]
    assert provider["type"] == "file"


@pytest.mark.integration
def test_docker_compose_config_is_valid():
    result = subprocess.run([require_binary("docker-compose"), "-f", str(REPO / "docker-compose.yml"), "config", "-q"],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    assert {"prometheus", "alertmanager", "grafana", "exporter", "receiver", "node-exporter", "workload"} <= set(services)


@pytest.mark.integration
def test_the_compose_prometheus_config_and_rules_pass_promtool(tmp_path):
    shutil.copy(REPO / "deploy/prometheus/prometheus.yml", tmp_path / "prometheus.yml")
    shutil.copytree(REPO / "rules", tmp_path / "rules", ignore=shutil.ignore_patterns("tests"))
    result = subprocess.run([require_binary("promtool"), "check", "config", str(tmp_path / "prometheus.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rules/aiops.alerts.yml" in result.stdout


@pytest.mark.integration
def test_the_compose_alertmanager_config_passes_amtool():
    result = subprocess.run([require_binary("amtool"), "check-config", str(REPO / "deploy/alertmanager/alertmanager.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.integration
def test_the_compose_exporter_and_receiver_configs_load():
    result = subprocess.run([sys.executable, "-m", "exporter", "check-config", str(REPO / "deploy/exporter.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert load_receiver_config(REPO / "deploy/receiver.yml").automation.mode == "dry-run"


@pytest.mark.parametrize("path", ["Dockerfile"])
def test_the_image_installs_the_project_and_runs_unprivileged(path):
    text = (REPO / path).read_text()
    assert "pip install" in text and "USER aiops" in text
