"""Fleet scale against a real Prometheus: cycle time, CPU, memory and /metrics at 1k..100k series.

    .venv/bin/python -m benchmarks.scale [--series 1000,10000] [--models seasonal,zscore]
                                         [--history 1d] [--cycles 6] [--retrain-every 5m]
                                         [--sample-spacing 15s,10m]

For each fleet size: N synthetic seasonal series are backfilled into a fresh
Prometheus with promtool (`history` at 5-minute steps), and a synthetic scrape
target keeps serving their current values (scraped every 15 s). For each
model an exporter process (the real `aiops-exporter`, default executor: 2
local worker processes) models them with a 60 s step and retrains every
`--retrain-every`; the benchmark scrapes its /metrics every 15 s, as a
Prometheus would, and reads its self-metrics and /proc: the cold start
(history read from Prometheus + fit of every series), the steady cycles
(score only) and the retrain cycles (refit from the in-memory history), CPU
seconds, peak resident memory during the cold start and afterwards (the fit
worker processes reported separately), and the time and size of a /metrics
scrape. Also runs the in-process updates/s micro-benchmark
(benchmarks/updates.py) for reference. Prints a table and writes
benchmarks/results/scale.json.

`--sample-spacing` runs each size once per spacing. The default, 15s, is the case above. A
spacing longer than a minute is a CloudWatch-like fleet: the history is backfilled at that
spacing with a phase of a sixth of it after each grid point (so a plain range query on the
spacing's grid misses every sample: they are older than the 5-minute lookback at the next grid
point), the target is scraped at that interval, and the query's step is the spacing, so the
exporter reads the fleet through last_over_time (docs/exporter.md, "Sparse series").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import requests
import yaml

from aiops_common.durations import parse_duration
from devstack.procs import Process, free_port, wait_http
from devstack.prometheus import Prometheus, backfill

RESULTS = Path(__file__).resolve().parent / "results" / "scale.json"
METRIC = "scale_requests_per_second"
STEP = 300


def series_values(times: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(series, times) values: a daily cycle, a level per series and hash noise (no state, so the
    backfill and the live target agree)."""
    t = np.asarray(times, dtype=float)[None, :]
    k = offsets[:, None]
    noise = (np.sin(t * 12.9898 + k * 78.233) * 43758.5453) % 1.0 - 0.5
    return 50 + k % 40 + 20 * np.sin(2 * np.pi * (t % 86400) / 86400) + 2 * noise


def label_strings(n: int) -> list[str]:
    return [f'{METRIC}{{host="h{i:06d}",instance="synthetic",job="scale",pool="p{i % 50}"}}' for i in range(n)]


def write_history(path: Path, n: int, start: float, end: float, spacing: float = STEP, phase: float = 0.0) -> int:
    times = np.arange(start, end + 1, spacing, dtype=float) + phase
    offsets = np.arange(n, dtype=float)
    labels = label_strings(n)
    written = 0
    with path.open("w") as out:
        out.write(f"# HELP {METRIC} Synthetic fleet series.\n# TYPE {METRIC} gauge\n")
        for first in range(0, n, 2000):
            block = series_values(times, offsets[first:first + 2000])
            for row, label in zip(block, labels[first:first + 2000]):
                out.writelines(f"{label} {v:.3f} {int(t)}\n" for t, v in zip(times, row))
                written += len(times)
        out.write("# EOF\n")
    return written


class Target:
    """A scrape target serving the current value of every series (text exposition)."""

    def __init__(self, n: int):
        self.n, self.labels = n, label_strings(n)
        self.offsets = np.arange(n, dtype=float)
        self.port = free_port()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                values = series_values(np.array([time.time()]), target.offsets)[:, 0]
                body = ("".join(f"{label} {v:.3f}\n" for label, v in zip(target.labels, values))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def proc_stats(pid: int) -> tuple[float, float]:
    """(CPU seconds, peak RSS in MiB) of a process from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / ticks  # incl. waited children
    peak = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return cpu, peak


def reset_peak_rss(pid: int) -> None:
    """Start VmHWM afresh (Linux: writing 5 to clear_refs), so later peaks exclude the cold start."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


def children_peak_rss(pid: int) -> float:
    """Sum of the live child processes' (fit workers') peak RSS in MiB."""
    total = 0.0
    for child in Path("/proc").iterdir():
        if not child.name.isdigit():
            continue
        try:
            fields = (child / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                total += proc_stats(int(child.name))[1]
        except (OSError, ValueError):
            continue
    return total


def children_cpu(pid: int) -> float:
    """CPU seconds of the live child processes (fit workers)."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for child in Path("/proc").iterdir():
        if not child.name.isdigit():
            continue
        try:
            fields = (child / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def self_metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def run_model(prom: Prometheus, n: int, model: str, history: float, cycles: int, workdir: Path, say,
              retrain_every: float = 300.0, scrape_every: float = 15.0, step: float = 60.0, spacing: float = 15.0) -> dict:
    port = free_port()
    config = {"prometheus": {"url": prom.url, "timeout": "300s"},
              "exporter": {"interval": "60s", "series_ttl": "1h", "fit_workers": 2},
              "queries": [{"name": "fleet", "expr": METRIC, "model": model, "step": f"{step:g}s",
                           "history": f"{history:g}s",
                           "min_history": f"{min(history, 6 * 3600):g}s", "max_series": max(n, 10000),
                           "retrain_every": f"{retrain_every:g}s"}]}
    path = workdir / f"exporter-{model}.yml"
    path.write_text(yaml.safe_dump(config))
    proc = Process(f"exporter-{model}", [sys.executable, "-m", "exporter", "--config.file", str(path),
                                         "--web.listen-address", f"127.0.0.1:{port}", "--log.level", "warning"],
                   workdir / f"exporter-{model}.log").start()
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        wait_http(f"{url}/readyz", 3600, proc.proc)
        first_cycle = time.monotonic() - started
        text = requests.get(f"{url}/metrics", timeout=120).text
        fit_seconds = self_metric(text, "aiops_exporter_fit_duration_seconds_sum")
        modelled = self_metric(text, 'aiops_exporter_series{aiops_query="fleet"}')
        cpu_after_fit = proc_stats(proc.proc.pid)[0] + children_cpu(proc.proc.pid)
        cold_rss = proc_stats(proc.proc.pid)[1]
        reset_peak_rss(proc.proc.pid)
        steady, retrains, scrape_seconds, scrape_bytes = [], [], [], 0
        seen = self_metric(text, "aiops_exporter_cycles_total") or 0
        fits_seen = self_metric(text, "aiops_exporter_fit_duration_seconds_count") or 0
        fit_sum_seen = self_metric(text, "aiops_exporter_fit_duration_seconds_sum") or 0
        retrain_fits = []  # seconds of each later fit, from the histogram's sum (a scrape may see several cycles)
        deadline = time.monotonic() + cycles * 90 + 300
        while len(steady) + len(retrains) < cycles and time.monotonic() < deadline:
            time.sleep(scrape_every)  # as a Prometheus scraping every `scrape_every` would
            began = time.perf_counter()
            text = requests.get(f"{url}/metrics", timeout=120).text
            scrape_seconds.append(time.perf_counter() - began)
            scrape_bytes = len(text)
            count = self_metric(text, "aiops_exporter_cycles_total") or 0
            fits = self_metric(text, "aiops_exporter_fit_duration_seconds_count") or 0
            if count > seen:
                fit_sum = self_metric(text, "aiops_exporter_fit_duration_seconds_sum") or 0
                if fits > fits_seen:
                    retrain_fits.append((fit_sum - fit_sum_seen) / (fits - fits_seen))
                # the last cycle's duration; when a scrape saw only that one cycle it is exact
                (retrains if fits > fits_seen and count == seen + 1 else steady).append(
                    self_metric(text, "aiops_exporter_cycle_duration_seconds"))
                seen, fits_seen, fit_sum_seen = count, fits, fit_sum
        cpu_total = proc_stats(proc.proc.pid)[0] + children_cpu(proc.proc.pid)
        peak_rss = proc_stats(proc.proc.pid)[1]
        workers_rss = children_peak_rss(proc.proc.pid)
        scored = self_metric(text, 'aiops_exporter_series{aiops_query="fleet"}')
    finally:
        proc.stop()
    result = {"series": n, "model": model, "sample_spacing_seconds": spacing, "step_seconds": step,
              "modelled": modelled, "scored_series": scored,
              "first_cycle_seconds": round(first_cycle, 1), "fit_seconds": round(fit_seconds or 0, 1),
              "steady_cycle_seconds": [round(c, 2) for c in steady if c is not None],
              "retrain_cycle_seconds": [round(c, 2) for c in retrains if c is not None],
              "retrain_fit_seconds": [round(f, 2) for f in retrain_fits],
              "retrain_every_seconds": retrain_every,
              "cpu_seconds_first_cycle": round(cpu_after_fit, 1), "cpu_seconds_total": round(cpu_total, 1),
              "cold_start_peak_rss_mib": round(cold_rss, 0), "peak_rss_mib": round(peak_rss, 0),
              "workers_peak_rss_mib": round(workers_rss, 0),
              "metrics_scrape_seconds_p50": round(float(np.median(scrape_seconds)), 3)
              if scrape_seconds else None, "metrics_bytes": scrape_bytes}
    cycle = max(result["steady_cycle_seconds"] or [float("nan")])
    retrain = max(result["retrain_cycle_seconds"] or result["retrain_fit_seconds"] or [float("nan")])
    say(f"{n:>7} {model:<9} {spacing:>6g}s {result['first_cycle_seconds']:>8.1f} {result['fit_seconds']:>7.1f} {cycle:>8.2f} "
        f"{retrain:>8.2f} {result['cpu_seconds_total']:>7.1f} {cold_rss:>7.0f} {result['peak_rss_mib']:>7.0f} "
        f"{workers_rss:>7.0f} {result['metrics_scrape_seconds_p50'] or float('nan'):>8.3f} {scrape_bytes / 1e6:>7.1f}")
    return result


def run_size(n: int, models: list[str], history: float, cycles: int, workdir: Path, say,
             retrain_every: float = 300.0, spacing: float = 15.0) -> list[dict]:
    target = Target(n)
    sparse = spacing > 60
    backfill_spacing, phase = (spacing, spacing / 6) if sparse else (STEP, 0.0)
    step = spacing if sparse else 60.0
    prom = Prometheus(workdir / f"prom-{n}-{spacing:g}", scrape_targets={"scale": [f"127.0.0.1:{target.port}"]},
                      scrape_interval=f"{spacing:g}s", extra_args=["--query.max-samples=200000000"])
    end = time.time() // backfill_spacing * backfill_spacing - backfill_spacing
    om = workdir / f"history-{n}.om"
    say(f"{n} series: writing {history / 3600:g}h of history at {backfill_spacing:g}-second spacing"
        f"{f' (phase {phase:g}s)' if phase else ''}, live samples every {spacing:g}s, step {step:g}s ...")
    samples = write_history(om, n, end - history, end, backfill_spacing, phase)
    began = time.monotonic()
    backfill(om, prom.data_dir)
    say(f"{n} series: {samples} samples backfilled in {time.monotonic() - began:.0f} s")
    om.unlink()
    prom.start(timeout=600)
    time.sleep(20)  # a scrape or two of current values
    try:
        return [run_model(prom, n, model, history, cycles, workdir, say, retrain_every, step=step, spacing=spacing)
                for model in models]
    finally:
        prom.stop()
        target.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", default="1000,10000")
    parser.add_argument("--models", default="seasonal,zscore")
    parser.add_argument("--history", default="1d", help="history backfilled and fitted (default 1d)")
    parser.add_argument("--cycles", type=int, default=6, help="cycles measured after the first (steady and retrains)")
    parser.add_argument("--retrain-every", default="5m", help="the query's retrain_every, so retrains are measured")
    parser.add_argument("--sample-spacing", default="15s",
                        help="comma-separated sample spacings to run each size at (default 15s: a live target scraped "
                             "every 15 s); longer than 1m: a sparse, CloudWatch-like fleet read with step = spacing")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    history = parse_duration(args.history)
    spacings = [parse_duration(x) for x in args.sample_spacing.split(",")]
    say = lambda text: print(text, flush=True)  # noqa: E731
    rows = []
    say(f"{'series':>7} {'model':<9} {'spacing':>7} {'1st cyc':>8} {'fit s':>7} {'cycle s':>8} {'retrain':>8} {'CPU s':>7} "
        f"{'RSS 1st':>7} {'RSS':>7} {'workers':>7} {'scrape s':>8} {'MB':>7}")
    say("(1st cyc: cold start, history read from Prometheus and fitted; cycle s / retrain: the longest steady and "
        "retrain cycle (a retrain's fit time when no scrape saw its cycle alone); RSS 1st: peak MiB during the "
        "cold start; RSS: peak MiB afterwards; workers: fit processes)")
    with tempfile.TemporaryDirectory(prefix="aiops-scale-") as tmp:
        for n in (int(x) for x in args.series.split(",")):
            for spacing in spacings:
                rows += run_size(n, args.models.split(","), history, args.cycles, Path(tmp), say,
                                 parse_duration(args.retrain_every), spacing)
    from .updates import main as updates_main

    say("\nin-process micro-benchmark (benchmarks/updates.py, 10,000 series):")
    updates_main(["--series", "10000", "--steps", "100"])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"cores": os.cpu_count(), "history_seconds": history, "rows": rows}, indent=2) + "\n")
    say(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
