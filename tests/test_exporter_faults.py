"""The exporter when Prometheus turns slow (past the timeout) or answers malformed JSON.

A real proxy in front of the real Prometheus switches between passing through, stalling and
garbling; the exporter must keep serving its last state with source_up 0 and recover by itself.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from conftest import Exporter, exporter_config, samples_of

from devstack.procs import free_port

pytestmark = pytest.mark.integration  # starts real binaries

class FaultyProxy:
    def __init__(self, upstream: str):
        self.mode = "pass"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if proxy.mode == "slow":
                    time.sleep(3)  # the exporter's timeout is 1s
                if proxy.mode == "garbage":
                    body, status = b'{"status":"success","data":{"result":[{"metric":', 200
                else:
                    upstream_response = requests.get(upstream + self.path, timeout=30)
                    body, status = upstream_response.content, upstream_response.status_code
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the exporter gave up waiting

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def proxied_exporter(tmp_path, prometheus):
    proxy = FaultyProxy(prometheus.url)
    config = exporter_config(proxy.url, interval="1s")
    config["prometheus"].update(timeout="1s", retries=0)
    # a 1s step makes every cycle query Prometheus (a 60s-step query only asks once a minute)
    config["queries"] = [{"name": "up", "expr": "up", "model": "zscore", "step": "1s", "history": "2m",
                          "min_history": "4s", "retrain_every": "1m"}]
    exporter = Exporter(tmp_path, config).start()
    yield proxy, exporter
    exporter.stop()
    proxy.close()


def _source_up(families) -> float:
    return samples_of(families, "aiops_exporter_source_up")[0].value


@pytest.mark.parametrize("fault", ["slow", "garbage"])
def test_a_slow_or_garbling_prometheus_sets_source_up_zero_keeps_the_last_state_and_recovers(proxied_exporter, fault):
    proxy, exporter = proxied_exporter
    before = exporter.wait_for(lambda f: samples_of(f, "aiops_yhat", aiops_query="up"), what="first bands")
    bands = {s.labels["job"]: s.value for s in samples_of(before, "aiops_yhat", aiops_query="up")}
    proxy.mode = fault
    during = exporter.wait_for(lambda f: _source_up(f) == 0, timeout=120, what=f"source_up 0 while {fault}")
    assert {s.labels["job"]: s.value for s in samples_of(during, "aiops_yhat", aiops_query="up")} == bands
    errors = sum(s.value for s in samples_of(during, "aiops_exporter_query_errors", aiops_query="up"))
    assert errors > 0
    assert exporter.process.running
    proxy.mode = "pass"
    exporter.wait_for(lambda f: _source_up(f) == 1, timeout=120, what="recovery")
