"""Generated alert storms: random topologies, independent failures with known causes, unrelated noise.

    .venv/bin/python -m benchmarks.storm_gen --out DIR [--count 20] [--seed 1] [--hide-edges 0.0]
    .venv/bin/python -m benchmarks.incidents --data DIR

The storms in benchmarks/storms/ were written with the receiver's mechanisms in mind. These are
not: each is drawn from a seed, in the scenario format of devstack/storms.py, so the incidents
benchmark can be run on as many storms as wanted, none of them shaped by hand. A storm has:

- a random dependency graph of 10 to 18 services (each depends on up to two others, no cycles);
- 1 to 3 failures, at services that other services depend on, whose callers (transitively) do not
  overlap: each failing service alerts (in a quarter of the storms 1-2.5 minutes *after* its
  first victims), sometimes twice, and each of its callers alerts with probability 0.8, later the
  further up the graph it is, from 1 to 6 replicas; failures start together or minutes apart;
- 3 to 12 noise alerts (info or warning, some flapping) on services with no dependency path to any
  failing service or to each other, so that the ground truth (one incident per failure, one per
  noisy service) is what a topology-aware operator would also say.

`--hide-edges F` leaves a share F of the graph's edges out of the receiver's topology (the
failures still spread along them): how the receiver copes with a topology that is not complete.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import yaml

SERVICES = ["web", "api-gateway", "orders", "cart", "checkout", "payments", "catalog", "search", "inventory",
            "shipping", "users", "auth", "notifications", "reviews", "recommendations", "pricing", "billing",
            "reports", "media", "orders-db", "payments-db", "catalog-db", "users-db", "redis-cache", "kafka",
            "object-store", "mail-relay", "feature-flags", "scheduler", "audit-log"]
CAUSE_ALERTS = ["PostgresDown", "HighCPU", "DiskFull", "OOMKilled", "TooManyConnections", "ReplicationLag",
                "PodCrashLooping"]
VICTIM_ALERTS = ["HighErrorRate", "HighLatency", "UpstreamTimeouts", "SLOBurnRate", "Saturation"]
NOISE_ALERTS = ["JobSlow", "CertExpiringSoon", "QueueBacklog", "CacheMissRatio", "DiskFillingUp", "StaleConfig"]


class Graph:
    """A random dependency DAG: depends_on[s] lists the services s calls."""

    def __init__(self, rng: random.Random):
        self.services = rng.sample(SERVICES, rng.randint(10, 18))
        self.depends_on: dict[str, list[str]] = {}
        for i, service in enumerate(self.services):
            later = self.services[i + 1:]  # edges only point forward: no cycles
            picks = rng.choice([1, 1, 2]) if later and rng.random() < 0.8 else 0
            self.depends_on[service] = rng.sample(later, min(len(later), picks))
        self.callers = {s: [c for c in self.services if s in self.depends_on[c]] for s in self.services}

    def upstream(self, service: str) -> dict[str, int]:
        """Every service that (transitively) depends on `service`, with its shortest distance."""
        distance: dict[str, int] = {}
        frontier = [(service, 0)]
        while frontier:
            current, d = frontier.pop()
            for caller in self.callers[current]:
                if caller not in distance or distance[caller] > d + 1:
                    distance[caller] = d + 1
                    frontier.append((caller, d + 1))
        return distance

    def related(self, a: str, b: str) -> bool:
        return a == b or a in self.upstream(b) or b in self.upstream(a)


def failures(graph: Graph, rng: random.Random) -> list[tuple[str, dict[str, int]]]:
    """1 to 3 failing services whose affected sets (the service and its callers) do not overlap."""
    wanted = rng.choice([1, 1, 2, 2, 3])
    chosen: list[tuple[str, dict[str, int]]] = []
    affected: set[str] = set()
    for service in rng.sample(graph.services, len(graph.services)):
        up = graph.upstream(service)
        if not up or affected & (set(up) | {service}):
            continue
        chosen.append((service, up))
        affected |= set(up) | {service}
        if len(chosen) == wanted:
            break
    return chosen


def failure_alerts(cause: str, service: str, up: dict[str, int], start: int, rng: random.Random) -> list[dict]:
    late = rng.random() < 0.25  # the failing service's own alert comes after its first victims'
    at = start + (rng.randint(60, 150) if late else rng.randint(0, 20))
    alerts = [{"at": at, "service": service, "alertname": rng.choice(CAUSE_ALERTS),
               "severity": rng.choice(["critical", "critical", "warning"]), "cause": cause}]
    if rng.random() < 0.3:
        alerts.append({"at": at + rng.randint(30, 120), "service": service, "alertname": "SecondarySymptom",
                       "severity": "warning", "cause": cause})
    for victim, distance in sorted(up.items()):
        if rng.random() < 0.8:
            alert = {"at": start + distance * rng.randint(15, 45) + rng.randint(0, 10), "service": victim,
                     "alertname": rng.choice(VICTIM_ALERTS), "severity": rng.choice(["warning", "critical"]),
                     "cause": cause}
            replicas = rng.choice([1, 1, 2, 4, 6])
            if replicas > 1:
                alert["replicas"] = replicas
            alerts.append(alert)
    return alerts


def noise_alerts(graph: Graph, affected: set[str], rng: random.Random) -> list[dict]:
    """Alerts on services with no dependency path to a failing service's set or to each other."""
    quiet = [s for s in graph.services if not any(graph.related(s, a) for a in affected)]
    noisy: list[str] = []
    for service in rng.sample(quiet, len(quiet)):
        if not any(graph.related(service, other) for other in noisy):
            noisy.append(service)
    alerts: list[dict] = []
    for _ in range(rng.randint(3, 12)):
        if not noisy:
            break
        alert: dict = {"at": rng.randint(0, 400), "service": rng.choice(noisy), "alertname": rng.choice(NOISE_ALERTS),
                       "severity": rng.choice(["info", "info", "warning"]), "cause": None}
        if rng.random() < 0.15:
            alert["flap"] = {"times": rng.randint(2, 4), "every": rng.randint(60, 120), "lasts": rng.randint(20, 50)}
        if not any(a["service"] == alert["service"] and a["alertname"] == alert["alertname"] for a in alerts):
            alerts.append(alert)  # the same labels twice would be one alert to Alertmanager
    return alerts


def storm(seed: int, hide_edges: float = 0.0) -> dict:
    rng = random.Random(seed)
    graph = Graph(rng)
    alerts: list[dict] = []
    causes: dict[str, str] = {}
    affected: set[str] = set()
    for i, (service, up) in enumerate(failures(graph, rng)):
        start = rng.choice([0, rng.randint(0, 60), rng.randint(0, 240)])
        alerts += failure_alerts(f"c{i}", service, up, start, rng)
        causes[f"c{i}"] = service
        affected |= set(up) | {service}
    alerts += noise_alerts(graph, affected, rng)
    alerts.sort(key=lambda alert: alert["at"])
    shown = {s: [d for d in deps if rng.random() >= hide_edges] for s, deps in graph.depends_on.items()}
    topology = {s: ({"depends_on": deps} if deps else {}) for s, deps in shown.items()}
    hidden = sum(len(deps) for deps in graph.depends_on.values()) - sum(len(deps) for deps in shown.values())
    return {"name": f"generated-{seed}",
            "description": f"generated storm, seed {seed}: {len(causes)} failure(s), {len(graph.services)} services"
                           + (f", {hidden} edge(s) left out of the topology" if hidden else ""),
            "receiver": {"topology": topology}, "defaults": {"cluster": "gen-1", "namespace": "shop"},
            "alerts": alerts, "causes": causes}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="directory to write the storm files into")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1, help="first seed (storm i uses seed + i)")
    parser.add_argument("--hide-edges", type=float, default=0.0,
                        help="share of dependency edges left out of the receiver's topology (0-1)")
    args = parser.parse_args(argv)
    if not 0.0 <= args.hide_edges <= 1.0:
        parser.error("--hide-edges: must be between 0 and 1")
    args.out.mkdir(parents=True, exist_ok=True)
    for seed in range(args.seed, args.seed + args.count):
        path = args.out / f"generated-{seed}.yml"
        path.write_text(yaml.safe_dump(storm(seed, args.hide_edges), sort_keys=False))
    print(f"wrote {args.count} storm(s) to {args.out}; run: python -m benchmarks.incidents --data {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
