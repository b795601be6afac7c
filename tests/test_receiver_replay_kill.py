"""SIGKILL in the middle of a 10,000-alert replay through a real Alertmanager, then a restart:
every alert occurrence is stored exactly once, and each triggered action runs at most once
(pending ones exactly once; one cut off mid-run is reported as interrupted, not re-run)."""

from __future__ import annotations

import sys
import time

import pytest
import sqlalchemy as sa

from devstack.alertmanager import Alertmanager, webhook_config
from devstack.procs import free_port
from devstack.receiver import ReceiverProcess

pytestmark = pytest.mark.integration  # starts real binaries

TOTAL = 10_000
TRIGGERS = 20


def occurrences(db) -> tuple[int, int]:
    engine = sa.create_engine(f"sqlite:///{db}", connect_args={"timeout": 30})
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT count(*), count(DISTINCT fingerprint || '@' || starts_at) FROM alerts")).one()
    engine.dispose()
    return row[0], row[1]


def action_statuses(db) -> dict[str, int]:
    engine = sa.create_engine(f"sqlite:///{db}", connect_args={"timeout": 30})
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, count(*) FROM actions GROUP BY status")).all()
    engine.dispose()
    return dict(rows)


def test_a_receiver_killed_mid_replay_stores_every_alert_once_and_runs_each_action_at_most_once(tmp_path):
    db, ran = tmp_path / "r.db", tmp_path / "ran.txt"
    script = tmp_path / "record.py"
    script.write_text(f"import os\nopen({str(ran)!r}, 'a').write(os.environ['AIOPS_ALERT_FINGERPRINT'] + '\\n')\n")
    config = {"storage": {"url": f"sqlite:///{db}"},
              "automation": {"mode": "live", "breaker": {"max_actions": 1000},
                             "rules": [{"name": "record", "match": {"labels": {"trigger": "yes"}},
                                        "actions": [{"type": "command", "argv": [sys.executable, str(script)]}]}]}}
    port = free_port()
    receiver = ReceiverProcess(tmp_path / "receiver", config, port=port).start()
    # grouped by alertname: 4 large notifications. (With 200 small groups the retry storm after the
    # restart can starve /readyz in waitress's queue: a known gap, see the #8 notes.)
    am = Alertmanager(tmp_path / "am", webhook_config(f"http://127.0.0.1:{port}/webhook/alertmanager",
                                                      ["alertname"], "1s", "2s")).start()
    restarted = None
    try:
        now = time.time()
        alerts = [{"labels": {"alertname": f"Replay{i % 4}", "service": f"svc-{i % 50:02d}", "pod": f"pod-{i}",
                              **({"trigger": "yes"} if i % (TOTAL // TRIGGERS) == 0 else {})},
                   "startsAt": now - 600 + i * 0.01} for i in range(TOTAL)]
        for first in range(0, TOTAL, 1000):
            am.push(alerts[first:first + 1000])
        deadline = time.monotonic() + 120
        while occurrences(db)[0] < 1500 and time.monotonic() < deadline:
            time.sleep(0.2)
        stored_at_kill = occurrences(db)[0]
        receiver.kill()
        assert 0 < stored_at_kill < TOTAL, stored_at_kill
        time.sleep(3)  # Alertmanager keeps failing and retrying meanwhile
        restarted = ReceiverProcess(tmp_path / "receiver", config, port=port).start(timeout=180)
        deadline = time.monotonic() + 300
        while occurrences(db)[0] < TOTAL and time.monotonic() < deadline:
            time.sleep(1)
        time.sleep(5)  # later redeliveries must not add rows
        total, distinct = occurrences(db)
        assert total == distinct == TOTAL
        deadline = time.monotonic() + 60
        while action_statuses(db).get("pending", 0) + action_statuses(db).get("running", 0) and time.monotonic() < deadline:
            time.sleep(0.5)
        statuses = action_statuses(db)
        lines = ran.read_text().split() if ran.exists() else []
        succeeded, interrupted = statuses.get("succeeded", 0), statuses.get("interrupted", 0)
        assert len(lines) == len(set(lines)), "an action ran twice"
        assert succeeded + interrupted == TRIGGERS, statuses  # none lost, none left pending
        # an action cut off by the kill may or may not have run; it is reported, never re-run
        assert succeeded <= len(lines) <= succeeded + interrupted
    finally:
        for proc in (restarted, am, receiver):
            if proc is not None:
                proc.stop()
