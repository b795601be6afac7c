"""Root cause from metrics: rank alerting and silent services by their anomaly scores and the call graph. Pure.

Evidence per service (evidence.py reads it from Prometheus), over [first alert - lookback, now]:
- `peak`: its highest score; `usual`: max(1, its 99th percentile over the baseline span before);
- `strength` = ln(peak / usual), 0 when not above both: how far beyond its own usual highs it went
  (a service that often scores 2 is not evidence at 2; a quiet one at 6 is);
- `onset`: when the episode that reached the peak began (the run of samples at or above `usual` holding it).

A candidate is any anomalous service (strength > 0) among the alerting services and their
dependencies within `max_hops`; an alerting service without scores counts as anomalous with
strength ALERT_STRENGTH from its first alert. Its score:

    (strength + EXPLAIN x sum over anomalous services depending on it of min(their strength, its strength))
    x (1 - victim)

- victim: the largest strength ratio of an anomalous dependency of it that started no later (within
  one step), when that ratio is at least VICTIM_RATIO: its anomaly is then better explained below it,
  and so is what it would explain (that dependency explains the same dependents, so a victim does not
  collect their credit a second time);
- forwarded: a leaf that only the discovered service graph knows of has calls nobody traces (a load
  balancer, a proxy or a gateway in front of a service is such a node: it emits no spans of its own).
  When a service that its callers also call, whose own calls are seen and which does not depend on
  it, is anomalous, started no later and has at least VICTIM_RATIO of its strength, the leaf may be
  standing in front of that service: it counts as a victim at FORWARDED times that ratio (a possible
  edge, not a known one). A service whose calls are seen cannot be a victim of such a leaf the same
  way: if it called the leaf, the graph would show it;
- explains: what it would explain, each dependent counting at most its own strength (a faint
  anomaly cannot explain a loud one on its own);
- not reachable from an alerting service through anomalous services (or ones without scores):
  the score is halved (DISCONNECTED).

So the strong candidate is anomalous, the alerting services depend on it through anomalous
services, and its own dependencies are normal or became anomalous after it did.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .rootcause import Candidate
from .topology import Path, Topology

ALERT_STRENGTH = 1.0
EXPLAIN = 0.5
VICTIM_RATIO = 0.5
DISCONNECTED = 0.5
FORWARDED = 0.5


@dataclass(frozen=True)
class ServiceEvidence:
    peak: float
    usual: float
    onset: float | None

    @property
    def strength(self) -> float:
        return max(0.0, math.log(self.peak / self.usual)) if self.peak > 0 and self.usual > 0 else 0.0

    def as_dict(self) -> dict:
        return {"peak": round(self.peak, 3), "usual": round(self.usual, 3), "onset": self.onset}

    @classmethod
    def from_dict(cls, data: dict) -> ServiceEvidence:
        return cls(float(data["peak"]), float(data["usual"]), data.get("onset"))


def summarize(points: list[tuple[float, float]], usual_high: float | None) -> ServiceEvidence:
    """Evidence from a service's score samples [(t, score)] and its baseline 99th percentile.

    The onset is when the episode that reached the peak began: the first sample of the run of samples at or
    above the usual high that holds the peak. A blip just over the usual high earlier in the window, with
    ordinary samples after it, is noise that would date the anomaly too early (and make the service look
    like the first to fail); an episode that builds up over several samples keeps its start."""
    usual = max(1.0, usual_high or 0.0)
    finite = [(t, v) for t, v in points if math.isfinite(v)]
    if not finite:
        return ServiceEvidence(0.0, usual, None)
    top = max(range(len(finite)), key=lambda i: finite[i][1])
    peak = finite[top][1]
    if peak < usual:
        return ServiceEvidence(peak, usual, None)
    start = top
    while start > 0 and finite[start - 1][1] >= usual:
        start -= 1
    return ServiceEvidence(peak, usual, finite[start][0])


@dataclass
class _Node:
    service: str
    strength: float
    onset: float | None
    alerting: bool
    evidence: ServiceEvidence | None
    hops: int = 0
    path: Path | None = None
    factors: dict = field(default_factory=dict)
    in_front_of: list[str] = field(default_factory=list)  # services it may forward to unseen, as anomalous


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S")


def _closure(alerting: dict[str, float], topology: Topology, max_hops: int) -> dict[str, Path]:
    """Each service within max_hops dependencies of an alerting service, with the shortest path reaching it."""
    out: dict[str, Path] = {}
    for service in sorted(alerting):
        for dep, path in topology.dependencies(service).items():
            if len(path.edges) <= max_hops and (dep not in out or len(path.edges) < len(out[dep].edges)):
                out[dep] = path
    return out


def _connected(alerting: dict[str, float], target: str, nodes: dict[str, _Node], known: set[str],
               topology: Topology, max_hops: int) -> bool:
    """Whether an alerting service reaches target through services that are anomalous or have no scores."""
    for start in alerting:
        queue, seen = deque([(start, 0)]), {start}
        while queue:
            node, depth = queue.popleft()
            for dep in topology.direct_dependencies(node):
                if dep in seen or depth + 1 > max_hops:
                    continue
                if dep == target:
                    return True
                if dep in nodes or dep not in known:
                    seen.add(dep)
                    queue.append((dep, depth + 1))
    return False


def rank(alerting: dict[str, float], topology: Topology, evidence: dict[str, ServiceEvidence], max_hops: int = 4,
         step: float = 60.0, top: int = 3, forwarded: float = FORWARDED) -> list[Candidate]:
    """Alerting and silent services, most probable root cause first (empty when nothing is anomalous).

    `forwarded` weighs a possible unseen edge from an untraced leaf (FORWARDED; 0 turns the rule off)."""
    closure = _closure(alerting, topology, max_hops)
    nodes: dict[str, _Node] = {}
    for service in set(closure) | set(alerting):
        ev = evidence.get(service)
        if ev is not None and ev.strength > 0:
            nodes[service] = _Node(service, ev.strength, ev.onset, service in alerting, ev)
        elif service in alerting and ev is None:
            nodes[service] = _Node(service, ALERT_STRENGTH, alerting[service], True, None)
    for service, ev in evidence.items():  # anomalous dependents outside the closure explain too
        if service not in nodes and ev.strength > 0:
            nodes[service] = _Node(service, ev.strength, ev.onset, False, ev)
    candidates = [n for n in nodes.values() if n.service in closure or n.alerting]
    if not candidates:
        return []
    known = set(evidence)
    ranked = []
    for node in candidates:
        node.path = closure.get(node.service)
        node.factors = _factors(node, nodes, topology, step, forwarded)
        connected = node.alerting or _connected(alerting, node.service, nodes, known, topology, max_hops)
        node.factors["connected"] = 1.0 if connected else 0.0
        score = (node.strength + EXPLAIN * node.factors["explains"]) * (1 - node.factors["victim"])
        ranked.append(Candidate(node.service, score if connected else score * DISCONNECTED,
                                _explain(node, alerting, nodes, topology), node.factors,
                                first_alert_at=alerting.get(node.service, node.onset or 0.0), alerting=node.alerting,
                                evidence=_evidence_dict(node)))
    ranked.sort(key=lambda c: (-round(c.score, 9), c.first_alert_at, c.service))
    for this, runner_up in zip(ranked, ranked[1:]):
        this.decided_by = _decided_by(this, runner_up)
    return ranked[:top]


def _victim_ratio(node: _Node, other: _Node | None, step: float) -> float:
    """How much `other`, were `node` depending on it, would explain node's anomaly (0: not at all)."""
    if other is None or other.onset is None or node.onset is None or other.onset > node.onset + step:
        return 0.0
    ratio = other.strength / node.strength
    return min(1.0, ratio) if ratio >= VICTIM_RATIO else 0.0


def may_stand_in_front_of(service: str, nodes: Iterable[str], topology: Topology) -> list[str]:
    """Services among `nodes` that `service` may call unseen: `service` is a leaf that only the discovered graph
    knows of, they share a caller with it, their own calls are seen and none of them depends on `service`."""
    if topology.direct_dependencies(service) or not topology.only_discovered(service):
        return []
    among = set(nodes)
    siblings = {sibling for caller in topology.direct_dependents(service)
                for sibling in topology.direct_dependencies(caller)}
    return sorted(s for s in siblings & among if s != service and topology.direct_dependencies(s)
                  and service not in topology.dependencies(s))


def _factors(node: _Node, nodes: dict[str, _Node], topology: Topology, step: float,
             weight: float) -> dict[str, float]:
    victim = max((_victim_ratio(node, nodes.get(dep), step) for dep in topology.dependencies(node.service)),
                 default=0.0)
    behind = {s: _victim_ratio(node, nodes[s], step) for s in may_stand_in_front_of(node.service, nodes, topology)}
    node.in_front_of = sorted(s for s, ratio in behind.items() if ratio > 0)
    forwarded = weight * max(behind.values(), default=0.0)
    explains = sum(min(other.strength, node.strength) for other in nodes.values()
                   if other.service != node.service and node.service in topology.dependencies(other.service))
    return {"strength": node.strength, "victim": max(victim, forwarded), "forwarded": forwarded, "explains": explains}


def _evidence_dict(node: _Node) -> dict:
    out: dict = node.evidence.as_dict() if node.evidence is not None else {"from": "alert"}
    if node.path is not None:
        out["path"] = list(node.path.nodes)
    return out


def _explain(node: _Node, alerting: dict[str, float], nodes: dict[str, _Node], topology: Topology) -> str:
    parts = []
    ev = node.evidence
    if ev is not None and node.onset is not None:
        first_alert = min(alerting.values())
        lead = (first_alert - node.onset) / 60
        timing = f"{lead:.0f} min before the first alert" if lead >= 0.5 else \
            (f"{-lead:.0f} min after the first alert" if lead <= -0.5 else "at the first alert")
        parts.append(f"anomalous from {_when(node.onset)} (peak {ev.peak:.1f}, usually below {ev.usual:.1f}), {timing}")
    elif node.alerting:
        parts.append(f"alerting since {_when(alerting[node.service])} (no anomaly scores)")
    if node.path is not None:
        parts.append(node.path.text())
    dependents = sorted(o.service for o in nodes.values()
                        if o.service != node.service and node.service in topology.dependencies(o.service))
    if dependents:
        parts.append(f"{len(dependents)} anomalous service(s) depend on it ({', '.join(dependents[:4])}"
                     f"{' and more' if len(dependents) > 4 else ''})")
    if node.factors.get("victim", 0) > node.factors.get("forwarded", 0):
        below = sorted(d for d in topology.dependencies(node.service) if d in nodes)
        parts.append(f"but its dependency {', '.join(below[:3])} is as anomalous and started no later: "
                     "it may be a victim")
    elif node.factors.get("forwarded", 0) > 0:
        parts.append(f"but its calls are not traced, and {', '.join(node.in_front_of[:3])}, which its callers also call, "
                     "is as anomalous and started no later: it may stand in front of it (a balancer or proxy)")
    else:
        parts.append("its own dependencies are normal or became anomalous after it")
    if not node.alerting:
        parts.append("silent: no alert of its own")
    if not node.factors.get("connected", 1.0):
        parts.append("no anomalous path from the alerting services reaches it")
    return f"{node.service}: " + "; ".join(parts)


WORDS = {"strength": "its anomaly is stronger", "victim": "none of its dependencies explains it",
         "explains": "it explains more anomalous services", "connected": "an anomalous path reaches it"}


def _decided_by(this: Candidate, runner_up: Candidate) -> str:
    if round(this.score, 9) == round(runner_up.score, 9):
        return f"above {runner_up.service} because it became anomalous or alerted earlier"
    weights = {"strength": 1.0, "victim": -this.factors.get("strength", 0.0), "explains": EXPLAIN, "connected": 1.0}
    deltas = {k: w * (this.factors.get(k, 0.0) - runner_up.factors.get(k, 0.0)) for k, w in weights.items()}
    reason = max(deltas, key=lambda k: deltas[k])
    if reason == "victim" and runner_up.factors.get("forwarded", 0.0) >= runner_up.factors.get("victim", 0.0) > 0:
        return (f"above {runner_up.service} because {runner_up.service}, whose calls are not traced, may only stand in "
                "front of it")
    return f"above {runner_up.service} because {WORDS[reason]}"
