"""Log evidence for an incident, read from the Prometheus that scrapes `aiops-exporter logs`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from .config import LogEvidenceConfig, PrometheusConfig
from .log_ranking import Key, label_matcher, rank_templates
from .prom import PrometheusError, PrometheusReader

log = logging.getLogger(__name__)


class LogEvidence:
    def __init__(self, prom: PrometheusConfig, cfg: LogEvidenceConfig, service_label: str,
                 clock: Callable[[], float] = time.time):
        self.prom, self.cfg, self.service_label, self.clock = prom, cfg, service_label, clock
        self.reader = PrometheusReader(prom)
        self._cache: dict[tuple, tuple[float, dict]] = {}
        self._lock = threading.Lock()

    def _query(self, expr: str, at: float) -> list[dict]:
        return self.reader.instant(expr, at)

    def _counts(self, selector: str, span: float, at: float) -> dict[Key, float]:
        expr = f"sum by (source, template_id, level) (increase(aiops_log_lines_total{selector}[{max(int(span), 1)}s]))"
        counts = {}
        for item in self._query(expr, at):
            m = item["metric"]
            counts[(m.get("source", ""), m.get("template_id", ""), m.get("level", ""))] = float(item["value"][1])
        return counts

    def for_incident(self, detail: dict) -> dict:
        """{"templates": [...], "window": {...}} or {"error": "..."}; cached for `cache_for` seconds."""
        services = [s for s in detail.get("services") or [] if s]
        if not services:
            return {"templates": [], "note": f"the incident's alerts carry no {self.service_label} label"}
        starts = [a["starts_at"] for a in detail.get("alerts") or []] or [detail["opened_at"]]
        start = min(starts)
        now = self.clock()
        key = (detail["id"], tuple(sorted(services)), start)
        with self._lock:
            cached = self._cache.get(key)
            if cached and cached[0] > now:
                return cached[1]
        evidence = self._compute(services, start, now)
        with self._lock:
            self._cache[key] = (now + self.cfg.cache_for, evidence)
            if len(self._cache) > 1000:
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
        return evidence

    def _compute(self, services: list[str], start: float, now: float) -> dict:
        selector = f'{{{self.service_label}=~"{label_matcher(services)}"}}'
        window_end = min(now, start + self.cfg.window)
        window_start = start - self.cfg.window
        span = max(window_end - window_start, 1.0)
        try:
            during = self._counts(selector, span, window_end)
            before = self._counts(selector, self.cfg.baseline, window_start)
            texts = {(i["metric"].get("source", ""), i["metric"].get("template_id", "")): i["metric"].get("template", "")
                     for i in self._query(f"aiops_log_template_info{selector}", window_end)}
        except (PrometheusError, ValueError, KeyError, TypeError) as err:
            log.warning("log evidence: Prometheus query failed: %s", err)
            return {"error": f"Prometheus query failed: {type(err).__name__}: {str(err)[:200]}"}
        ranked = rank_templates(during, before, span, self.cfg.baseline, texts, self.cfg.limit, self.cfg.min_records)
        return {"templates": [c.as_dict() for c in ranked],
                "window": {"from": _iso(window_start), "to": _iso(window_end),
                           "baseline_from": _iso(window_start - self.cfg.baseline)}}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
