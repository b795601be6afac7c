"""Prophet retrain time over worker processes: per-fit cost, speed-up with workers, and the 1,000-series estimate.

    .venv/bin/python -m benchmarks.prophet_fit [--series 40] [--workers 1,2] [--days 7]

Fits `series` synthetic seasonal series (days of history at 5-minute steps)
through the exporter's own code path (QueryState with a `prophet` query and
the local worker pool: one process per worker, each fit killed past its
timeout), once per worker count, after a warm-up that imports Prophet in every
worker. Prints wall time, fits per second and speed-up against one worker,
and the time 1,000 series would take at the measured rate (an estimate, said
so). Writes benchmarks/results/prophet_fit.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.updates import make_batch
from exporter.config import QueryConfig
from exporter.executor import LocalFitExecutor
from exporter.fitting import fit_query

RESULTS = Path(__file__).resolve().parent / "results" / "prophet_fit.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=40)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    batch = make_batch(args.series, int(args.days * 288))
    query = QueryConfig(name="p", expr="x", model="prophet", step="300s", history=f"{args.days:g}d",
                        params={"fit_timeout": "300s"})
    rows = []
    label = "1,000 series min" + ("" if args.series == 1000 else " (est.)")
    print(f"{'workers':>7} {'series':>6} {'wall s':>8} {'fits/s':>7} {'speed-up':>8} {label:>24}")
    for workers in (int(w) for w in args.workers.split(",")):
        executor = LocalFitExecutor(workers)
        try:
            fit_query(query, batch.times, batch.values[:workers], executor)  # warm-up: import Prophet in every worker
            began = time.perf_counter()
            result = fit_query(query, batch.times, batch.values, executor)
            wall = time.perf_counter() - began
        finally:
            executor.close()
        rate = args.series / wall
        base = rows[0]["fits_per_second"] if rows else rate
        rows.append({"workers": workers, "series": args.series, "days": args.days, "wall_seconds": round(wall, 1),
                     "fits_per_second": round(rate, 3), "speedup": round(rate / base, 2),
                     "ok": int(result.ok.sum()), "failures": result.failures,
                     "estimated_minutes_for_1000": round(1000 / rate / 60, 1)})
        r = rows[-1]
        print(f"{workers:>7} {args.series:>6} {wall:>8.1f} {rate:>7.2f} {r['speedup']:>8.2f} "
              f"{r['estimated_minutes_for_1000']:>24.1f}", flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
