"""Learned co-occurrence: services that keep starting to alert together become inferred dependency edges.

Per scope (the values of `correlation.group_by`), an *onset* of a service is its first alert after
at least `window` without one. When service b has an onset within `window` after an onset of a,
the pair (a, b) was seen together, with a first. Counts decay with `half_life`. A pair counts
once its episode is over (`window` after the later onset), so an ongoing storm is ranked with
what was learned before it, not with its own order of arrival.

A pair becomes an inferred edge when, with decayed counts:
- it was seen together at least `min_count` times (decayed: three recent times count as about 2.9),
- in at least `min_confidence` of the onsets of the rarer of the two (they go together, not
  merely both alert a lot),
- at least `min_lift` times as often as chance would put two services' onsets within a window of
  each other, given how often each one alerts over the time observed,
- in the same order at least `min_order` of the time: the one that goes first is the dependency
  (the dependent alerts after its dependency).

Operators' corrections teach it: a `false_positive` verdict or a split halves the pairs an
incident joined; a manual merge counts its services as seen together once more. Memory and rows
are bounded by `max_pairs` (the weakest pairs are forgotten first). Pure: every change marks its
row dirty, and the caller persists what `take_dirty()` returns.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass

from .topology import Edge

Scope = tuple[str, ...]


@dataclass
class Onsets:
    count: float  # decayed number of onsets
    updated: float  # when count was last decayed
    last_onset: float
    last_alert: float
    first_seen: float


@dataclass
class Pair:
    together: float  # decayed times seen together
    a_first: float  # decayed times a (the lexicographically smaller) started first
    updated: float


@dataclass(frozen=True)
class Settings:
    window: float = 600.0
    half_life: float = 30 * 86400.0
    min_count: float = 2.5  # decayed: three recent co-occurrences count as about 2.9
    min_confidence: float = 0.5
    min_lift: float = 3.0
    min_order: float = 0.8
    max_pairs: int = 10000


def _decay(value: float, since: float, now: float, half_life: float) -> float:
    return value * 0.5 ** (max(now - since, 0.0) / half_life)


def ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


class CoOccurrence:
    def __init__(self, settings: Settings | None = None, enabled: bool = True):
        self.settings = settings or Settings()
        self.enabled = enabled  # disabled: onsets are still tracked (nearby candidates), but no pair or edge
        self.onsets: dict[tuple[Scope, str], Onsets] = {}
        self.pairs: dict[tuple[Scope, str, str], Pair] = {}
        self._pairs_by_scope: dict[Scope, set[tuple[str, str]]] = {}
        self.version: dict[Scope, int] = {}  # bumped whenever a pair of the scope changes
        self.pending: list[tuple[float, Scope, str, str]] = []  # heap of (at, scope, first, second): episode not over
        self._by_scope: dict[Scope, dict[str, Onsets]] = {}
        self._dirty_onsets: set[tuple[Scope, str]] = set()
        self._dirty_pairs: set[tuple[Scope, str, str]] = set()

    def take_dirty(self) -> tuple[list[tuple[Scope, str]], list[tuple[Scope, str, str]]]:
        """The onset and pair keys changed since the last call (to persist)."""
        onsets, pairs = sorted(self._dirty_onsets), sorted(self._dirty_pairs)
        self._dirty_onsets.clear()
        self._dirty_pairs.clear()
        return onsets, pairs

    def flush(self, now: float) -> None:
        """Count the pairs whose episode is over (`window` past)."""
        while self.pending and self.pending[0][0] <= now - self.settings.window:
            at, scope, first, second = heapq.heappop(self.pending)
            self._seen_together(scope, first, second, at)

    def recent_onsets(self, scope: Scope, since: float, until: float) -> list[tuple[str, Onsets]]:
        """Services of the scope whose latest onset lies in [since, until]."""
        return [(service, stats) for service, stats in self._by_scope.get(scope, {}).items()
                if since <= stats.last_onset <= until]

    def add_onsets(self, scope: Scope, service: str, stats: Onsets) -> None:
        self.onsets[(scope, service)] = stats
        self._by_scope.setdefault(scope, {})[service] = stats

    # ---- learning ------------------------------------------------------------------
    def observe(self, scope: Scope, service: str, at: float) -> bool:
        """A firing alert of `service` started at `at`; returns whether it was an onset.

        Only onsets are persisted: the time of the latest alert is kept in memory (after a restart
        an ongoing alert may count as one more onset).
        """
        s = self.settings
        self.flush(at)
        key = (scope, service)
        stats = self.onsets.get(key)
        if stats is not None and at - stats.last_alert < s.window and at >= stats.last_onset:
            stats.last_alert = max(stats.last_alert, at)
            return False
        if stats is None:
            stats = Onsets(0.0, at, at, at, at)
            self.add_onsets(scope, service, stats)
        stats.count = _decay(stats.count, stats.updated, at, s.half_life) + 1.0
        stats.updated, stats.last_onset, stats.last_alert = at, at, max(stats.last_alert, at)
        for other, _ in self.recent_onsets(scope, at - s.window, at):
            if other != service and self.enabled:
                heapq.heappush(self.pending, (at, scope, other, service))
        self._dirty_onsets.add(key)
        return True

    def _seen_together(self, scope: Scope, first: str, second: str, at: float) -> tuple[Scope, str, str]:
        a, b = ordered(first, second)
        key = (scope, a, b)
        pair = self.pairs.get(key)
        if pair is None:
            pair = self.add_pair(scope, a, b, Pair(0.0, 0.0, at))
        factor = _decay(1.0, pair.updated, at, self.settings.half_life)
        pair.together = pair.together * factor + 1.0
        pair.a_first = pair.a_first * factor + (1.0 if first == a else 0.0)
        pair.updated = max(pair.updated, at)
        self._changed(key)
        return key

    def add_pair(self, scope: Scope, a: str, b: str, pair: Pair) -> Pair:
        self.pairs[(scope, a, b)] = pair
        self._pairs_by_scope.setdefault(scope, set()).add((a, b))
        return pair

    def _changed(self, key: tuple[Scope, str, str]) -> None:
        self._dirty_pairs.add(key)
        self.version[key[0]] = self.version.get(key[0], 0) + 1

    def weaken(self, scope: Scope, services: Iterable[str], others: Iterable[str] | None = None,
               factor: float = 0.5) -> None:
        """Scale down the pairs among `services` (or between services and others): an operator said they were not related."""
        group = sorted(set(services))
        across = sorted(set(others)) if others is not None else None
        for i, a in enumerate(group):
            for b in (across if across is not None else group[i + 1:]):
                if a == b:
                    continue
                key = (scope, *ordered(a, b))
                pair = self.pairs.get(key)
                if pair is not None:
                    pair.together *= factor
                    pair.a_first *= factor
                    self._changed(key)

    def strengthen(self, scope: Scope, first: Iterable[str], second: Iterable[str], at: float) -> None:
        """An operator merged incidents: each service of `first` counts as seen together with each of `second`."""
        for a in sorted(set(first)):
            for b in sorted(set(second)):
                if a != b:
                    self._seen_together(scope, a, b, at)

    def prune(self) -> int:
        """Past max_pairs, forget the weakest pairs down to 90% of it (their rows are deleted on save)."""
        if len(self.pairs) <= self.settings.max_pairs:
            return 0
        extra = len(self.pairs) - int(self.settings.max_pairs * 0.9)
        weakest = sorted(self.pairs, key=lambda k: (self.pairs[k].together, self.pairs[k].updated))[:extra]
        for key in weakest:
            del self.pairs[key]
            self._pairs_by_scope[key[0]].discard((key[1], key[2]))
            self._changed(key)
        return extra

    # ---- inference -----------------------------------------------------------------
    def onset_count(self, scope: Scope, service: str, now: float) -> float:
        stats = self.onsets.get((scope, service))
        return _decay(stats.count, stats.updated, now, self.settings.half_life) if stats else 0.0

    def edges(self, scope: Scope, now: float) -> list[Edge]:
        """The inferred edges of a scope now (dependent -> dependency); episodes over by now are counted first."""
        if not self.enabled:
            return []
        self.flush(now)
        out = []
        for a, b in sorted(self._pairs_by_scope.get(scope, ())):
            edge = self._edge(scope, a, b, self.pairs[(scope, a, b)], now)
            if edge is not None:
                out.append(edge)
        return out

    def _edge(self, scope: Scope, a: str, b: str, pair: Pair, now: float) -> Edge | None:
        s = self.settings
        factor = _decay(1.0, pair.updated, now, s.half_life)
        together, a_first = pair.together * factor, pair.a_first * factor
        if together < s.min_count:
            return None
        n_a, n_b = self.onset_count(scope, a, now), self.onset_count(scope, b, now)
        if together < s.min_confidence * min(n_a, n_b):
            return None
        if together < s.min_lift * self._by_chance(scope, a, b, n_a, n_b, now):
            return None
        order = a_first / together
        if order >= s.min_order:
            dependency, dependent = a, b
        elif 1 - order >= s.min_order:
            dependency, dependent = b, a
        else:
            return None
        return Edge(dependent, dependency, "inferred",
                    {"seen_together": round(together, 1), "same_order": round(max(order, 1 - order), 2)})

    def _by_chance(self, scope: Scope, a: str, b: str, n_a: float, n_b: float, now: float) -> float:
        """Expected times two independent services' onsets fall within a window of each other."""
        first = min(self.onsets[(scope, a)].first_seen, self.onsets[(scope, b)].first_seen)
        span = max(now - first, self.settings.window)
        return n_a * n_b * min(1.0, 2 * self.settings.window / span)


def scope_key(values: dict[str, str] | None, labels: Iterable[str]) -> Scope:
    """A scope as a tuple of label values (missing labels are empty, as in Alertmanager's grouping)."""
    values = values or {}
    return tuple(values.get(name, "") for name in labels)

