"""Root cause from metrics on generated incidents: random service graphs with untraced nodes, known causes.

    .venv/bin/python -m benchmarks.rca_synthetic [--count 2000] [--seed 1] [--noise 0.1] [--output FILE]

PetShop (benchmarks/rca_petshop.py) is one application. This draws as many as wanted, none shaped by
hand, and runs the receiver's pure ranking (`metric_rca.summarize` and `metric_rca.rank`) on them, so
that a ranking rule is measured on graphs it was not written for. An incident has:

- a random dependency graph (benchmarks/storm_gen.Graph: 10 to 18 services, each calling up to two
  others, no cycles). Its leaves send no spans (databases, queues, external APIs): the graph the
  receiver sees has the edges into them, as a service graph discovers them, and none out of them;
- load balancers: each service with callers of its own is fronted by an untraced balancer with
  probability 0.3; its callers call both (as PetShop's front end calls a balancer and the service
  behind it), the balancer's call to the service is not seen;
- a cause: any service or balancer with callers (a leaf, a traced service, a balancer). Everything
  that depends on it through the true graph (hidden edges included) is anomalous with probability
  0.8, each hop later and weaker; a balancer in front of an anomalous service peaks 1 to 1.5 times as
  high, one step later at most;
- noise: every other service has an unrelated episode in the window with probability `--noise`, and
  every series a blip just over its usual high with probability 0.02 per sample (one noisy sample);
- the alert: the topmost anomalous service (the one nothing anomalous depends on), when its episode
  begins.

Each service's scores are 12 samples at a 5-minute step (the receiver's lookback of an hour), summarised
and ranked as the receiver does (`step` 300 s, `max_hops` 4). Prints top-1 / top-3 recall of the true
cause, overall and by the kind of cause, for the ranking as it is and with each of its 2026-12-05 rules
off (onset from the episode that holds the peak; a balancer standing in front of a traced sibling),
all on the same incidents.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from collections import defaultdict
from pathlib import Path

from alertmanager_receiver.metric_rca import FORWARDED, ServiceEvidence, rank, summarize
from alertmanager_receiver.topology import Edge, Topology
from benchmarks.storm_gen import Graph

STEP = 300.0
SAMPLES = 12
T0 = 1_800_000_000.0
BLIP = 0.02


def first_crossing(points: list[tuple[float, float]], usual_high: float | None) -> ServiceEvidence:
    """The onset before 2026-12-05: the first sample at or above the usual high anywhere in the window."""
    found = summarize(points, usual_high)
    onset = next((t for t, v in points if math.isfinite(v) and v >= found.usual), None)
    return ServiceEvidence(found.peak, found.usual, onset)


def incident(rng: random.Random, noise: float) -> dict:
    graph = Graph(rng)
    true_deps = {s: list(deps) for s, deps in graph.depends_on.items()}
    seen_edges = [(s, d) for s, deps in true_deps.items() for d in deps]
    kinds = {s: ("leaf" if not deps else "service") for s, deps in true_deps.items()}
    for service in list(graph.services):
        callers = [c for c in graph.services if service in true_deps[c]]
        if callers and true_deps[service] and rng.random() < 0.3:
            lb = f"{service}-lb"
            kinds[lb], true_deps[lb] = "balancer", [service]
            for caller in callers:
                true_deps[caller].append(lb)
                seen_edges.append((caller, lb))
    callers_of = defaultdict(list)
    for s, deps in true_deps.items():
        for d in deps:
            callers_of[d].append(s)
    cause = rng.choice(sorted(s for s in true_deps if callers_of[s]))
    strength = {cause: rng.uniform(1.5, 3.0)}  # ln(peak / usual): peaks of 4.5 to 20
    onset = {cause: rng.randint(2, 5)}
    frontier = [cause]
    while frontier:
        node = frontier.pop()
        for caller in callers_of[node]:
            if caller in strength:
                continue
            if kinds[caller] == "balancer":
                strength[caller] = strength[node] + math.log(rng.uniform(1.0, 1.5))
                onset[caller] = onset[node] + rng.choice([0, 0, 1])
            elif rng.random() < 0.8:
                strength[caller] = strength[node] * rng.uniform(0.5, 0.9)
                onset[caller] = min(SAMPLES - 2, onset[node] + rng.choice([0, 1, 1, 2]))
            else:
                continue
            frontier.append(caller)
    affected = set(strength)
    for s in true_deps:
        if s not in strength and rng.random() < noise:
            strength[s], onset[s] = rng.uniform(0.3, 2.0), rng.randint(0, SAMPLES - 2)
    points = {}
    for s in true_deps:
        values = [rng.uniform(0.0, 0.5) if rng.random() >= BLIP else rng.uniform(1.0, 1.3) for _ in range(SAMPLES)]
        if s in strength:
            peak = math.exp(strength[s])
            for i in range(onset[s], min(SAMPLES, onset[s] + rng.randint(2, 4))):
                values[i] = max(values[i], peak * (0.6 if i == onset[s] else 1.0))
        points[s] = [(T0 + i * STEP, v) for i, v in enumerate(values)]
    top = sorted(s for s in affected if not any(c in affected for c in callers_of[s]))
    alerting = top[0]  # the failure's topmost anomalous service (the cause itself when nothing above it is)
    return {"cause": cause, "kind": kinds[cause], "alerting": alerting, "alert_at": T0 + onset.get(alerting, 0) * STEP,
            "edges": seen_edges, "points": points}


def ranked(case: dict, onset_rule, forwarded: float) -> list[str]:
    topology = Topology(None, None, [Edge(a, b, "discovered") for a, b in case["edges"]])
    evidence = {s: onset_rule(p, None) for s, p in case["points"].items()}
    return [c.service for c in rank({case["alerting"]: case["alert_at"]}, topology, evidence, max_hops=4, step=STEP,
                                    forwarded=forwarded)]


VARIANTS = {"as it is": (summarize, FORWARDED), "onset rule off": (first_crossing, FORWARDED),
            "forwarding off": (summarize, 0.0), "both off": (first_crossing, 0.0)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000, help="incidents to draw")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--noise", type=float, default=0.1, help="chance of an unrelated episode per other service")
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    cases = [incident(rng, args.noise) for _ in range(args.count)]
    figures: dict = {}
    for name, (onset_rule, forwarded) in VARIANTS.items():
        hits: dict = defaultdict(lambda: [0, 0, 0])
        for case in cases:
            names = ranked(case, onset_rule, forwarded)
            for key in ("all", case["kind"]):
                hits[key][0] += names[:1] == [case["cause"]]
                hits[key][1] += case["cause"] in names[:3]
                hits[key][2] += 1
        figures[name] = {k: {"top1": round(a / n, 3), "top3": round(b / n, 3), "n": n} for k, (a, b, n) in hits.items()}
    print(f"{args.count} incidents (seed {args.seed}, noise {args.noise}); top-1 / top-3 of the true cause")
    keys = ["all", "service", "leaf", "balancer"]
    print(f"{'ranking':<16}" + "".join(f"{k + ' (' + str(figures['as it is'].get(k, {}).get('n', 0)) + ')':>22}"
                                      for k in keys))
    for name, by_kind in figures.items():
        print(f"{name:<16}" + "".join(f"{by_kind[k]['top1']:>14.3f} / {by_kind[k]['top3']:.3f}" if k in by_kind
                                      else f"{'-':>22}" for k in keys))
    if args.output:
        args.output.write_text(json.dumps({"count": args.count, "seed": args.seed, "noise": args.noise,
                                           "figures": figures}, indent=2) + "\n")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
