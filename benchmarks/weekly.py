"""Weekly series: anomalies found and false pages on a generated fleet with quiet weekends.

    .venv/bin/python -m benchmarks.weekly [--series N] [--step SECONDS] [--history DURATION] [--seed S]

NAB holds few series with a weekly pattern that the default model can see (a weekly profile needs two
weeks of history: steps above 10 minutes at the default `history`, or a longer `history`). This one
generates N series (default 40) of 35 days with a daily shape whose weekend is 30-90% of the weekdays,
in four kinds of noise taken in turn: multiplicative, additive, multiplicative and 2.5 times as large on
weekends, and Poisson counts. Each series gets one anomaly after day 20: an hour at 60% or 140% of
its values. Every series is scored through score-csv's code path (exporter.backtest.replay) with the
default model, and, as the baseline in the same run, with the weekly profile off (`long_period: 0`).

Prints, per configuration: anomalies found (score >= 1 inside the hour), their median peak, and the
rows at or above 1 outside them from day 16 on (the hour after each anomaly excluded), per kind and
in all. Writes JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

DAYS = 35
KINDS = ("multiplicative", "additive", "noisier weekends", "counts")


def fleet(n: int, step: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times (T,), values (n, T), anomaly mask (n, T))."""
    rng = np.random.default_rng(seed)
    times = np.arange(int(DAYS * 86400 / step)) * step + 1_699_920_000.0  # a Tuesday, 00:00 UTC
    hours = (times % 86400) / 3600.0
    weekend = ((times // 86400) + 4) % 7 >= 5
    values, masks = [], []
    for i in range(n):
        peak = rng.uniform(10, 16)
        shape = 0.15 + np.exp(-0.5 * ((hours - peak) / rng.uniform(2, 5)) ** 2)
        level, noise = rng.uniform(50, 5000), rng.uniform(0.02, 0.08)
        base = level * np.where(weekend, shape * rng.uniform(0.3, 0.9), shape)
        kind = KINDS[i % len(KINDS)]
        if kind == "multiplicative":
            series = base * (1 + rng.normal(0, noise, len(times)))
        elif kind == "additive":
            series = base + rng.normal(0, noise * level / 2, len(times))
        elif kind == "noisier weekends":
            series = base * (1 + rng.normal(0, np.where(weekend, 2.5, 1.0) * noise, len(times)))
        else:
            series = rng.poisson(np.maximum(base / 10, 0.1)).astype(float) * 10
        start = int(rng.integers(int(20 * 86400 / step), len(times) - int(86400 / step)))
        mask = np.zeros(len(times), dtype=bool)
        mask[start:start + max(1, int(3600 / step))] = True
        series[mask] *= rng.choice([0.6, 1.4])
        values.append(series)
        masks.append(mask)
    return times, np.array(values), np.array(masks)


def judge(scores: np.ndarray, times: np.ndarray, masks: np.ndarray, step: float) -> dict:
    late = times >= times[0] + 16 * 86400
    after = np.roll(masks, max(1, int(3600 / step)), axis=1)
    peaks = np.array([np.nanmax(row[mask]) for row, mask in zip(scores, masks)])
    false_rows = ((scores >= 1) & late & ~masks & ~after).sum(axis=1)
    per_kind = {kind: {"found": int((peaks[i::len(KINDS)] >= 1).sum()), "of": int(len(peaks[i::len(KINDS)])),
                       "false_rows": int(false_rows[i::len(KINDS)].sum())} for i, kind in enumerate(KINDS)}
    return {"found": int((peaks >= 1).sum()), "of": len(peaks), "median_peak": round(float(np.median(peaks)), 3),
            "false_rows": int(false_rows.sum()), "per_kind": per_kind}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=40)
    parser.add_argument("--step", type=float, default=600.0, help="seconds between samples (default 600)")
    parser.add_argument("--history", help="the query's history (default: the exporter's default for the step)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/weekly.json"))
    args = parser.parse_args(argv)
    if args.series < 1 or args.step <= 0:
        parser.error("--series must be at least 1 and --step positive")
    from exporter.backtest import default_query, replay
    from exporter.config import QueryConfig
    from exporter.series import SeriesBatch

    times, values, masks = fleet(args.series, args.step, args.seed)
    batch = SeriesBatch([{"__name__": f"s{i}"} for i in range(args.series)], times, values)
    report: dict = {"series": args.series, "step": args.step, "history": args.history, "seed": args.seed}
    for name, params in (("default", {}), ("weekly profile off", {"long_period": 0})):
        settings = {**default_query("seasonal").model_dump(exclude_unset=True), "step": args.step}
        if args.history:
            settings["history"] = args.history
        if params:
            settings["params"] = params
        query = QueryConfig.model_validate(settings)
        report[name] = judge(replay(batch, query).scores, times, masks, args.step)
        result = report[name]
        kinds = ", ".join(f"{kind} {v['found']}/{v['of']} ({v['false_rows']})" for kind, v in result["per_kind"].items())
        print(f"{name:<20} history {query.history / 86400:g} d: found {result['found']} of {result['of']}, "
              f"median peak {result['median_peak']:.2f}, false rows {result['false_rows']}; {kinds}", flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
