"""benchmarks/storm_gen.py: generated storms are valid scenarios whose ground truth a topology supports."""

from collections import Counter

import pytest

from benchmarks import storm_gen
from devstack.storms import load_dir


def _paths(topology: dict) -> dict[str, set[str]]:
    """Each service -> every service it depends on, transitively."""
    direct = {s: set((spec or {}).get("depends_on", [])) for s, spec in topology.items()}
    closure = {}
    for service in direct:
        seen, stack = set(), list(direct[service])
        while stack:
            dep = stack.pop()
            if dep not in seen:
                seen.add(dep)
                stack.extend(direct.get(dep, ()))
        closure[service] = seen
    return closure


def test_generated_storms_load_as_scenarios_and_keep_noise_off_every_failure_path(tmp_path):
    assert storm_gen.main(["--out", str(tmp_path), "--count", "12", "--seed", "5"]) == 0
    scenarios = load_dir(tmp_path)
    assert len(scenarios) == 12
    for scenario in scenarios:
        deps = _paths(scenario.receiver["topology"])
        related = {(a, b) for a in deps for b in deps[a]}
        related |= {(b, a) for a, b in related}
        by_source = {}
        for occurrence in scenario.alerts:
            by_source.setdefault(occurrence.source, set()).add(occurrence.labels["service"])
        failing = {s for source, services in by_source.items() if source.startswith("cause:") for s in services}
        noisy = [services for source, services in by_source.items() if source.startswith("noise:")]
        for services in noisy:
            (service,) = services
            assert not any((service, f) in related for f in failing), (scenario.name, service)
        for cause, root in scenario.causes.items():
            assert root in by_source[f"cause:{cause}"]  # the failing service alerts itself
            victims = by_source[f"cause:{cause}"] - {root}
            assert all(root in deps[v] for v in victims)  # every victim depends on it
        firing_sets = Counter((tuple(sorted(o.labels.items())), o.starts) for o in scenario.alerts)
        assert max(firing_sets.values()) == 1


def test_the_same_seed_gives_the_same_storm_and_hidden_edges_leave_the_topology_only():
    assert storm_gen.storm(7) == storm_gen.storm(7)
    full, partial = storm_gen.storm(7), storm_gen.storm(7, hide_edges=1.0)
    assert full["alerts"] == partial["alerts"] and full["causes"] == partial["causes"]
    assert all(not spec for spec in partial["receiver"]["topology"].values())
    assert any(spec for spec in full["receiver"]["topology"].values())


def test_the_generator_refuses_a_share_of_edges_outside_zero_to_one(tmp_path):
    with pytest.raises(SystemExit):
        storm_gen.main(["--out", str(tmp_path), "--hide-edges", "1.5"])
