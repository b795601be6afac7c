"""Incident quality on alert storms with known causes, through a real Alertmanager into a real receiver.

    .venv/bin/python -m benchmarks.incidents [--data DIR] [--output FILE] [--only NAME]

DIR holds storm scenarios (YAML, the format in devstack/storms.py); the default is benchmarks/storms.
For each scenario a fresh receiver process (SQLite, the documented correlation settings plus the
scenario's topology) and a fresh Alertmanager 0.25 are started; earlier episodes are posted to the
webhook, then the storm is pushed to Alertmanager in time order. The incidents are then read back
through the API and judged: incidents vs ideal, reduction, fragmentation, purity, root cause top-1 /
top-3 and lost alerts, per scenario and overall. A baseline is computed in the same run from the same
alerts: grouping by the group_by labels within the window (as Alertmanager groups) with the first alert
as the probable cause.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from devstack.alertmanager import Alertmanager
from devstack.procs import free_port
from devstack.receiver import ReceiverProcess
from devstack.storms import Score, alertmanager_config, incidents_of, load_dir, naive_baseline, overall, replay, score

DEFAULT_DIR = Path(__file__).resolve().parent / "storms"


def run_one(scenario, workdir: Path, group_by: list[str] | None = None, time_scale: float | None = None) -> Score:
    port = free_port()
    receiver = ReceiverProcess(workdir / "receiver", scenario.receiver_config(f"sqlite:///{workdir / 'r.db'}"),
                               port=port).start()
    am = Alertmanager(workdir / "am", alertmanager_config(f"{receiver.url}/webhook/alertmanager", group_by)).start()
    try:
        base = replay(scenario, receiver.url, am, timeout=120.0, time_scale=time_scale)
        time.sleep(0.5)  # let the last recompute land
        return score(scenario, base, incidents_of(receiver.url))
    finally:
        am.stop()
        receiver.stop()


def _row(name: str, s: dict) -> str:
    return (f"{name:<28} {s['alerts_stored']:>6} {s['incidents']:>4}/{s['ideal']:<4} {s['reduction']:>9.2f} "
            f"{s['fragmentation']:>8.2f} {s['purity']:>7.2f} {s['top1']:>6} {s['top3']:>6} {s['lost']:>5}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DIR, help="directory of storm scenarios (YAML)")
    parser.add_argument("--only", help="run only the scenario with this name")
    parser.add_argument("--am-group-by", default="",
                        help="Alertmanager route group_by, e.g. cluster,namespace: alerts then arrive in Alertmanager's "
                             "batches on a compressed timeline (default: each alert alone, in order)")
    parser.add_argument("--time-scale", type=float, default=0.05,
                        help="with --am-group-by: real seconds per scenario second (default 0.05)")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/incidents.json"))
    args = parser.parse_args(argv)
    group_by = [g for g in args.am_group_by.split(",") if g] or None
    scenarios = [s for s in load_dir(args.data) if args.only in (None, s.name)]
    if not scenarios:
        parser.error(f"no storm scenario in {args.data}")
    started = time.perf_counter()
    header = (f"{'scenario':<28} {'alerts':>6} {'inc/ideal':>9} {'reduction':>9} {'fragment':>8} {'purity':>7} "
              f"{'top-1':>6} {'top-3':>6} {'lost':>5}")
    delivery = f"grouped by {','.join(group_by)}" if group_by else "one alert per notification, in order"
    print(f"{len(scenarios)} storm(s) from {args.data}, each through Alertmanager ({delivery}) into a fresh receiver",
          flush=True)
    print(header)
    scores, baselines = [], []
    for scenario in scenarios:
        with tempfile.TemporaryDirectory(prefix="aiops-storm-") as tmp:
            result = run_one(scenario, Path(tmp), group_by, args.time_scale if group_by else None)
        scores.append(result)
        baselines.append(naive_baseline(scenario))
        row = result.as_dict()
        row["top1"], row["top3"] = f"{sum(result.top1)}/{len(result.top1)}", f"{sum(result.top3)}/{len(result.top3)}"
        print(_row(scenario.name, row), flush=True)
        for miss in result.misses:
            print(f"    miss: {miss}")
    total, base = overall(scores), overall(baselines)
    print(_row("overall (receiver)", total))
    print(_row("overall (baseline)", base))
    print(f"top-1/top-3 are recall over {total['causes_ranked']} causes; baseline: group_by labels within the "
          f"window, first alert as cause; {time.perf_counter() - started:.0f} s")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"data": str(args.data), "delivery": delivery, "overall": total, "baseline": base,
                                       "scenarios": [s.as_dict() for s in scores],
                                       "baseline_scenarios": [b.as_dict() for b in baselines]}, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
