"""Topology discovered from Prometheus: service-graph metrics become `discovered` dependency edges.

Each source is a PromQL query whose result names a caller and a callee in two labels (Tempo's and
the OpenTelemetry Collector's servicegraph, Istio, Linkerd: see docs/receiver.md); the caller
depends on the callee. Every `topology_discovery.refresh` the sources are queried; the edges are
merged with the configured `topology:` (configured edges and criticality are kept even when not
discovered). A failing source is counted and logged, and its last good edges are kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .config import TopologyDiscoveryConfig
from .graphs import ServiceGraphs
from .prom import PrometheusError
from .topology import Edge, Topology

log = logging.getLogger(__name__)


@dataclass
class Parsed:
    edges: list[Edge] = field(default_factory=list)
    skipped: int = 0  # samples without both labels, or a service calling itself


def edges_from_result(result: Iterable[dict], caller_label: str, callee_label: str, source: str) -> Parsed:
    """Edges (caller depends on callee) from an instant-query result; samples lacking a label are skipped."""
    parsed = Parsed()
    seen: set[tuple[str, str]] = set()
    for sample in result:
        metric = sample.get("metric") or {}
        caller, callee = metric.get(caller_label), metric.get(callee_label)
        if not caller or not callee or caller == callee:
            parsed.skipped += 1
            continue
        if (caller, callee) not in seen:
            seen.add((caller, callee))
            parsed.edges.append(Edge(caller, callee, "discovered", {"via": source}))
    return parsed


class TopologyDiscovery:
    """Refreshes the discovered edges and hands the merged graph to ServiceGraphs."""

    def __init__(self, cfg: TopologyDiscoveryConfig, query: Callable[[str], list[dict]], configured: Topology,
                 graphs: ServiceGraphs, clock: Callable[[], float]):
        self.cfg, self.query, self.configured, self.graphs, self.clock = cfg, query, configured, graphs, clock
        self.names = [s.name or f"source-{i}" for i, s in enumerate(cfg.sources)]
        self.last_good: dict[str, list[Edge]] = {}
        self.errors: dict[str, int] = {name: 0 for name in self.names}
        self.last_refresh: float | None = None  # when every source last answered
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Query every source once; keep a failing source's last good edges; install the merged graph."""
        failed = []
        for name, source in zip(self.names, self.cfg.sources):
            try:
                parsed = edges_from_result(self.query(source.query), source.caller_label, source.callee_label, name)
            except PrometheusError as err:
                failed.append(name)
                with self._lock:
                    self.errors[name] += 1
                log.warning("topology discovery: source %s failed, keeping its last %d edges: %s", name,
                            len(self.last_good.get(name, [])), err)
                continue
            if parsed.skipped:
                log.info("topology discovery: source %s: %d sample(s) without %s and %s skipped", name,
                         parsed.skipped, source.caller_label, source.callee_label)
            if not parsed.edges:
                log.warning("topology discovery: source %s returned no edges (query: %s)", name, source.query)
            with self._lock:
                self.last_good[name] = parsed.edges
        with self._lock:
            discovered = [edge for edges in self.last_good.values() for edge in edges]
            if not failed:
                self.last_refresh = self.clock()
        self.graphs.set_explicit(self.configured.with_edges(discovered))
        log.info("topology discovery: %d discovered edge(s) from %d source(s)%s", len(discovered), len(self.names),
                 f"; failed: {', '.join(failed)}" if failed else "")

    def run(self, stop: threading.Event) -> None:
        """Refresh now, then every `refresh`, until stop is set."""
        while True:
            try:
                self.refresh()
            except Exception:  # discovery must never take the receiver down
                log.exception("topology discovery failed")
            if stop.wait(self.cfg.refresh):
                return
