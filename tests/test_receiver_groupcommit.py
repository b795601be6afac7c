"""Group commit: notifications that wait while another is written share the next transaction."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from amhelpers import T0, payload, service_alert
from conftest import count

from alertmanager_receiver.context import receiver_of
from alertmanager_receiver.payload import parse_notification
from alertmanager_receiver.store import StoreUnavailable, alerts, notifications


def notification_of(service: str):
    return parse_notification(payload([service_alert(service)], group_key=f'{{}}:{{service="{service}"}}'))


def slow_first_ingest(receiver, hold: threading.Event, entered: threading.Event, fail_group: str | None = None):
    """Wrap ingest_in: the first call waits for `hold` (so others queue); `fail_group` raises after writing."""
    original = receiver.ingestor.ingest_in
    calls = []

    def ingest_in(conn, n, now, busy=False):
        calls.append(n.group_key)
        result = original(conn, n, now, busy)
        if len(calls) == 1:
            entered.set()
            hold.wait(10)
        if fail_group is not None and fail_group in n.group_key:
            raise RuntimeError("a bug in one notification's ingest")
        return result

    receiver.ingestor.ingest_in = ingest_in
    return calls


def submit_all(receiver, services):
    results, errors = {}, {}

    def run(service):
        try:
            results[service] = receiver.committer.submit(notification_of(service), T0)
        except Exception as err:  # noqa: BLE001 - the test inspects it
            errors[service] = err

    threads = [threading.Thread(target=run, args=(s,)) for s in services]
    return threads, results, errors


def test_notifications_queued_during_a_write_are_committed_together_and_each_gets_its_own_result(make_receiver, sqlite_url):
    app, _ = make_receiver(sqlite_url)
    receiver = receiver_of(app)
    hold, entered = threading.Event(), threading.Event()
    slow_first_ingest(receiver, hold, entered)
    threads, results, errors = submit_all(receiver, ["svc-first"] + [f"svc-{i}" for i in range(5)])
    threads[0].start()
    assert entered.wait(10)
    for t in threads[1:]:
        t.start()
    deadline = time.monotonic() + 10
    while receiver.committer.waiting() < 5 and time.monotonic() < deadline:  # all five wait behind the first
        time.sleep(0.01)
    hold.set()
    for t in threads:
        t.join(10)
    assert not errors
    assert receiver.committer.batches == 2  # the first alone, then the five queued meanwhile in one transaction
    assert all(results[s].new == 1 for s in results) and len(results) == 6
    assert count(app, notifications) == 6 and count(app, alerts) == 6


def test_a_notification_that_fails_on_its_own_is_rolled_back_alone_and_the_rest_of_its_batch_is_stored(make_receiver, sqlite_url):
    app, _ = make_receiver(sqlite_url)
    receiver = receiver_of(app)
    hold, entered = threading.Event(), threading.Event()
    slow_first_ingest(receiver, hold, entered, fail_group="svc-bad")
    threads, results, errors = submit_all(receiver, ["svc-first", "svc-a", "svc-bad", "svc-b"])
    threads[0].start()
    assert entered.wait(10)
    for t in threads[1:]:
        t.start()
    while receiver.committer.waiting() < 3:
        time.sleep(0.01)
    hold.set()
    for t in threads:
        t.join(10)
    assert set(errors) == {"svc-bad"} and isinstance(errors["svc-bad"], RuntimeError)
    assert set(results) == {"svc-first", "svc-a", "svc-b"}
    with receiver.store.read() as conn:
        services = {r.service for r in conn.execute(sa.select(alerts.c.service))}
    assert services == {"svc-first", "svc-a", "svc-b"}  # the failed one's rows went with its savepoint
    assert count(app, notifications) == 3


def test_a_database_failure_fails_the_whole_batch_with_store_unavailable(make_receiver, sqlite_url):
    app, _ = make_receiver(sqlite_url)
    receiver = receiver_of(app)
    locker = sa.create_engine(sqlite_url, connect_args={"isolation_level": None})
    with locker.connect() as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # another process holds the write lock past busy_timeout
        with pytest.raises(StoreUnavailable):
            receiver.committer.submit(notification_of("svc-a"), T0)
        conn.exec_driver_sql("ROLLBACK")
    locker.dispose()
    assert count(app, alerts) == 0
    assert receiver.committer.submit(notification_of("svc-a"), T0).new == 1  # and it recovers once the lock is free
