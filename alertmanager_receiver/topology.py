"""The service dependency graph: who depends on whom, transitively, and how sure we are of each edge.

An edge `a -> b` means a depends on b (a problem in b can show up in a). Each edge has a
source: `configured` (the receiver's `topology:`), `discovered` (read from Prometheus) or
`inferred` (learned from services that alert together, cooccurrence.py). Explicit edges
(configured, discovered) count fully; a path through an inferred edge is weaker (INFERRED_WEIGHT).
Pure: no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

EXPLICIT = ("configured", "discovered")
INFERRED_WEIGHT = 0.5


@dataclass(frozen=True)
class Edge:
    dependent: str  # the caller
    dependency: str  # what it depends on
    source: str  # configured | discovered | inferred
    detail: dict = field(default_factory=dict, compare=False, hash=False)  # e.g. {"seen_together": 4}

    @property
    def explicit(self) -> bool:
        return self.source in EXPLICIT

    def describe(self) -> str:
        if self.source == "inferred":
            return f"inferred (seen together {self.detail.get('seen_together', 0):g} times)"
        return self.source


@dataclass(frozen=True)
class Path:
    """A dependency path [service, ..., dependency] and the edges it takes."""

    nodes: tuple[str, ...]
    edges: tuple[Edge, ...]

    @property
    def explicit(self) -> bool:
        return all(e.explicit for e in self.edges)

    @property
    def weight(self) -> float:
        """1 for a path of explicit edges, INFERRED_WEIGHT when it needs an inferred one."""
        return 1.0 if self.explicit else INFERRED_WEIGHT

    def text(self) -> str:
        out = self.nodes[0]
        for edge, node in zip(self.edges, self.nodes[1:]):
            out += f" -> {node}" + ("" if edge.explicit else " [inferred]")
        return out


class Topology:
    def __init__(self, depends_on: Mapping[str, Iterable[str]] | None = None,
                 criticality: Mapping[str, str] | None = None, edges: Iterable[Edge] = ()):
        self.criticality = dict(criticality or {})
        self._out: dict[str, dict[str, Edge]] = {}
        for name, deps in (depends_on or {}).items():
            for dep in deps:
                self._add(Edge(name, dep, "configured"))
        for edge in edges:
            self._add(edge)
        self._in: dict[str, dict[str, Edge]] = {}
        for edge in self.edges():
            self._in.setdefault(edge.dependency, {})[edge.dependent] = edge
        self._down: dict[str, dict[str, Path]] = {}  # memo: service -> its dependencies with best paths
        self._up: dict[str, dict[str, Path]] = {}  # memo: service -> its dependents with best paths

    def _add(self, edge: Edge) -> None:
        if edge.dependent == edge.dependency:
            return
        current = self._out.setdefault(edge.dependent, {}).get(edge.dependency)
        if current is None or (edge.explicit and not current.explicit) or \
                (current.source == "discovered" and edge.source == "configured"):
            self._out[edge.dependent][edge.dependency] = edge  # configured > discovered > inferred

    @classmethod
    def from_config(cls, topology) -> Topology:
        return cls({n: node.depends_on for n, node in topology.items()},
                   {n: node.criticality for n, node in topology.items()})

    def with_edges(self, edges: Iterable[Edge]) -> Topology:
        """This graph plus more edges (an existing edge keeps the stronger source)."""
        return Topology(None, self.criticality, list(self.edges()) + list(edges))

    def edges(self) -> list[Edge]:
        return [edge for deps in self._out.values() for edge in deps.values()]

    @property
    def depends_on(self) -> dict[str, list[str]]:
        return {name: sorted(deps) for name, deps in self._out.items()}

    def direct_dependencies(self, service: str) -> list[str]:
        return sorted(self._out.get(service, {}))

    def direct_dependents(self, service: str) -> list[str]:
        return sorted(self._in.get(service, {}))

    def only_discovered(self, service: str) -> bool:
        """Whether every edge into `service` was discovered (a node the service graph alone knows of)."""
        incoming = self._in.get(service, {})
        return bool(incoming) and all(edge.source == "discovered" for edge in incoming.values())

    def knows(self, service: str) -> bool:
        return service in self._out or service in self._in

    def _reach(self, start: str, upward: bool) -> dict[str, Path]:
        """Services reachable from start (dependencies, or dependents when upward), each with its best path.

        Best: explicit before inferred, then the fewest hops (a BFS over explicit edges first).
        """
        memo = self._up if upward else self._down
        if start in memo:
            return memo[start]
        adjacency = self._in if upward else self._out
        paths: dict[str, Path] = {}
        for explicit_only in (True, False):
            queue = deque([(start, Path((start,), ()))])
            seen = {start}
            while queue:
                node, path = queue.popleft()
                for nxt, edge in sorted(adjacency.get(node, {}).items()):
                    if nxt in seen or (explicit_only and not edge.explicit):
                        continue
                    seen.add(nxt)
                    step = Path(path.nodes + (nxt,), path.edges + (edge,))
                    if nxt not in paths:
                        paths[nxt] = step
                    queue.append((nxt, step))
        memo[start] = paths
        return paths

    def dependency_path(self, service: str, dependency: str) -> Path | None:
        """The path service -> ... -> dependency if service depends on dependency (transitively)."""
        return self._reach(service, upward=False).get(dependency)

    def dependencies(self, service: str) -> dict[str, Path]:
        return self._reach(service, upward=False)

    def dependents(self, service: str) -> dict[str, Path]:
        """Services that depend on `service` (transitively), each with its path (dependent -> ... -> service)."""
        reversed_paths = self._reach(service, upward=True)
        return {other: Path(tuple(reversed(p.nodes)), tuple(reversed(p.edges))) for other, p in reversed_paths.items()}

    def all_dependents(self, service: str) -> set[str]:
        return set(self._reach(service, upward=True))

    def link(self, a: str, b: str) -> Path | None:
        """A dependency path between a and b in either direction, or None."""
        return self.dependency_path(a, b) or self.dependency_path(b, a)
