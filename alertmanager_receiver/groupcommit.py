"""Group commit: notifications waiting for the database are written together, one transaction each batch.

Webhook requests used to take the database's write lock one by one. SQLite
makes a connection that finds the lock taken sleep and retry (1, 2, 5 ... 100 ms
apart), so under load most of a request's latency was spent asleep, not
working. Here the first request to arrive while nobody is writing becomes the
writer: it takes every notification queued so far (its own included, up to
`max_batch`), ingests each inside a savepoint of one transaction, commits once,
and wakes the others, whose answers are then ready. Requests that arrive
meanwhile queue for the next batch. Nothing is answered before its commit.

A notification whose ingest fails for its own reason (a bug, a constraint) is
rolled back to its savepoint and reported to its request alone; the database
failing (locked past busy_timeout, read-only, full, down) fails the batch, and
every request in it answers 503 so Alertmanager retries.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .store import StoreUnavailable, is_unavailable

if TYPE_CHECKING:
    from .ingest import Ingestor, IngestResult
    from .payload import Notification

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    notification: Notification
    received_at: float
    result: IngestResult | None = None
    error: Exception | None = None
    done: bool = False


class GroupCommitter:
    def __init__(self, ingestor: Ingestor, max_batch: int = 64):
        self.ingestor, self.max_batch = ingestor, max_batch
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._writing = False
        self.batches = 0  # transactions committed or failed (for tests and metrics)

    def waiting(self) -> int:
        """Notifications queued behind the transaction being written."""
        with self._cond:
            return len(self._queue)

    def submit(self, notification: Notification, received_at: float) -> IngestResult:
        """Store the notification durably and return what it changed; raises StoreUnavailable."""
        item = _Pending(notification, received_at)
        with self._cond:
            self._queue.append(item)
            while not item.done:
                if self._writing:
                    self._cond.wait()
                    continue
                self._writing = True
                batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
                self._cond.release()
                try:
                    self._write(batch)
                finally:
                    self._cond.acquire()
                    for pending in batch:
                        pending.done = True
                    self._writing = False
                    self._cond.notify_all()
        if item.error is not None:
            raise item.error
        assert item.result is not None
        return item.result

    def _write(self, batch: list[_Pending]) -> None:
        self.batches += 1
        try:
            with self.ingestor.store.write() as conn:
                for item in batch:
                    try:
                        with conn.begin_nested():
                            item.result = self.ingestor.ingest_in(conn, item.notification, item.received_at,
                                                                  busy=len(batch) > 1 or self.waiting() > 0)
                    except Exception as err:  # noqa: BLE001 - sorted below: the database's or this one's
                        if is_unavailable(err):
                            raise
                        log.exception("notification from group %r could not be stored", item.notification.group_key)
                        item.error = err
        except StoreUnavailable as err:
            self._fail(batch, err)
        except Exception as err:  # noqa: BLE001 - commit failures other than unavailability
            if not is_unavailable(err):
                log.exception("a batch of %d notifications could not be committed", len(batch))
            self._fail(batch, StoreUnavailable(str(err)[:300]))

    @staticmethod
    def _fail(batch: list[_Pending], err: Exception) -> None:
        for item in batch:
            item.result, item.error = None, err
