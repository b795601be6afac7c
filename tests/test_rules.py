"""rules/: promtool check and unit tests, plus the monitoring-mixin habits."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from devstack.procs import require_binary

pytestmark = pytest.mark.integration  # starts real binaries

RULES = Path(__file__).resolve().parent.parent / "rules"
RUNBOOKS = RULES.parent / "docs" / "runbooks"
REQUIRED_ALERTS = {"AIOpsAnomalyDetected", "AIOpsCapacityForecastBreach", "AIOpsExporterDown",
                   "AIOpsExporterSourceDown", "AIOpsModelStale", "AIOpsBandCoverageLow", "AIOpsReceiverDown",
                   "AIOpsAutomationBreakerOpen", "AIOpsLogTemplateNew", "AIOpsLogErrorSpike",
                   "AIOpsLogTemplatesOverCap"}


def all_rules():
    for path in sorted(RULES.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            yield from group["rules"]


def test_promtool_check_rules_passes():
    result = subprocess.run([require_binary("promtool"), "check", "rules", *map(str, sorted(RULES.glob("*.yml")))],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass():
    tests = sorted((RULES / "tests").glob("*.yml"))
    result = subprocess.run([require_binary("promtool"), "test", "rules", *map(str, tests)],
                            capture_output=True, text=True, cwd=RULES / "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_required_alert_exists_and_has_a_unit_test_at_its_for_boundary():
    alerts = {r["alert"] for r in all_rules() if "alert" in r}
    assert REQUIRED_ALERTS <= alerts
    tested = {}
    for path in (RULES / "tests").glob("*.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                tested.setdefault(check["alertname"], []).append(bool(check["exp_alerts"]))
    for alert in alerts:
        assert sorted(set(tested.get(alert, []))) == [False, True], f"{alert}: needs a silent and a firing check"


@pytest.mark.parametrize("rule", [r for r in all_rules() if "alert" in r], ids=lambda r: r["alert"])
def test_alerts_follow_the_mixin_habits(rule):
    assert re.fullmatch(r"AIOps([A-Z][a-z0-9]*)+", rule["alert"])
    assert rule["labels"]["severity"] in ("info", "warning", "critical")
    for key in ("summary", "description", "runbook_url"):
        assert rule["annotations"].get(key), key
    assert rule["annotations"]["runbook_url"].endswith(f"docs/runbooks/{rule['alert']}.md")
    assert (RUNBOOKS / f"{rule['alert']}.md").is_file()


@pytest.mark.parametrize("rule", [r for r in all_rules() if "record" in r], ids=lambda r: r["record"])
def test_recording_rules_are_named_level_metric_operations(rule):
    assert re.fullmatch(r"[a-z_]+:[a-z_]+:[a-z0-9_]+", rule["record"])
