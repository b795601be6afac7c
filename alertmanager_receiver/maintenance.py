"""Background upkeep: close incidents past their quiet period; reconcile with Alertmanager."""

from __future__ import annotations

import logging
import threading
import time

import requests

from .automation.queue import expire_approvals
from .context import Receiver
from .cooccurrence_repo import save as save_learning
from .domain import Alert
from .incidents import LifecycleStats
from .ingest import reconcile
from .payload import PayloadError, fingerprint_of, parse_time
from .store import StoreUnavailable

log = logging.getLogger(__name__)


def fetch_active_alerts(base_url: str, timeout: float) -> list[Alert]:
    """GET /api/v2/alerts (active only) as plain alerts."""
    response = requests.get(f"{base_url.rstrip('/')}/api/v2/alerts", timeout=timeout,
                            params={"active": "true", "silenced": "false", "inhibited": "false"})
    response.raise_for_status()
    out = []
    for item in response.json():
        try:
            labels = {str(k): str(v) for k, v in item["labels"].items()}
            out.append(Alert(fingerprint=item.get("fingerprint") or fingerprint_of(labels),
                             starts_at=parse_time(item["startsAt"]), status="firing", labels=labels,
                             annotations={str(k): str(v) for k, v in (item.get("annotations") or {}).items()}))
        except (KeyError, TypeError, ValueError, AttributeError, PayloadError) as err:
            log.warning("reconcile: skipping a malformed alert from Alertmanager: %s", err)
    return out


class Maintenance:
    def __init__(self, receiver: Receiver, stop: threading.Event):
        self.receiver, self.stop = receiver, stop
        self._last_reconcile = 0.0

    def run_once(self) -> None:
        """Close quiet incidents; reconcile with Alertmanager when `reconcile_interval` has passed."""
        now = self.receiver.clock()
        self.close_quiet_incidents(now)
        am = self.receiver.config.alertmanager
        if am.url and now - self._last_reconcile >= am.reconcile_interval:
            self._last_reconcile = now
            self.reconcile()

    def close_quiet_incidents(self, now: float) -> None:
        receiver = self.receiver
        lifecycle = LifecycleStats()
        try:
            with receiver.store.write() as conn:
                closed = receiver.incidents.close_quiet(conn, now, lifecycle)
                receiver.automation.on_incidents_changed(conn, closed, now)
                expire_approvals(conn, now)
                if receiver.graphs is not None:  # co-occurrence episodes that ended since the last alert
                    receiver.graphs.flush(now)
                    save_learning(conn, receiver.graphs)
        except StoreUnavailable as err:
            log.warning("maintenance: database unavailable: %s", err)
            return
        receiver.metrics.record(lifecycle)

    def reconcile(self) -> None:
        """Align stored alerts with Alertmanager's active ones now (see ingest.reconcile)."""
        am = self.receiver.config.alertmanager
        if not am.url:
            return
        try:
            picked, closed = reconcile(self.receiver.ingestor, fetch_active_alerts(am.url, am.timeout), self.receiver.clock())
            if picked or closed:
                log.info("reconcile: picked up %d missed alert(s), closed %d", picked, closed)
        except (requests.RequestException, ValueError, StoreUnavailable) as err:
            log.warning("reconcile with %s failed: %s", am.url, err)

    def recompute_deferred(self) -> None:
        """Large incidents whose recompute ingest deferred during a storm (Incidents.touch).

        The ranking reads every alert of the incident; it runs on a read connection, so
        webhooks keep committing meanwhile, and only the result is written under the lock.
        """
        receiver = self.receiver
        if not receiver.incidents.deferred.pending():
            return
        now = receiver.clock()
        try:
            for incident_id in receiver.incidents.deferred.take_due():
                started = time.monotonic()
                with receiver.store.read() as conn:
                    assessment = receiver.incidents.assess(conn, incident_id, now)
                receiver.incidents.deferred.ran(incident_id, time.monotonic() - started)
                if assessment is None:
                    continue
                with receiver.store.write() as conn:
                    receiver.incidents.apply(conn, incident_id, assessment, now)
                    receiver.automation.on_incidents_changed(conn, {incident_id}, now)
        except StoreUnavailable as err:
            log.warning("recompute: database unavailable: %s", err)

    def _recompute_loop(self) -> None:
        """Deferred recomputes of large incidents, off the webhook path: one at a time, spaced so that they
        take about 5% of the time, at least every `large_incident_recompute_interval` while any waits."""
        deferred = self.receiver.incidents.deferred
        interval = self.receiver.config.correlation.large_incident_recompute_interval
        while not self.stop.wait(min(interval, max(0.005, deferred.seconds_to_next())) if deferred.pending()
                                 else interval):
            try:
                self.recompute_deferred()
            except Exception:
                log.exception("deferred recompute failed")

    def _checkpoint_loop(self) -> None:
        """SQLite: copy the write-ahead log into the database file every `storage.checkpoint_interval`.

        Off the webhook path; the interval trades WAL size against how often a checkpoint's disk
        writes slow the commits running beside it (measured in benchmarks/receiver_load.py).
        """
        while not self.stop.wait(self.receiver.config.storage.checkpoint_interval):
            self.receiver.store.checkpoint()

    def _loop(self) -> None:
        while not self.stop.wait(self.receiver.config.server.maintenance_interval):
            try:
                self.run_once()
            except Exception:  # upkeep must never take the receiver down
                log.exception("maintenance failed")

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name="maintenance", daemon=True)
        thread.start()
        threading.Thread(target=self._recompute_loop, name="recompute", daemon=True).start()
        if self.receiver.store.is_sqlite:
            threading.Thread(target=self._checkpoint_loop, name="checkpoint", daemon=True).start()
        return thread
