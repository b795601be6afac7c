"""Alert storms with known causes, through a real Alertmanager into a real receiver (benchmarks/storms/).

Each failure mode of issue #15 has its storm: two independent failures in one minute, a cascade under
noise, a root cause that alerts last, a topology that lacks an edge (learned from earlier episodes), a
flapping alert beside a cascade; and a dependency across namespaces, the same failure in two
clusters, node alerts without a service, a shared victim that alerts first. The benchmark
(python -m benchmarks.incidents) prints the same figures for all of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.alertmanager import Alertmanager
from devstack.receiver import ReceiverProcess
from devstack.storms import alertmanager_config, incidents_of, load_dir, replay, score

pytestmark = pytest.mark.integration  # starts Alertmanager and the receiver

STORMS = load_dir(Path(__file__).resolve().parent.parent / "benchmarks" / "storms")


def run(scenario, tmp_path, group_by=None, time_scale=None):
    receiver = ReceiverProcess(tmp_path / "receiver", scenario.receiver_config(f"sqlite:///{tmp_path / 'r.db'}")).start()
    am = Alertmanager(tmp_path / "am", alertmanager_config(f"{receiver.url}/webhook/alertmanager", group_by)).start()
    try:
        base = replay(scenario, receiver.url, am, timeout=90, time_scale=time_scale)
        return score(scenario, base, incidents_of(receiver.url)), receiver
    finally:
        am.stop()
        receiver.stop()


@pytest.mark.parametrize("scenario", STORMS, ids=[s.name for s in STORMS])
def test_each_storm_folds_into_one_incident_per_cause_led_by_its_true_root_cause(scenario, tmp_path):
    result, _ = run(scenario, tmp_path)
    assert result.lost == 0
    assert result.fragmentation == 1.0 and result.purity >= 0.98, result.as_dict()
    assert result.incidents == result.ideal, result.as_dict()
    assert all(result.top1), result.misses


def test_alertmanager_batching_by_namespace_does_not_change_the_outcome_of_a_late_root_cause(tmp_path):
    scenario = next(s for s in STORMS if s.name == "late-root-cause")
    result, _ = run(scenario, tmp_path, group_by=["cluster", "namespace"], time_scale=0.03)
    assert result.lost == 0 and result.fragmentation == 1.0 and result.purity == 1.0
    assert all(result.top1), result.misses
