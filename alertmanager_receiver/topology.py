"""The service dependency graph: who depends on whom, transitively."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping


class Topology:
    def __init__(self, depends_on: Mapping[str, list[str]], criticality: Mapping[str, str] | None = None):
        self.depends_on = {name: list(deps) for name, deps in depends_on.items()}
        self.criticality = dict(criticality or {})
        self.dependents: dict[str, list[str]] = {}
        for name, deps in self.depends_on.items():
            for dep in deps:
                self.dependents.setdefault(dep, []).append(name)

    @classmethod
    def from_config(cls, topology) -> Topology:
        return cls({n: node.depends_on for n, node in topology.items()},
                   {n: node.criticality for n, node in topology.items()})

    def _reach(self, start: str, edges: Mapping[str, list[str]]) -> dict[str, list[str]]:
        """Services reachable from start along edges, each with the path that reaches it."""
        paths = {start: [start]}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for nxt in edges.get(node, []):
                if nxt not in paths:
                    paths[nxt] = paths[node] + [nxt]
                    queue.append(nxt)
        paths.pop(start)
        return paths

    def dependency_path(self, service: str, dependency: str) -> list[str] | None:
        """[service, ..., dependency] if service depends on dependency (transitively)."""
        return self._reach(service, self.depends_on).get(dependency)

    def all_dependents(self, service: str) -> set[str]:
        return set(self._reach(service, self.dependents))

    def link(self, a: str, b: str) -> list[str] | None:
        """A dependency path between a and b in either direction, or None."""
        return self.dependency_path(a, b) or self.dependency_path(b, a)
