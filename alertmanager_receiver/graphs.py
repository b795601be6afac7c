"""The dependency graph each scope sees: the explicit topology plus the edges learned in that scope.

Explicit edges come from `topology:` (and, when configured, from discovery); inferred ones from
co-occurrence (cooccurrence.py), which differs per scope. A scope's graph is built when first
asked for and rebuilt only when the explicit topology or that scope's inferred edges changed.
Thread-safe; no I/O (the caller persists what the learning changed, cooccurrence_repo.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from .cooccurrence import CoOccurrence, Scope, scope_key
from .topology import Edge, Topology

REFRESH = 60.0  # seconds a scope's graph is reused while its learned pairs do not change


class ServiceGraphs:
    def __init__(self, explicit: Topology, learning: CoOccurrence, group_by: tuple[str, ...]):
        self.group_by = group_by
        self.learning = learning
        self._explicit = explicit
        self._lock = threading.RLock()
        self._cache: dict[Scope, tuple[int, float, Topology]] = {}  # scope -> (learning version, when, graph)
        self._homes: dict[tuple[Scope, str], int] = {}  # (scope, service) -> incident of its latest alert (memory)

    @property
    def explicit(self) -> Topology:
        return self._explicit

    def set_explicit(self, topology: Topology) -> None:
        """Replace the explicit graph (topology discovery refreshed it)."""
        with self._lock:
            self._explicit = topology
            self._cache.clear()

    def scope(self, values: dict[str, str] | None) -> Scope:
        return scope_key(values, self.group_by)

    def for_scope(self, values: dict[str, str] | None, now: float) -> Topology:
        """The graph alerts of this scope are correlated and ranked over.

        Rebuilt when the scope's learned pairs changed, or after REFRESH seconds (decay moves thresholds).
        """
        scope = self.scope(values)
        with self._lock:
            self.learning.flush(now)
            version = self.learning.version.get(scope, 0)
            cached = self._cache.get(scope)
            if cached is not None and cached[0] == version and now - cached[1] < REFRESH:
                return cached[2]
            inferred = self.learning.edges(scope, now)
            graph = self._explicit.with_edges(inferred) if inferred else self._explicit
            self._cache[scope] = (version, now, graph)
            return graph

    def recent_onsets(self, values: dict[str, str] | None, since: float, until: float
                      ) -> list[tuple[str, float, int | None]]:
        """(service, onset time, incident of its latest alert) of the scope's services whose latest onset
        lies in [since, until]."""
        with self._lock:
            scope = self.scope(values)
            return [(service, stats.last_onset, self._homes.get((scope, service))) for service, stats in
                    self.learning.recent_onsets(scope, since, until)]

    def inferred_edges(self, now: float) -> list[tuple[Scope, Edge]]:
        with self._lock:
            scopes = {scope for scope, _ in self.learning.onsets}
            return [(scope, edge) for scope in sorted(scopes) for edge in self.learning.edges(scope, now)]

    # ---- learning (the caller persists take_dirty()) ---------------------------------
    def observe(self, values: dict[str, str] | None, service: str, at: float, incident: int | None = None) -> None:
        with self._lock:
            scope = self.scope(values)
            self.learning.observe(scope, service, at)
            if incident is not None:
                if len(self._homes) > 100_000:
                    self._homes.clear()
                self._homes[(scope, service)] = incident

    def weaken(self, values: dict[str, str] | None, services: Iterable[str], others: Iterable[str] | None = None
               ) -> None:
        with self._lock:
            self.learning.weaken(self.scope(values), services, others)

    def strengthen(self, values: dict[str, str] | None, first: Iterable[str], second: Iterable[str],
                   at: float) -> None:
        with self._lock:
            self.learning.strengthen(self.scope(values), first, second, at)

    def flush(self, now: float) -> None:
        """Count the pairs of episodes that are over by now (maintenance persists them every interval)."""
        with self._lock:
            self.learning.flush(now)

    def take_dirty(self):
        """What learning changed since the last call: (onset keys, pair keys) to persist."""
        with self._lock:
            self.learning.prune()
            return self.learning.take_dirty()
