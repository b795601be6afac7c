"""The worker: drains the action queue outside any webhook request."""

from __future__ import annotations

import logging
import threading
import time

from ..store import StoreUnavailable
from .queue import claim_next, expire_approvals, finish, interrupt_running

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, receiver, stop: threading.Event | None = None):
        self.receiver = receiver  # the app's Receiver
        self.stop = stop or threading.Event()

    def recover(self) -> None:
        with self.receiver.store.write() as conn:
            count = interrupt_running(conn, self.receiver.clock())
        if count:
            log.warning("%d action(s) were running when the receiver stopped; marked interrupted, not re-run", count)

    def run_one(self) -> bool:
        """Run the next runnable action; False when there is none."""
        receiver = self.receiver
        with receiver.store.write() as conn:
            expire_approvals(conn, receiver.clock())
            row = claim_next(conn, receiver.config.automation, receiver.clock())
        if row is None:
            return False
        started = time.perf_counter()
        status, reason, result = receiver.runner.run(row)
        self._record(row.id, status, reason, result)
        receiver.metrics.actions.labels(row.rule, row.action_type, status).inc()
        receiver.metrics.action_duration.observe(time.perf_counter() - started)
        log.info("action %d (%s/%s) %s: %s", row.id, row.rule, row.action_type, status, reason)
        return True

    def _record(self, action_id: int, status: str, reason: str, result: dict) -> None:
        """The action has run: its outcome must be stored, so retry while the database is busy.

        Giving up would leave the row `running`, which blocks the rule's concurrency slot and
        would be reported as interrupted after a restart although it completed.
        """
        delay = 0.2
        while True:
            try:
                with self.receiver.store.write() as conn:
                    finish(conn, action_id, status, reason, result, self.receiver.clock())
                return
            except StoreUnavailable as err:
                log.warning("action %d ran (%s) but recording it failed, retrying: %s", action_id, status, err)
                if self.stop.wait(delay):
                    return  # shutting down: a restart reports it as interrupted
                delay = min(delay * 2, 5.0)

    def drain(self, limit: int = 10000) -> int:
        done = 0
        while done < limit and self.run_one():
            done += 1
        return done

    def _loop(self) -> None:
        interval = self.receiver.config.automation.worker_interval
        while not self.stop.is_set():
            try:
                if not self.run_one():
                    self.stop.wait(interval)
            except StoreUnavailable as err:
                log.warning("automation worker: database unavailable: %s", err)
                self.stop.wait(5)
            except Exception:
                log.exception("automation worker failed")
                self.stop.wait(5)

    def start(self) -> threading.Thread:
        self.recover()
        thread = threading.Thread(target=self._loop, name="automation-worker", daemon=True)
        thread.start()
        return thread
