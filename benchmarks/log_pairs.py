"""Two programs' lines interleaved in one stream: templates per program.

    .venv/bin/python -m benchmarks.log_pairs [--data DIR] [--seed N] [--output FILE]

A container's log file holds its stdout and its stderr in one stream, and many programs write a different layout
to each (nginx's access lines and its error log's); a file that two programs write is the same case. This
benchmark takes every pair of the Loghub systems of DIR (Loghub's 2k layout, as for benchmarks/loghub.py; default
../shared/loghub), merges their lines at random into one stream (each system's lines keep their order; seeded),
mines the stream with the offline command's code path and defaults (`aiops-exporter logs templates`, auto
detection), and judges each line's template against its own system's labels: Grouping Accuracy per system of
each pair. Beside it, from the same run: each system mined alone (the figure a pair can at best reach), and the
stream read with one layout only (the second-layout look of exporter/logs/detection.py switched off, all else as
it is: a file's one format, as before 2026-12-07). A system holds in a pair when its figure is within 0.02 of its
figure alone. Last, all the systems merged into one stream, in both modes (two layouts are read at most: the
others' lines are mined whole). Writes JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
from pathlib import Path

from benchmarks.loghub import DEFAULT_DIR, grouping_accuracy, labelled_systems

MODES = ("one stream", "one stream, one layout")
HOLDS_WITHIN = 0.02


def interleave(sizes: list[int], rng: random.Random) -> list[int]:
    """Which system (its index) each line of the merged stream comes from: a random merge that keeps each one's
    order."""
    owners = [index for index, size in enumerate(sizes) for _ in range(size)]
    rng.shuffle(owners)
    return owners


def mined_ids(lines: list[str], one_layout: bool) -> tuple[list[str], str]:
    """Each line's template id and the format chosen, with the second-layout look on or off."""
    from exporter.logs import detection
    from exporter.logs.offline import mine_lines

    saved = detection.SECOND_LAYOUT_MIN_LINES
    detection.SECOND_LAYOUT_MIN_LINES = 10 ** 9 if one_layout else saved
    try:
        result = mine_lines(lines, None, None)
    finally:
        detection.SECOND_LAYOUT_MIN_LINES = saved
    return result.template_ids, result.format


def run_group(files: dict, truths: dict, group: tuple[str, ...], rng: random.Random) -> dict:
    """The group's merged stream mined in each mode: GA per system and the format chosen."""
    owners = interleave([len(files[name]) for name in group], rng)
    sources = [iter(files[name]) for name in group]
    stream = [next(sources[owner]) for owner in owners]
    entry: dict = {}
    for mode in MODES:
        ids, chosen = mined_ids(stream, one_layout=mode != "one stream")
        per_system: dict[str, list[str]] = {name: [] for name in group}
        for owner, template_id in zip(owners, ids):
            per_system[group[owner]].append(template_id)
        entry[mode] = {"format": chosen, **{name: round(grouping_accuracy(per_system[name], truths[name]), 4)
                                            for name in group}}
    return entry


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DIR, help="a directory in Loghub's 2k layout")
    parser.add_argument("--seed", type=int, default=7, help="seed of the random merges")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/log_pairs.json"))
    args = parser.parse_args(argv)
    files, truths, problems = labelled_systems(args.data)
    for name, problem in problems.items():
        print(f"  {name}: {problem}; skipped")
    if len(files) < 2:
        parser.error(f"--data {args.data}: fewer than two <Sys>/<Sys>_2k.log with their _structured.csv")
    alone = {name: round(grouping_accuracy(mined_ids(lines, one_layout=False)[0], truths[name]), 4)
             for name, lines in files.items()}
    pairs = list(itertools.combinations(sorted(files), 2))
    print(f"log pairs: {len(pairs)} pairs of the {len(files)} systems of {args.data}, merged at random (seed "
          f"{args.seed})", flush=True)
    rng = random.Random(args.seed)
    report: dict = {"data": str(args.data), "seed": args.seed, "alone": alone, "pairs": {}}
    print(f"\n{'pair':<22}" + "".join(f"{mode:>34}" for mode in MODES) + "   format (one stream)")
    for pair in pairs:
        entry = report["pairs"]["+".join(pair)] = run_group(files, truths, pair, rng)
        print(f"{'+'.join(pair):<22}" + "".join(
            f"{entry[mode][pair[0]]:>17.3f}{entry[mode][pair[1]]:>17.3f}" for mode in MODES)
            + f"   {entry['one stream']['format']}", flush=True)
    for mode in MODES:
        values = [(entry[mode][name], alone[name]) for entry, pair in zip(report["pairs"].values(), pairs)
                  for name in pair]
        report[mode] = {"mean_ga": round(sum(v for v, _ in values) / len(values), 4),
                        "holding": sum(v >= a - HOLDS_WITHIN for v, a in values), "of": len(values)}
        print(f"{mode}: mean GA {report[mode]['mean_ga']:.3f}; a system within {HOLDS_WITHIN} of its figure alone "
              f"in {report[mode]['holding']} of {report[mode]['of']} (system, pair)s")
    print(f"alone: mean GA {sum(alone.values()) / len(alone):.3f}")
    everything = report["all in one stream"] = run_group(files, truths, tuple(sorted(files)), rng)
    for mode in MODES:  # beyond two layouts: the rest is mined whole (docs/logs.md, Limits)
        values = [everything[mode][name] for name in sorted(files)]
        print(f"all {len(files)} systems in one stream, {mode}: mean GA {sum(values) / len(values):.3f} (format "
              f"{everything[mode]['format']})")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
