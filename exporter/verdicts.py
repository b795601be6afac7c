"""Reads operator verdicts from the receiver's GET /api/v1/feedback and keeps the multipliers.

Called from the refresh loop (never from a scrape). A receiver that is down
or answers garbage is counted and logged; the multipliers in effect stay.
With `state_file`, the multipliers and the read position survive restarts
in that file; without it, the exporter re-reads every verdict from the
receiver's database at start (the fold is deterministic, see feedback.py).
"""

from __future__ import annotations

import json
import logging

import requests

from aiops_common.auth import bearer_headers
from aiops_common.files import write_atomically

from .config import FeedbackConfig
from .feedback import Sensitivity, SensitivityRules
from .selfmetrics import SelfMetrics

log = logging.getLogger(__name__)
PAGE = 1000


class FeedbackError(Exception):
    pass


class VerdictPoller:
    def __init__(self, cfg: FeedbackConfig, queries: set[str], metrics: SelfMetrics):
        self.cfg, self.queries, self.metrics = cfg, queries, metrics
        rules = SensitivityRules(cfg.widen_factor, cfg.max_multiplier, cfg.half_life)
        self.sensitivity = self._load(rules)
        self.next_poll = 0.0
        self.session = requests.Session()
        if cfg.basic_auth is not None:
            self.session.auth = cfg.basic_auth.as_tuple()
        for verdict in ("false_positive", "useful"):
            for result in ("applied", "ignored"):
                metrics.feedback_verdicts.labels(verdict, result)

    def _load(self, rules: SensitivityRules) -> Sensitivity:
        path = self.cfg.state_file
        if path is None or not path.exists():
            return Sensitivity(rules)
        try:
            state = Sensitivity.from_dict(json.loads(path.read_text()), rules)
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.error("feedback: cannot read state file %s (%s); re-reading every verdict from the receiver", path, err)
            return Sensitivity(rules)
        log.info("feedback: %d multipliers loaded from %s", len(state.entries), path)
        return state

    def _save(self) -> None:
        path = self.cfg.state_file
        if path is None:
            return
        try:
            write_atomically(path, lambda handle: json.dump(self.sensitivity.to_dict(), handle))
        except OSError as err:
            log.error("feedback: cannot write state file %s: %s", path, err)

    def _fetch(self, since: float) -> list[dict]:
        headers = bearer_headers(None, self.cfg.bearer_token_file)
        try:
            response = self.session.get(f"{self.cfg.url}/api/v1/feedback", params={"since": repr(since), "limit": str(PAGE)},
                                        headers=headers, timeout=self.cfg.timeout)
        except requests.RequestException as err:
            raise FeedbackError(f"{type(err).__name__}: {err}") from None
        if response.status_code != 200:
            raise FeedbackError(f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            verdicts = response.json()["feedback"]
            if not isinstance(verdicts, list):
                raise TypeError("feedback is not a list")
            return verdicts
        except (ValueError, KeyError, TypeError) as err:
            raise FeedbackError(f"malformed response: {err}") from None

    def poll(self, now: float) -> dict[str, dict[tuple, float]] | None:
        """Read new verdicts if due; returns the multipliers in effect per query (None if not due)."""
        if now < self.next_poll:
            return None
        self.next_poll = now + self.cfg.interval
        changed = False
        try:
            while True:
                # a little before the cursor: verdicts sharing its timestamp are skipped by id, not lost
                page = self._fetch(self.sensitivity.cursor - 0.001)
                new_in_page = False
                for verdict in page:
                    touched = self.sensitivity.apply(verdict, self.queries)
                    if touched is None:
                        continue
                    result = "applied" if touched else "ignored"
                    self.metrics.feedback_verdicts.labels(str(verdict.get("verdict")), result).inc()
                    if touched:
                        log.info("feedback: %s verdict %s on incident %s: %d series", verdict.get("verdict"),
                                 verdict.get("id"), verdict.get("incident_id"), touched)
                    changed = new_in_page = True
                if len(page) < PAGE or not new_in_page:
                    break
        except (FeedbackError, KeyError, TypeError, ValueError) as err:
            self.metrics.feedback_errors.inc()
            log.warning("feedback: cannot read verdicts from %s: %s", self.cfg.url, err)
        if changed:
            self._save()
        by_query: dict[str, dict[tuple, float]] = {q: {} for q in self.queries}
        for key, value in self.sensitivity.current(now).items():
            by_query.setdefault(key[0], {})[key] = value
        return by_query

