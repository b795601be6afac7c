"""Run the demo: backfilled Prometheus + workload with a fault + exporter.

Progress is printed as it goes; the stack keeps running for exploration
until Ctrl-C, which stops every process this started.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import requests
import yaml

from devstack.procs import Process, free_port, wait_http
from devstack.prometheus import Prometheus, backfill
from devstack.synthetic import seasonal_values, write_openmetrics
from devstack.workload import specs

STEP = 60


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def write_history(path: Path, end: float, days: int) -> None:
    times = np.arange(end - days * 86400, end + 1, STEP, dtype=float)
    write_openmetrics(path, ((spec, times, seasonal_values(spec, times)) for spec in specs()))


def exporter_config(prom_url: str) -> dict:
    return {
        "prometheus": {"url": prom_url, "timeout": "10s"},
        "exporter": {"interval": "10s"},
        "queries": [{"name": "cpu", "expr": "demo_cpu_usage", "model": "seasonal", "step": "30s",
                     "history": "7d", "horizons": ["1h", "6h"], "interval_width": 0.99}],
    }


def scores(prom: Prometheus) -> dict[str, tuple[float, float, float]]:
    out = {}
    for metric in ("aiops_anomaly_score", "demo_cpu_usage", "aiops_yhat"):
        for item in prom.query(metric if metric != "demo_cpu_usage" else 'demo_cpu_usage{job="demo"}'):
            service = item["metric"].get("service")
            out.setdefault(service, {})[metric] = float(item["value"][1])
    return {s: (v.get("demo_cpu_usage", float("nan")), v.get("aiops_yhat", float("nan")),
                v.get("aiops_anomaly_score", float("nan"))) for s, v in out.items() if s}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path(".demo"))
    parser.add_argument("--fault-after", type=float, default=90, help="seconds until the injected fault")
    parser.add_argument("--exit-after-detection", action="store_true", help="stop once the anomaly is scored")
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    started: list = []

    def stop_all(*_):
        for proc in reversed(started):
            proc.stop()

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        workload_port, exporter_port = free_port(), free_port()
        prom = Prometheus(workdir / "prometheus", scrape_interval="5s",
                          scrape_targets={"demo": [f"127.0.0.1:{workload_port}"],
                                          "aiops-exporter": [f"127.0.0.1:{exporter_port}"]})
        if not (prom.data_dir / "backfilled").exists():
            say("[1/4] writing a week of history and backfilling it with promtool ...")
            end = (time.time() // STEP) * STEP - STEP
            openmetrics = workdir / "history.om"
            write_history(openmetrics, end, 7)
            backfill(openmetrics, prom.data_dir)
            (prom.data_dir / "backfilled").write_text(str(end))
        else:
            say("[1/4] reusing backfilled history in " + str(prom.data_dir))
        say(f"[2/4] starting Prometheus on {prom.url}")
        prom.start()
        started.append(prom)
        workload = Process("workload", [sys.executable, "-m", "devstack.workload", "--port", str(workload_port),
                                        "--fault-after", str(args.fault_after)], workdir / "workload.log").start()
        started.append(workload)
        config_path = workdir / "exporter.yml"
        config_path.write_text(yaml.safe_dump(exporter_config(prom.url), sort_keys=False))
        say(f"[3/4] starting aiops-exporter on http://127.0.0.1:{exporter_port} (config {config_path})")
        exporter = Process("exporter", [sys.executable, "-m", "exporter", "--config.file", str(config_path),
                                        "--web.listen-address", f"127.0.0.1:{exporter_port}"],
                           workdir / "exporter.log").start()
        started.append(exporter)
        wait_http(f"http://127.0.0.1:{exporter_port}/readyz", 300, exporter.proc)
        fault_at = time.time() + args.fault_after
        say(f"[4/4] models ready; a payments-db fault starts in {args.fault_after:.0f}s. Scores (Prometheus view):")
        detected = None
        while True:
            time.sleep(10)
            table = scores(prom)
            line = "  ".join(f"{s}={v[0]:.1f} (yhat {v[1]:.1f}, score {v[2]:.2f})" for s, v in sorted(table.items()))
            phase = "fault active" if time.time() >= fault_at else f"fault in {fault_at - time.time():.0f}s"
            say(f"{phase}: {line}")
            hot = {s: v[2] for s, v in table.items() if v[2] > 1}
            if hot and detected is None and time.time() >= fault_at:
                detected = time.time()
                first = max(hot, key=hot.get)
                say(f"ANOMALY: {first} scored {hot[first]:.2f} ({detected - fault_at:.0f}s after the fault began)")
                summary = {"detected_after_seconds": round(detected - fault_at, 1), "scores": hot,
                           "prometheus": prom.url, "exporter": f"http://127.0.0.1:{exporter_port}/metrics"}
                (workdir / "summary.json").write_text(json.dumps(summary, indent=2))
                png = workdir / "payments-db.png"
                subprocess.run([sys.executable, "-m", "exporter", "--config.file", str(config_path), "backtest",
                                "--query", "cpu", "--from", "now-2h", "--output", str(png)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
                say(f"wrote {workdir / 'summary.json'} and {png}")
                if args.exit_after_detection:
                    return 0
                say(f"stack left running: Prometheus {prom.url}, exporter http://127.0.0.1:{exporter_port}. "
                    "Ctrl-C stops everything.")
    except KeyboardInterrupt:
        say("stopping ...")
        return 0
    except (RuntimeError, TimeoutError, requests.RequestException) as err:
        say(f"demo failed: {err}")
        return 1
    finally:
        stop_all()


if __name__ == "__main__":
    raise SystemExit(main())
