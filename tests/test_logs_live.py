"""`aiops-exporter logs` as a real process, scraped by a real Prometheus, read by the receiver.

A generated Tomcat catalina.out runs routine traffic; then a burst of stack
traces starts. The burst's template is identified, its rate rises in
Prometheus, and the receiver lists it first as log evidence on the incident
of the service. Templates survive a restart; stdin works as a source.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from devstack.procs import Process, free_port, wait_http
from devstack.prometheus import Prometheus
from devstack.receiver import ReceiverProcess
from devstack.tomcatlog import routine_lines, stack_trace
from tests.amhelpers import am_alert, payload

pytestmark = pytest.mark.integration  # starts real binaries

class Writer:
    """Appends Tomcat lines like a running server: routine records, and stack traces once `burst` is set."""

    def __init__(self, path):
        self.path, self.rng = path, random.Random(7)
        self.burst = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        with open(self.path, "a", buffering=1) as out:
            while not self.stop.is_set():
                now = time.time()
                lines = routine_lines(self.rng, now) + routine_lines(self.rng, now)
                if self.burst.is_set():
                    lines += stack_trace(self.rng, now)
                out.write("\n".join(lines) + "\n")
                self.stop.wait(0.1)


class LogFollowerProcess:
    def __init__(self, workdir, config: dict):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = workdir / "logs.yml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.workdir = workdir
        self.process = None

    def start(self):
        argv = [sys.executable, "-m", "exporter", "--web.listen-address", f"127.0.0.1:{self.port}", "logs",
                "--config.file", str(self.config_path)]
        self.process = Process("logs", argv, self.workdir / "logs.log").start()
        wait_http(f"{self.url}/readyz", 60, self.process.proc)
        return self

    def stop(self):
        self.process.stop()

    def scrape(self) -> dict:
        text = requests.get(f"{self.url}/metrics", timeout=10).text
        return {f.name: f.samples for f in text_string_to_metric_families(text)}


def wait_until(what, probe, timeout=60.0, logs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n" + "\n".join(p.process.log_tail(30) for p in logs))


def severe_template(families) -> dict[str, str]:
    """The stack trace's template (the header, SEVERE included, is parsed off: only the message is mined)."""
    return {s.labels["template_id"]: s.labels["template"] for s in families.get("aiops_log_template_info", [])
            if "threw exception" in s.labels["template"]}


def test_a_stack_trace_burst_becomes_a_rising_series_and_log_evidence_on_the_incident(tmp_path):
    catalina = tmp_path / "catalina.out"
    catalina.write_text("22-Nov-2026 09:00:00.000 INFO [main] org.apache.catalina.startup.Catalina.start "
                        "Server startup in [4211] milliseconds\n")  # before the follower: skipped (start_at end)
    config = {"logs": {"state_dir": str(tmp_path / "state"), "poll_interval": "200ms", "save_interval": "1s",
                       "sources": [{"name": "tomcat", "paths": [str(tmp_path / "catalina*")],
                                    "labels": {"service": "orders"}}]}}
    follower = LogFollowerProcess(tmp_path, config).start()
    writer = Writer(catalina)
    writer.thread.start()
    prom = Prometheus(tmp_path / "prom", scrape_targets={"aiops-logs": [f"127.0.0.1:{follower.port}"]},
                      scrape_interval="1s").start()
    receiver = ReceiverProcess(tmp_path / "receiver", {
        "storage": {"url": f"sqlite:///{tmp_path / 'r.db'}"},
        "prometheus": {"url": prom.url},
        "log_evidence": {"window": "10s", "baseline": "15s", "cache_for": "1s"}}).start()
    try:
        time.sleep(30)  # routine traffic, scraped by Prometheus: the baseline
        families = follower.scrape()
        assert not severe_template(families)
        assert not [s for s in families["aiops_log_lines"] if "Server startup" in str(s)]
        burst_at = time.time()
        writer.burst.set()
        families = wait_until("the burst's template", lambda: (f := follower.scrape()) and severe_template(f) and f,
                              logs=[follower])
        ((template_id, text),) = severe_template(families).items()
        assert text.startswith("Servlet.service()") and "threw exception" in text  # the header is not mined
        errors = [s for s in families["aiops_log_lines"] if s.labels["template_id"] == template_id]
        assert [s.labels["level"] for s in errors] == ["error"] and errors[0].labels["service"] == "orders"

        rate = wait_until("the template's rate to rise in Prometheus", lambda: prom.query(
            f'rate(aiops_log_lines_total{{template_id="{template_id}"}}[10s]) > 5'), logs=[follower])
        assert rate[0]["metric"]["source"] == "tomcat"

        alert = am_alert({"alertname": "OrdersErrorRate", "service": "orders", "severity": "critical"}, burst_at)
        requests.post(f"{receiver.url}/webhook/alertmanager", json=payload([alert]), timeout=10).raise_for_status()
        incident = receiver.get("/api/v1/incidents")["incidents"][0]["id"]

        def evidence():
            detail = receiver.get(f"/api/v1/incidents/{incident}")
            templates = detail.get("log_evidence", {}).get("templates")
            return templates and templates[0]["template_id"] == template_id and detail
        detail = wait_until("the burst template as the incident's first log evidence", evidence, logs=[receiver])
        top = detail["log_evidence"]["templates"][0]
        assert top["new"] and top["level"] == "error" and top["source"] == "tomcat" and "threw exception" in top["template"]
        assert top["rate_during_per_minute"] > 60
        assert not any(t["new"] for t in detail["log_evidence"]["templates"][1:]), "routine templates have a baseline"
        assert "Logs: tomcat shows a new log line" in detail["summary"]

        # Restart: the same template keeps its id and first-seen time (state in state_dir).
        first_seen = {s.labels["template_id"]: s.value
                      for s in follower.scrape()["aiops_log_template_first_seen_timestamp_seconds"]}
        time.sleep(1.5)  # one save_interval
        follower.stop()
        follower = LogFollowerProcess(tmp_path, config)
        follower.port, follower.url = follower.port, follower.url
        follower.start()
        after = wait_until("the burst template after the restart",
                           lambda: (f := follower.scrape()) and severe_template(f) and f, logs=[follower])
        assert set(severe_template(after)) == {template_id}
        restored = {s.labels["template_id"]: s.value for s in after["aiops_log_template_first_seen_timestamp_seconds"]}
        assert restored[template_id] == first_seen[template_id]
    finally:
        writer.stop.set()
        receiver.stop()
        prom.stop()
        follower.stop()


def test_stdin_is_a_source_and_every_record_is_counted(tmp_path):
    rng = random.Random(3)
    records = [routine_lines(rng, 1e9 + i) if i % 10 else stack_trace(rng, 1e9 + i) for i in range(500)]
    text = "\n".join(line for record in records for line in record) + "\n"
    config = tmp_path / "logs.yml"
    config.write_text(yaml.safe_dump({"logs": {"sources": [{"name": "stdin", "stdin": True}]}}))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "exporter", "--web.listen-address", f"127.0.0.1:{port}", "logs",
                             "--config.file", str(config)], stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        proc.stdin.write(text)
        proc.stdin.close()
        wait_http(f"http://127.0.0.1:{port}/readyz", 60, proc)

        def counted():
            body = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            samples = [s for f in text_string_to_metric_families(body) if f.name == "aiops_log_lines" for s in f.samples]
            return sum(s.value for s in samples) == 500 and samples
        samples = wait_until("all 500 records counted", counted)
        assert sum(s.value for s in samples if s.labels["level"] == "error") == 50
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("bad, message", [({"logs": {"sources": []}}, "logs.sources")])
def test_the_logs_command_refuses_a_bad_config_naming_the_key(tmp_path, bad, message):
    config = tmp_path / "logs.yml"
    config.write_text(yaml.safe_dump(bad))
    result = subprocess.run([sys.executable, "-m", "exporter", "logs", "--config.file", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and message in result.stderr
