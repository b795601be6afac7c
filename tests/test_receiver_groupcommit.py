"""Group commit: notifications that wait while another is written share the next transaction."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from alertmanager_receiver.payload import parse_notification
from alertmanager_receiver.store import StoreUnavailable, alerts, notifications
from amhelpers import payload
from test_receiver_api import T0, count, db_alert, make


def note(service: str):
    return parse_notification(payload([db_alert(service)], group_key=f'{{}}:{{service="{service}"}}'))


def slow_first_ingest(rx, hold: threading.Event, entered: threading.Event, fail_group: str | None = None):
    """Wrap ingest_in: the first call waits for `hold` (so others queue); `fail_group` raises after writing."""
    original = rx.ingestor.ingest_in
    calls = []

    def ingest_in(conn, n, now):
        calls.append(n.group_key)
        result = original(conn, n, now)
        if len(calls) == 1:
            entered.set()
            hold.wait(10)
        if fail_group is not None and fail_group in n.group_key:
            raise RuntimeError("a bug in one notification's ingest")
        return result

    rx.ingestor.ingest_in = ingest_in
    return calls


def submit_all(rx, services):
    results, errors = {}, {}

    def run(service):
        try:
            results[service] = rx.committer.submit(note(service), T0)
        except Exception as err:  # noqa: BLE001 - the test inspects it
            errors[service] = err

    threads = [threading.Thread(target=run, args=(s,)) for s in services]
    return threads, results, errors


def test_notifications_queued_during_a_write_are_committed_together_and_each_gets_its_own_result(tmp_path):
    app, _ = make(f"sqlite:///{tmp_path / 'r.db'}")
    rx = app.extensions["aiops_receiver"]
    hold, entered = threading.Event(), threading.Event()
    slow_first_ingest(rx, hold, entered)
    threads, results, errors = submit_all(rx, ["svc-first"] + [f"svc-{i}" for i in range(5)])
    threads[0].start()
    assert entered.wait(10)
    for t in threads[1:]:
        t.start()
    deadline = time.monotonic() + 10
    while len(rx.committer._queue) < 5 and time.monotonic() < deadline:  # all five wait behind the first
        time.sleep(0.01)
    hold.set()
    for t in threads:
        t.join(10)
    assert not errors
    assert rx.committer.batches == 2  # the first alone, then the five queued meanwhile in one transaction
    assert all(results[s].new == 1 for s in results) and len(results) == 6
    assert count(app, notifications) == 6 and count(app, alerts) == 6


def test_a_notification_that_fails_on_its_own_is_rolled_back_alone_and_the_rest_of_its_batch_is_stored(tmp_path):
    app, _ = make(f"sqlite:///{tmp_path / 'r.db'}")
    rx = app.extensions["aiops_receiver"]
    hold, entered = threading.Event(), threading.Event()
    slow_first_ingest(rx, hold, entered, fail_group="svc-bad")
    threads, results, errors = submit_all(rx, ["svc-first", "svc-a", "svc-bad", "svc-b"])
    threads[0].start()
    assert entered.wait(10)
    for t in threads[1:]:
        t.start()
    while len(rx.committer._queue) < 3:
        time.sleep(0.01)
    hold.set()
    for t in threads:
        t.join(10)
    assert set(errors) == {"svc-bad"} and isinstance(errors["svc-bad"], RuntimeError)
    assert set(results) == {"svc-first", "svc-a", "svc-b"}
    with rx.store.read() as conn:
        services = {r.service for r in conn.execute(sa.select(alerts.c.service))}
    assert services == {"svc-first", "svc-a", "svc-b"}  # the failed one's rows went with its savepoint
    assert count(app, notifications) == 3


def test_a_database_failure_fails_the_whole_batch_with_store_unavailable(tmp_path):
    app, _ = make(f"sqlite:///{tmp_path / 'r.db'}")
    rx = app.extensions["aiops_receiver"]
    locker = sa.create_engine(f"sqlite:///{tmp_path / 'r.db'}", connect_args={"isolation_level": None})
    with locker.connect() as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # another process holds the write lock past busy_timeout
        with pytest.raises(StoreUnavailable):
            rx.committer.submit(note("svc-a"), T0)
        conn.exec_driver_sql("ROLLBACK")
    locker.dispose()
    assert count(app, alerts) == 0
    assert rx.committer.submit(note("svc-a"), T0).new == 1  # and it recovers once the lock is free
