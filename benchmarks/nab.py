"""Detection quality on the Numenta Anomaly Benchmark, through score-csv's code path.

    .venv/bin/python -m benchmarks.nab [--data DIR] [--models seasonal,windowed-gaussian] [--ablation]

DIR has NAB's layout (data/<category>/<file>.csv, labels/combined_windows.json,
config/profiles.json); the default is ../shared/nab. Every exporter model scores every
file with exporter.backtest.score_csv, exactly what `aiops-exporter score-csv` runs with
its defaults; `windowed-gaussian` is the baseline NAB ships (|z| against the mean and
standard deviation of the last 6,400 values), computed in the same run. The scores are
judged with the published NAB method for each profile (standard, reward_low_FP_rate,
reward_low_FN_rate): with the threshold optimised over the set, and at the exporter's fixed
production threshold (score >= 1; for the baseline, |z| at the normal quantile of the
default interval_width). Figures are given for all files and per category, each category
with its own optimised threshold. `--ablation` re-runs the default model with each of its
mechanisms turned off. `--gaps` scores a copy of every file with random gaps outside its
labelled windows instead (how the detector holds on a series with scrape gaps; the anomalies
themselves are kept); `--offset` a copy with every value v as 1000 v + 5,000,000 (where a series
sits must not change its figures); `--coarser K` a copy with each K rows averaged into one, stamped at
the last (the same series read at a K times coarser step, as `avg_over_time` would give it). Prints
tables, writes JSON, states the runtime.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.nabscore import FilePoints, Profile, load_profiles, optimize, prepare, score_at
from exporter.config import DEFAULT_INTERVAL_WIDTH
from exporter.models import REGISTRY

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "nab"
PRODUCTION_THRESHOLD = 1.0
BASELINE = "windowed-gaussian"
BASELINE_WINDOW = 6400  # NAB's windowed Gaussian detector
OFFSET = (1000.0, 5e6)  # --offset: every value v becomes 1000 v + 5,000,000 (a large level, small moves)
GAP_SHARE = 0.1  # --gaps: about this share of each file's rows falls in a gap
GAP_ROWS = (6, 144)  # --gaps: a gap is this many rows (drawn uniformly): 30 minutes to 12 hours at NAB's usual 5 minutes
# Prophet refits on every retrain_every of data time; at the live default (1h) a NAB file means
# hundreds of fits, so the benchmark refits it daily. The other models run with their live defaults.
QUERY_OVERRIDES = {"prophet": {"retrain_every": "1d", "params": {"uncertainty_samples": 200}}}
# Each mechanism of the default model, turned off (query settings applied over the defaults).
ABLATION: dict[str, dict] = {
    "long period (weekly profile) off": {"params": {"long_period": 0}},
    "history 7d at every step (not 2016 steps)": {"history": "7d"},
    "volatility widening on (off by default)": {"params": {"volatility_half_life": "1h"}},
    "sustained score off": {"params": {"sustained": []}},
    "sustained half-life not held to 12 steps": {"params": {"sustained_min_steps": 1}},
    "roughness score off": {"params": {"roughness_samples": 0}},
    "level shift adoption off": {"params": {"shift_after": 0}},
    "probation after a shift off": {"params": {"shift_probation": 0}},
    "band calibration weighs all history alike": {"params": {"calibration_half_life": 0}},
    "band calibration off (normal quantile)": {"params": {"calibrate": False}},
    "seasonal profile off": {"params": {"seasonality": "off"}},
    "slots short of samples not pooled wider": {"params": {"widen_slots": False}},
    "profiles not pooled to 30 samples per slot": {"params": {"min_slot_samples": 0}},
    "profiles never taken unsmoothed": {"params": {"sharpen_slots": False}},
}


def score_file(model: str, path: Path, override: dict) -> tuple[str, list[float], float]:
    """One file's scores from `model` (an exporter model through score_csv, or the baseline)."""
    started = time.process_time()
    if model == BASELINE:
        values = pd.read_csv(path)["value"].to_numpy(dtype=float)
        return str(path), windowed_gaussian(values).tolist(), time.process_time() - started
    from exporter.backtest import default_query, score_csv
    from exporter.config import QueryConfig

    base = default_query(model).model_dump(exclude_unset=True)
    settings = merge(merge(base, QUERY_OVERRIDES.get(model, {})), override)
    query = QueryConfig.model_validate(settings)
    with tempfile.TemporaryDirectory() as out:
        written = score_csv([path], Path(out), query, None)[0]
        scores = pd.read_csv(written)["anomaly_score"].tolist()
    return str(path), scores, time.process_time() - started


def merge(base: dict, override: dict) -> dict:
    """base with override applied; `params` dicts are merged key by key."""
    merged = {**base, **override}
    if isinstance(base.get("params"), dict) and isinstance(override.get("params"), dict):
        merged["params"] = {**base["params"], **override["params"]}
    return merged


def windowed_gaussian(values: np.ndarray, window: int = BASELINE_WINDOW,
                      interval_width: float = DEFAULT_INTERVAL_WIDTH) -> np.ndarray:
    """|z| of each value against the mean and deviation of the `window` values before it, in units of the
    normal quantile of interval_width (so 1 reads like the exporter's band edge). Causal; NaN until 2 values."""
    from statistics import NormalDist

    unit = NormalDist().inv_cdf(0.5 + interval_width / 2)
    scores = np.full(len(values), np.nan)
    recent: deque[float] = deque()
    total = total_sq = 0.0
    for i, value in enumerate(values):
        if len(recent) > 1:
            mean = total / len(recent)
            std = max(total_sq / len(recent) - mean * mean, 1e-12) ** 0.5
            scores[i] = abs(value - mean) / std / unit
        if np.isfinite(value):
            recent.append(value)
            total, total_sq = total + value, total_sq + value * value
            if len(recent) > window:
                old = recent.popleft()
                total, total_sq = total - old, total_sq - old * old
    return scores


def rewritten(data: Path, out: Path, rewrite: Callable[[str, pd.DataFrame], pd.DataFrame]) -> Path:
    """A copy of NAB directory `data` under `out` (labels and profiles as they are) with each data file's rows
    replaced by rewrite(its name under data/, its rows)."""
    shutil.copytree(data / "labels", out / "labels")
    shutil.copytree(data / "config", out / "config")
    for path in sorted((data / "data").glob("*/*.csv")):
        name = str(path.relative_to(data / "data"))
        (out / "data" / path.parent.name).mkdir(parents=True, exist_ok=True)
        rewrite(name, pd.read_csv(path)).to_csv(out / "data" / name, index=False)
    return out


def with_gaps(data: Path, out: Path, windows: dict, share: float = GAP_SHARE, seed: int = 0) -> Path:
    """A copy of NAB directory `data` under `out` whose files lose blocks of rows outside their labelled windows.

    Each row starts a gap with a probability that makes about `share` of the rows fall in one; a gap lasts
    GAP_ROWS rows (drawn uniformly); rows inside a window are kept. The draw depends on the file's name and
    `seed` only, so every run and every directory layout gives a file the same gaps.
    """
    mean_length = sum(GAP_ROWS) / 2

    def cut(name: str, frame: pd.DataFrame) -> pd.DataFrame:
        times = pd.to_datetime(frame["timestamp"])
        rng = np.random.default_rng([zlib.crc32(name.encode()), seed])
        keep = np.ones(len(frame), dtype=bool)
        starts = np.flatnonzero(rng.random(len(frame)) < share / mean_length)
        for start, length in zip(starts, rng.integers(*GAP_ROWS, size=len(starts))):
            keep[start:start + length] = False
        for begin, end in windows.get(name, []):
            keep |= ((times >= pd.Timestamp(begin)) & (times <= pd.Timestamp(end))).to_numpy()
        return frame[keep]

    return rewritten(data, out, cut)


def with_offset(data: Path, out: Path, scale: float = OFFSET[0], shift: float = OFFSET[1]) -> Path:
    """A copy of NAB directory `data` under `out` with every value v written as scale * v + shift."""
    return rewritten(data, out, lambda _, frame: frame.assign(value=frame["value"] * scale + shift))


def coarser(data: Path, out: Path, rows: int) -> Path:
    """A copy of NAB directory `data` under `out` whose files hold the mean of every `rows` consecutive rows,
    stamped at the last of them (what was known at the end of each coarser step; windows as they are)."""
    def average(_: str, frame: pd.DataFrame) -> pd.DataFrame:
        bucket = np.arange(len(frame)) // rows
        return pd.DataFrame({"timestamp": frame["timestamp"].groupby(bucket).last(),
                             "value": frame["value"].groupby(bucket).mean()})

    return rewritten(data, out, average)


def run_detector(model: str, files: list[Path], override: dict, jobs: int) -> tuple[dict[str, list[float]], float]:
    """Scores of every file (by path) and the CPU seconds they took."""
    with ProcessPoolExecutor(jobs) as pool:
        results = list(pool.map(score_file, [model] * len(files), files, [override] * len(files)))
    return {path: scores for path, scores, _ in results}, sum(seconds for _, _, seconds in results)


def judge(scores: dict[str, list[float]], data: Path, windows: dict, profiles: list[Profile]) -> dict:
    """NAB figures for all files and per category: per profile, optimised and at the production threshold."""
    points: dict[str, list[FilePoints]] = {"all": []}
    for path, file_scores in sorted(scores.items()):
        name = str(Path(path).relative_to(data / "data"))
        frame = pd.read_csv(path, usecols=["timestamp"])
        prepared = prepare(name, pd.to_datetime(frame["timestamp"]), np.asarray(file_scores, dtype=float),
                           windows.get(name, []))
        points["all"].append(prepared)
        points.setdefault(name.split("/")[0], []).append(prepared)
    figures: dict = {}
    for group, members in points.items():
        figures[group] = {"files": len(members), "windows": sum(f.n_windows for f in members)}
        for profile in profiles:
            best = optimize(members, profile)
            fixed = score_at(members, profile, PRODUCTION_THRESHOLD)
            figures[group][profile.name] = {
                "optimized": {"score": round(best.normalized, 2), "threshold": round(best.threshold, 3),
                              "tp": best.tp, "fp": best.fp, "fn": best.fn},
                "fixed_threshold_1": {"score": round(fixed.normalized, 2), "tp": fixed.tp, "fp": fixed.fp,
                                      "fn": fixed.fn}}
    return figures


def print_figures(report: dict, profiles: list[str]) -> None:
    short = {"standard": "standard", "reward_low_FP_rate": "low FP", "reward_low_FN_rate": "low FN"}
    head = f"{'detector':<18}{'files':<26}" + "".join(f"{short.get(p, p) + ' opt / @1':>20}" for p in profiles)
    print(head)
    for detector, entry in report["detectors"].items():
        for group, figures in entry["figures"].items():
            if not figures["windows"] and group != "all":
                cells = "".join(f"{'fp@1 ' + str(figures[p]['fixed_threshold_1']['fp']):>20}" for p in profiles)
            else:
                cells = "".join(f"{figures[p]['optimized']['score']:>12.1f} /{figures[p]['fixed_threshold_1']['score']:>6.1f}"
                                for p in profiles)
            label = f"{group} ({figures['files']})"
            print(f"{detector:<18}{label:<26}{cells}")
        print(f"{'':<18}{'cpu ' + str(entry['cpu_seconds']) + ' s, wall ' + str(entry['runtime_seconds']) + ' s'}")


def print_ablation(rows: dict, categories: list[str]) -> None:
    print("\nablation (standard profile; all files opt / @1, then each category's optimised score)")
    print(f"{'variant':<44}{'all':>14}" + "".join(f"{c[:12]:>13}" for c in categories))
    for variant, figures in rows.items():
        std = figures["all"]["standard"]
        cells = "".join(f"{figures[c]['standard']['optimized']['score']:>13.1f}" if figures[c]["windows"] else f"{'-':>13}"
                        for c in categories)
        print(f"{variant:<44}{std['optimized']['score']:>7.1f} /{std['fixed_threshold_1']['score']:>5.1f}{cells}")


def model_names(text: str) -> list[str]:
    """`--models`: comma-separated exporter models and/or the baseline, each known (refused by name before any file is
    scored)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in {*REGISTRY, BASELINE}]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {', '.join(unknown)} (known: {', '.join(sorted(REGISTRY))}, "
                                         f"{BASELINE})")
    return names


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DIR, help="a directory in NAB's layout")
    parser.add_argument("--models", default=f"seasonal,{BASELINE}", type=model_names,
                        help=f"exporter models (seasonal, zscore, prophet) and/or {BASELINE}")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--set", default="{}", type=json.loads,
                        help='JSON of query settings to try instead of the defaults, e.g. \'{"interval_width": 0.99}\'')
    parser.add_argument("--ablation", action="store_true",
                        help="also run the default model with each mechanism turned off")
    parser.add_argument("--gaps", action="store_true",
                        help=f"score copies of the files with random gaps outside their windows (about "
                             f"{GAP_SHARE:.0%}% of the rows, {GAP_ROWS[0]} to {GAP_ROWS[1]} rows each)")
    parser.add_argument("--gaps-seed", type=int, default=0, help="another draw of the gaps (with --gaps)")
    parser.add_argument("--gaps-share", type=float, default=GAP_SHARE, help="share of the rows in gaps (with --gaps)")
    parser.add_argument("--offset", action="store_true",
                        help=f"score copies of the files with every value v as {OFFSET[0]:g} v + {OFFSET[1]:,.0f}: "
                             f"the figures should not change")
    parser.add_argument("--coarser", type=int, metavar="K",
                        help="score copies of the files with each K rows averaged into one (a K times coarser step)")
    parser.add_argument("--output", type=Path, help="default benchmarks/results/nab.json (nab_gaps.json with --gaps, "
                                                    "nab_offset.json with --offset, nab_coarser.json with --coarser)")
    args = parser.parse_args(argv)
    for needed in ("data", "labels/combined_windows.json", "config/profiles.json"):
        if not (args.data / needed).exists():
            parser.error(f"--data {args.data}: no {needed} (expected NAB's layout)")
    windows = json.loads((args.data / "labels" / "combined_windows.json").read_text())
    modes = [name for name, wanted in (("gaps", args.gaps), ("offset", args.offset), ("coarser", args.coarser))
             if wanted]
    if len(modes) > 1:
        parser.error(f"--{' and --'.join(modes)}: one at a time")
    if args.coarser is not None and args.coarser < 2:
        parser.error(f"--coarser {args.coarser}: must be 2 or more rows per step")
    mode = modes[0] if modes else None
    output = args.output or Path(f"benchmarks/results/nab_{mode}.json" if mode else "benchmarks/results/nab.json")
    copies = {"offset": (f"every value v as {OFFSET[0]:g} v + {OFFSET[1]:,.0f}", partial(with_offset, args.data)),
              "gaps": (f"about {args.gaps_share:.0%} of each file's rows outside its windows removed",
                       partial(with_gaps, args.data, windows=windows, share=args.gaps_share, seed=args.gaps_seed)),
              "coarser": (f"each {args.coarser} rows averaged into one", partial(coarser, args.data, rows=args.coarser))}
    if mode is not None:
        what, write_copy = copies[mode]
        with tempfile.TemporaryDirectory() as copy:
            print(f"NAB {mode}: a copy of {args.data} with {what}", flush=True)
            return run(args, write_copy(Path(copy)), windows, output)
    return run(args, args.data, windows, output)


def unlabelled_files(files: list[Path], data: Path, windows: dict) -> list[str]:
    """The files (`category/name.csv`) that the labels do not list: each is judged as having no anomaly window, which
    the run says rather than assumes silently (NAB's own labels list every file, [] where it has no window)."""
    return [name for name in (str(f.relative_to(data / "data")) for f in files) if name not in windows]


def run(args: argparse.Namespace, data: Path, windows: dict, output: Path) -> int:
    """Score every file of `data` with each detector (and the ablation), print the figures, write `output`."""
    profiles = load_profiles(data / "config" / "profiles.json")
    files = sorted((data / "data").glob("*/*.csv"))
    unlabelled = unlabelled_files(files, data, windows)
    for name in unlabelled:
        print(f"  {name}: no entry in labels/combined_windows.json; scored as a file without anomalies", flush=True)
    models = args.models
    print(f"NAB: {len(files)} files, {sum(len(windows.get(str(f.relative_to(data / 'data')), [])) for f in files)}"
          f" windows, detectors {', '.join(models)}, {args.jobs} worker(s)", flush=True)
    gaps = {"seed": args.gaps_seed, "share": args.gaps_share, "rows": GAP_ROWS} if args.gaps else None
    report: dict = {"data": str(args.data), "gaps": gaps, "offset": OFFSET if args.offset else None,
                    "coarser": args.coarser,
                    "files": len(files), "unlabelled": unlabelled, "settings": args.set, "detectors": {}}
    wall_start = time.perf_counter()
    for model in models:
        started = time.perf_counter()
        scores, cpu = run_detector(model, files, {} if model == BASELINE else args.set, args.jobs)
        report["detectors"][model] = {"runtime_seconds": round(time.perf_counter() - started, 1),
                                      "cpu_seconds": round(cpu, 1),
                                      "figures": judge(scores, data, windows, profiles)}
        print(f"  {model}: done in {report['detectors'][model]['runtime_seconds']} s", flush=True)
    print_figures(report, [p.name for p in profiles])
    if args.ablation:
        report["ablation"] = {}
        for variant, override in {"defaults": {}, **ABLATION}.items():
            scores, _ = run_detector("seasonal", files, merge(args.set, override), args.jobs)
            report["ablation"][variant] = judge(scores, data, windows, profiles)
            print(f"  ablation: {variant} done", flush=True)
        categories = sorted(set(report["ablation"]["defaults"]) - {"all"})
        print_ablation(report["ablation"], categories)
    report["runtime_seconds"] = round(time.perf_counter() - wall_start, 1)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2))
    print(f"wrote {output}; total runtime {report['runtime_seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
