"""`make demo`: the whole chain on local binaries, with a cascading fault.

Starts Prometheus (a backfilled week of history, the shipped rules with a
short `for:`), Alertmanager, aiops-receiver (automation in dry-run), a
workload whose database slows and then its dependents, and aiops-exporter.
Prints each link as it happens: the anomaly scored, AIOpsAnomalyDetected
firing, the incident with its probable root cause and priority, the dry-run
action. Then writes a summary, the incident JSON and a PNG of actual vs band,
and leaves everything running until Ctrl-C, which stops every process.

Each run starts from an empty workdir: a history that ended minutes ago, or the
incidents and actions of the last run, would make this run's chain wait for series
to come back or report the last run's incident. A workdir that holds files the demo
did not make is refused, never emptied.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from devstack.stack import Stack, StackSettings

SENTINEL = ".aiops-demo"  # marks a workdir this demo made, so that the next run may empty it


def fresh_workdir(path: Path) -> None:
    """Empty the last run's workdir (or make a new one); refuse a non-empty directory the demo did not make."""
    if path.exists() and any(path.iterdir()):
        made_here = (path / SENTINEL).exists() or (path / "prometheus" / "data" / "backfilled").exists()
        if not made_here:
            raise SystemExit(f"--workdir {path}: not empty and not made by make demo; name a new or empty directory")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / SENTINEL).write_text("made by make demo; each run empties it and starts again\n")


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait(stack: Stack, what: str, probe, timeout: float = 600):
    deadline = time.monotonic() + timeout
    last_report = 0.0
    while time.monotonic() < deadline:
        try:
            value = probe()
        except (requests.RequestException, KeyError, IndexError):
            value = None
        if value:
            return value
        if time.monotonic() - last_report > 15:
            last_report = time.monotonic()
            scores = stack.scores()
            phase = "fault active" if time.time() >= stack.fault_at else f"fault in {stack.fault_at - time.time():.0f}s"
            say(f"  waiting for {what} ({phase}); scores: "
                + ", ".join(f"{s}={v:.2f}" for s, v in sorted(scores.items())))
        time.sleep(1)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f}s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path(".demo"))
    parser.add_argument("--fault-after", type=float, default=60, help="seconds until the injected fault")
    parser.add_argument("--exit-after-detection", action="store_true", help="stop once the chain completed")
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    fresh_workdir(workdir)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    stack = Stack(workdir, StackSettings(fault_after=args.fault_after, for_duration="30s", step="30s",
                                         scrape_interval="5s", exporter_interval="5s"))
    try:
        stack.start(say=lambda m: say(f"[setup] {m}"))
        say(f"[1/5] models ready; payments-db starts to saturate in {args.fault_after:.0f}s, its dependents a minute later")
        scores = wait(stack, "the anomaly", lambda: {s: v for s, v in stack.scores().items() if v > 1})
        say("[1/5] anomaly scored: " + ", ".join(f"{s} {v:.2f}" for s, v in scores.items())
            + f" ({time.time() - stack.fault_at:.0f}s after the fault began)")
        wait(stack, "AIOpsAnomalyDetected to fire", stack.firing_alerts)
        say("[2/5] Prometheus fires AIOpsAnomalyDetected; Alertmanager routes it to the receiver")
        incident = wait(stack, "the incident", lambda: [i for i in stack.incidents()  # not the suite's own health
                                                          if i["probable_root_cause"]
                                                          and i["title"].startswith("AIOpsAnomalyDetected")])[0]
        detail = stack.incident(incident["id"])
        say(f"[3/5] incident #{incident['id']} {incident['priority']}: {detail['summary']}")
        say(f"      probable root cause: {detail['root_cause_candidates'][0]['explanation']}")
        action = wait(stack, "the dry-run action", lambda: [a for a in stack.actions() if a["status"] == "dry_run"])[0]
        say(f"[4/5] automation (dry-run) recorded action #{action['id']}: rule {action['rule']}, "
            f"{action['action_type']} -> {action['reason']}")
        time.sleep(10)
        detail = stack.incident(incident["id"])
        (workdir / "incident.json").write_text(json.dumps(detail, indent=2))
        png = workdir / "actual-vs-band.png"
        subprocess.run([sys.executable, "-m", "exporter", "--config.file", str(stack.exporter_config_path),
                        "backtest", "--query", "cpu", "--from", "now-2h", "--output", str(png)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        summary = {"detected_after_seconds": round(time.time() - stack.fault_at, 1), "incident": incident["id"],
                   "priority": detail["priority"], "root_cause": detail["root_cause_candidates"][0]["service"],
                   "summary": detail["summary"], "alerts": len(detail["alerts"]), "dry_run_action": action["id"]}
        (workdir / "summary.json").write_text(json.dumps(summary, indent=2))
        say(f"[5/5] wrote {workdir / 'summary.json'}, {workdir / 'incident.json'} and {png}")
        if args.exit_after_detection:
            return 0
        say(f"stack left running: Prometheus {stack.prometheus.url}, Alertmanager {stack.alertmanager.url}, "
            f"exporter {stack.exporter_url}/metrics, receiver {stack.receiver.url}/api/v1/incidents. "
            "Ctrl-C stops everything.")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        say("stopping ...")
        return 0
    except (RuntimeError, TimeoutError, OSError) as err:
        say(f"demo failed: {err}")
        return 1
    finally:
        stack.stop()


if __name__ == "__main__":
    raise SystemExit(main())
