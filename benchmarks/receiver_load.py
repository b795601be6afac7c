"""Webhook load on loopback: sustained alerts/s with durable commit, latency, the knee, and nothing lost.

    .venv/bin/python -m benchmarks.receiver_load [--backend sqlite,postgresql] [--rates 500,1000,...]
                                                 [--stage-seconds 10] [--alerts-per-notification 10]

A real receiver process (waitress, 8 threads) on SQLite (default) or PostgreSQL.
The loader posts realistic Alertmanager notifications (groups of alerts by
alertname and service; firing, resolved, and repeats of notifications already
sent, as Alertmanager's group_interval re-sends do) open-loop at rising rates:
each request has a scheduled send time, and latency is measured from that
time, so a slow receiver cannot hide its queueing (no coordinated omission).

Per stage: offered and accepted alerts/s, p50/p99/max latency, 503 answers
(load shed so that Alertmanager retries) and errors. The knee is the last
stage with p99 under 100 ms, no 503 and at least 95% of the offered rate
accepted. After the stages the loader re-sends every 503'd notification until
it is accepted, as Alertmanager would, and the database must then hold every
alert occurrence exactly once.

Loader and receiver share the machine (2 cores here): the figures are for the
pair. Writes benchmarks/results/receiver_load.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from devstack.receiver import ReceiverProcess

RESULTS = Path(__file__).resolve().parent / "results" / "receiver_load.json"
PG_URL = os.environ.get("AIOPS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ALERTNAMES = ["HighLatency", "ErrorRate", "CPUThrottling", "PodCrashLooping", "DiskPressure", "AIOpsAnomalyDetected"]
TARGET_P99 = 0.100


def rfc3339(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e6):06d}Z"


@dataclass
class Workload:
    """Notifications to send, each with the alert occurrences it carries."""

    bodies: list[bytes] = field(default_factory=list)
    alerts: list[int] = field(default_factory=list)  # alerts per notification
    occurrences: set[tuple[str, str]] = field(default_factory=set)  # (group/instance, startsAt) sent so far


class Generator:
    """Alertmanager-like traffic: many groups, each with a few instances; episodes start, repeat and resolve."""

    def __init__(self, seed: int, per_notification: int, groups: int = 400):
        self.rng = random.Random(seed)
        self.per = per_notification
        self.groups = [(ALERTNAMES[g % len(ALERTNAMES)], f"svc-{g // len(ALERTNAMES):03d}") for g in range(groups)]
        self.sent: list[tuple[bytes, int]] = []
        self.episode: dict[int, float] = {}
        self.serial = 0

    def notification(self, now: float) -> tuple[bytes, int, list[tuple[str, str]]]:
        roll = self.rng.random()
        if self.sent and roll < 0.3:  # a repeat: Alertmanager re-sends the group's current state
            body, count = self.rng.choice(self.sent[-2000:])
            return body, count, []
        g = self.rng.randrange(len(self.groups))
        alertname, service = self.groups[g]
        if g not in self.episode or roll > 0.85:
            self.serial += 1
            self.episode[g] = now - self.rng.uniform(0, 300) + self.serial * 1e-6
        starts = self.episode[g]
        resolved = roll > 0.85
        count = max(1, int(self.rng.gauss(self.per, self.per / 3)))
        alerts, occurrences = [], []
        for i in range(count):
            labels = {"alertname": alertname, "service": service, "cluster": "prod-eu-1", "namespace": "shop",
                      "instance": f"{service}-{i}:9100", "severity": self.rng.choice(["warning", "critical"])}
            labels["severity"] = "critical" if i % 3 == 0 else "warning"
            alerts.append({"status": "resolved" if resolved else "firing", "labels": labels,
                           "annotations": {"summary": f"{alertname} on {service}", "description": "x" * 120},
                           "startsAt": rfc3339(starts), "endsAt": rfc3339(now) if resolved else "0001-01-01T00:00:00Z",
                           "generatorURL": "http://prometheus:9090/graph?g0.expr=up", "fingerprint": ""})
            occurrences.append((f"{alertname}/{service}/{i}", rfc3339(starts)))
        body = json.dumps({"receiver": "aiops", "status": "resolved" if resolved else "firing", "alerts": alerts,
                           "groupLabels": {"alertname": alertname, "service": service},
                           "commonLabels": {"alertname": alertname, "service": service},
                           "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "version": "4",
                           "groupKey": f'{{}}:{{alertname="{alertname}", service="{service}"}}',
                           "truncatedAlerts": 0}).encode()
        self.sent.append((body, count))
        return body, count, occurrences


@dataclass
class StageResult:
    offered_alerts_per_s: float
    accepted_alerts_per_s: float
    notifications: int
    accepted: int
    shed_503: int
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    behind_s: float  # how far the loader fell behind its schedule at the end


def run_stage(port: int, bodies: list[bytes], counts: list[int], rate: float, workers: int,
              retry_queue: list[bytes]) -> StageResult:
    """Open-loop: request i is due at start + i / rate; latency counts from that moment."""
    n = len(bodies)
    latencies = np.full(n, np.nan)
    status = np.zeros(n, dtype=np.int32)
    next_index = [0]
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= n:
                break
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                conn.request("POST", "/webhook/alertmanager", bodies[i], {"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                status[i] = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            except (OSError, http.client.HTTPException):
                status[i] = -1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            latencies[i] = time.perf_counter() - due
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    ok = (status >= 200) & (status < 300)
    for i in np.flatnonzero(~ok):
        retry_queue.append(bodies[i])
    counts_arr = np.asarray(counts)
    duration = n / rate
    return StageResult(
        offered_alerts_per_s=round(counts_arr.sum() / duration, 1),
        accepted_alerts_per_s=round(counts_arr[ok].sum() / max(elapsed, duration), 1),
        notifications=n, accepted=int(ok.sum()), shed_503=int((status == 503).sum()),
        errors=int(((status < 200) | (status >= 300)).sum() - (status == 503).sum()),
        p50_ms=round(float(np.nanpercentile(latencies, 50)) * 1000, 1),
        p99_ms=round(float(np.nanpercentile(latencies, 99)) * 1000, 1),
        max_ms=round(float(np.nanmax(latencies)) * 1000, 1),
        behind_s=round(max(elapsed - duration, 0.0), 2))


def redeliver(port: int, bodies: list[bytes], deadline_s: float = 600) -> int:
    """Send each notification until it is accepted (Alertmanager's retries); returns the attempts made."""
    attempts = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    deadline = time.monotonic() + deadline_s
    for body in bodies:
        while True:
            attempts += 1
            try:
                conn.request("POST", "/webhook/alertmanager", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                if 200 <= response.status < 300:
                    break
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            if time.monotonic() > deadline:
                raise RuntimeError("redelivery did not finish")
            time.sleep(0.05)
    conn.close()
    return attempts


def stored_occurrences(url: str) -> tuple[int, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        total = conn.execute(sa.text("SELECT count(*) FROM alerts")).scalar()
        distinct = conn.execute(sa.text("SELECT count(*) FROM (SELECT DISTINCT fingerprint, starts_at FROM alerts) d")).scalar()
    engine.dispose()
    return int(total), int(distinct)


def reset_postgres() -> str | None:
    try:
        from alertmanager_receiver.store import Store, metadata

        store = Store(PG_URL)
        with store.engine.begin() as conn:
            metadata.drop_all(conn)
        store.dispose()
        return None
    except Exception as err:  # unreachable: the backend is skipped, with the reason
        return f"{type(err).__name__}: {str(err)[:120]}"


def run_backend(backend: str, rates: list[float], stage_seconds: float, per_notification: int, workers: int,
                workdir: Path, say=print) -> dict:
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'load.db'}"
    else:
        reason = reset_postgres()
        if reason:
            say(f"postgresql: skipped, no server at {PG_URL} ({reason})")
            return {"backend": backend, "skipped": reason}
        url = PG_URL
    receiver = ReceiverProcess(workdir / f"receiver-{backend}", {"storage": {"url": url}}).start()
    gen = Generator(seed=42, per_notification=per_notification)
    expected: set[tuple[str, str]] = set()
    retry: list[bytes] = []
    stages = []
    try:
        for alerts_per_s in rates:
            rate = alerts_per_s / per_notification
            n = max(int(rate * stage_seconds), 1)
            bodies, counts = [], []
            now = time.time()
            for _ in range(n):
                body, count, occurrences = gen.notification(now)
                bodies.append(body)
                counts.append(count)
                expected.update(occurrences)
            result = run_stage(receiver.port, bodies, counts, rate, workers, retry)
            stages.append({"target_alerts_per_s": alerts_per_s, **result.__dict__})
            say(f"{backend:<10} {alerts_per_s:>7.0f} {result.offered_alerts_per_s:>9.0f} "
                f"{result.accepted_alerts_per_s:>9.0f} {result.p50_ms:>8.1f} {result.p99_ms:>8.1f} "
                f"{result.max_ms:>8.0f} {result.shed_503:>6} {result.errors:>6}")
            if result.p99_ms > 5000 or result.errors > n / 2:
                say(f"{backend}: stopping the ramp (p99 {result.p99_ms} ms, {result.errors} errors)")
                break
        attempts = redeliver(receiver.port, retry)
        time.sleep(1)
        total, distinct = stored_occurrences(url)
    finally:
        receiver.stop()
    knee = None
    for stage in stages:
        if stage["p99_ms"] < TARGET_P99 * 1000 and stage["shed_503"] == 0 and stage["errors"] == 0 and \
                stage["accepted_alerts_per_s"] >= 0.95 * stage["offered_alerts_per_s"]:
            knee = stage["offered_alerts_per_s"]
    return {"backend": backend, "stages": stages, "knee_alerts_per_s": knee,
            "redelivered_notifications": len(retry), "redelivery_attempts": attempts,
            "expected_occurrences": len(expected), "stored_rows": total, "stored_distinct": distinct,
            "nothing_lost": total == distinct == len(expected)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="sqlite,postgresql")
    parser.add_argument("--rates", default="500,1000,2000,3000,4000,6000,8000",
                        help="offered alerts per second, one stage each")
    parser.add_argument("--stage-seconds", type=float, default=10.0)
    parser.add_argument("--alerts-per-notification", type=int, default=10)
    parser.add_argument("--workers", type=int, default=64, help="loader connections (open loop)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",")]
    results = {"cores": os.cpu_count(), "stage_seconds": args.stage_seconds,
               "alerts_per_notification": args.alerts_per_notification, "target_p99_ms": TARGET_P99 * 1000,
               "backends": []}
    print(f"{'backend':<10} {'target':>7} {'offered':>9} {'accepted':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'503':>6} {'errors':>6}", flush=True)
    with tempfile.TemporaryDirectory(prefix="aiops-load-") as tmp:
        for backend in args.backend.split(","):
            result = run_backend(backend, rates, args.stage_seconds, args.alerts_per_notification, args.workers,
                                 Path(tmp), say=lambda text: print(text, flush=True))
            results["backends"].append(result)
            if "stages" in result:
                print(f"{backend}: knee {result['knee_alerts_per_s']} alerts/s (p99 < 100 ms, no 503); "
                      f"{result['redelivered_notifications']} shed notifications re-sent; stored "
                      f"{result['stored_rows']} rows, {result['stored_distinct']} distinct, expected "
                      f"{result['expected_occurrences']}: {'nothing lost' if result['nothing_lost'] else 'MISMATCH'}",
                      flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.output}")
    if args.output == RESULTS:  # the default results feed docs/reliability.md
        from .reliability_report import write

        print(f"wrote {write()}")
    return 0 if all(r.get("nothing_lost", True) for r in results["backends"]) else 1


if __name__ == "__main__":
    sys.exit(main())
