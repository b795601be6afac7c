"""Detection quality on the Numenta Anomaly Benchmark, through score-csv's code path.

    .venv/bin/python -m benchmarks.nab [NAB_DIR] [--models seasonal,zscore,prophet] [--jobs N]

NAB_DIR has NAB's layout (data/<category>/<file>.csv, labels/combined_windows.json,
config/profiles.json); the default is ../shared/nab. Every model scores every
file with exporter.backtest.score_csv, exactly what `aiops-exporter score-csv`
runs; the scores are then judged with the published NAB method: each profile
with its optimised threshold, and the same profiles at the exporter's fixed
production threshold (score >= 1). Prints a table, writes JSON, states the runtime.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from benchmarks.nabscore import load_profiles, optimize, prepare, score_at

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "nab"
PRODUCTION_THRESHOLD = 1.0
# Prophet refits on every retrain_every of data time; at the live default (1h) a NAB file means
# hundreds of fits, so the benchmark refits it daily. The other models run with their live defaults.
QUERY_OVERRIDES = {"prophet": {"retrain_every": "1d", "params": {"uncertainty_samples": 200}}}


def score_file(model: str, path: Path, override: dict) -> tuple[str, list[float], float]:
    from exporter.backtest import default_query, score_csv
    from exporter.config import QueryConfig

    started = time.process_time()
    base = default_query(model)
    query = QueryConfig.model_validate({**base.model_dump(), **QUERY_OVERRIDES.get(model, {}), **override})
    with tempfile.TemporaryDirectory() as out:
        written = score_csv([path], Path(out), query, None)[0]
        scores = pd.read_csv(written)["anomaly_score"].tolist()
    return str(path), scores, time.process_time() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("nab_dir", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--models", default="seasonal,zscore,prophet")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--set", default="{}", type=json.loads,
                        help='JSON of query settings to try instead of the defaults, e.g. \'{"interval_width": 0.99}\'')
    parser.add_argument("--details", action="store_true", help="per-file detections at the fixed threshold")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/nab.json"))
    args = parser.parse_args(argv)
    windows = json.loads((args.nab_dir / "labels" / "combined_windows.json").read_text())
    profiles = load_profiles(args.nab_dir / "config" / "profiles.json")
    files = sorted(p for p in (args.nab_dir / "data").glob("*/*.csv"))
    rel = {str(p): str(p.relative_to(args.nab_dir / "data")) for p in files}
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    print(f"NAB: {len(files)} files, {sum(len(windows.get(r, [])) for r in rel.values())} windows, "
          f"models {', '.join(models)}, {args.jobs} worker(s)", flush=True)
    report = {"nab_dir": str(args.nab_dir), "files": len(files), "settings": args.set, "models": {}}
    wall_start = time.perf_counter()
    for model in models:
        started = time.perf_counter()
        with ProcessPoolExecutor(args.jobs) as pool:
            results = list(pool.map(score_file, [model] * len(files), files, [args.set] * len(files)))
        points, cpu = [], 0.0
        for path, scores, seconds in results:
            frame = pd.read_csv(path)
            points.append(prepare(rel[path], pd.to_datetime(frame["timestamp"]), scores, windows.get(rel[path], [])))
            cpu += seconds
        entry = {"runtime_seconds": round(time.perf_counter() - started, 1), "cpu_seconds": round(cpu, 1)}
        for profile in profiles:
            best = optimize(points, profile)
            fixed = score_at(points, profile, PRODUCTION_THRESHOLD)
            entry[profile.name] = {
                "optimized": {"score": round(best.normalized, 2), "threshold": best.threshold,
                              "tp": best.tp, "fp": best.fp, "fn": best.fn},
                "fixed_threshold_1": {"score": round(fixed.normalized, 2), "tp": fixed.tp, "fp": fixed.fp,
                                      "fn": fixed.fn}}
        report["models"][model] = entry
        if args.details:
            print_details(points)
        print(f"  {model}: done in {entry['runtime_seconds']}s", flush=True)
    report["runtime_seconds"] = round(time.perf_counter() - wall_start, 1)
    print_table(report, [p.name for p in profiles])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.output}; total runtime {report['runtime_seconds']}s")
    return 0


def print_details(points) -> None:
    standard = [p for p in load_profiles(DEFAULT_DIR / "config" / "profiles.json") if p.name == "standard"]
    for f in points:
        result = score_at([f], standard[0] if standard else None, PRODUCTION_THRESHOLD)
        print(f"    {f.name:<58} windows {f.n_windows}  tp {result.tp}  fn {result.fn}  fp {result.fp:>4}  "
              f"raw {result.raw:+.2f}")


def print_table(report: dict, profiles: list[str]) -> None:
    head = f"{'model':<10}" + "".join(f"{p + ' (opt)':>26}" for p in profiles) + \
        "".join(f"{p + ' @1':>24}" for p in profiles) + f"{'time s':>9}"
    print(head)
    for model, entry in report["models"].items():
        opt = "".join(f"{entry[p]['optimized']['score']:>17.1f} (t={entry[p]['optimized']['threshold']:.2f})"
                      for p in profiles)
        fixed = "".join(f"{entry[p]['fixed_threshold_1']['score']:>24.1f}" for p in profiles)
        print(f"{model:<10}{opt}{fixed}{entry['runtime_seconds']:>9.1f}")


if __name__ == "__main__":
    raise SystemExit(main())
