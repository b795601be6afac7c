"""Probes on their own port stay answered while a retry storm fills the webhook's queue."""

from __future__ import annotations

import sqlite3
import sys
import threading
import time

import pytest
import requests
import yaml

from devstack.procs import Process, free_port, wait_http
from tests.amhelpers import am_alert, payload

pytestmark = pytest.mark.integration  # starts real binaries

def test_readyz_on_the_probe_port_answers_while_the_main_port_is_saturated_by_webhooks(tmp_path):
    db = tmp_path / "r.db"
    config = tmp_path / "receiver.yml"
    config.write_text(yaml.safe_dump({"storage": {"url": f"sqlite:///{db}", "busy_timeout": "5s"}}))
    port, probe_port = free_port(), free_port()
    proc = Process("receiver", [sys.executable, "-m", "alertmanager_receiver", "--config.file", str(config),
                                "--web.listen-address", f"127.0.0.1:{port}",
                                "--web.probe-address", f"127.0.0.1:{probe_port}"], tmp_path / "receiver.log")
    proc.start()
    wait_http(f"http://127.0.0.1:{port}/readyz", 60, proc.proc)
    assert requests.get(f"http://127.0.0.1:{probe_port}/api/v1/incidents", timeout=5).status_code == 404

    lock = sqlite3.connect(db, timeout=1, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # a stuck writer: every webhook waits for the database
    storm_over = threading.Event()

    def storm(worker: int):
        i = 0
        while not storm_over.is_set():
            body = payload([am_alert({"alertname": "Storm", "worker": str(worker), "n": str(i)}, time.time())])
            try:
                requests.post(f"http://127.0.0.1:{port}/webhook/alertmanager", json=body, timeout=30)
            except requests.RequestException:
                pass
            i += 1

    threads = [threading.Thread(target=storm, args=(w,), daemon=True) for w in range(120)]
    try:
        for t in threads:
            t.start()
        time.sleep(3)  # the queue fills
        main_answers, probe_answers = 0, 0
        for _ in range(5):
            try:
                main_answers += requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                pass
            probe_answers += requests.get(f"http://127.0.0.1:{probe_port}/readyz", timeout=2).status_code == 200
            assert requests.get(f"http://127.0.0.1:{probe_port}/metrics", timeout=2).status_code == 200
        assert probe_answers == 5
        assert main_answers < 5, "the storm did not saturate the main port, so this test shows nothing"
    finally:
        storm_over.set()
        lock.execute("ROLLBACK")
        lock.close()
        for t in threads:
            t.join(timeout=40)
        proc.stop()
