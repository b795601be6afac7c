"""One source whose glob matches the files of many programs, each written in turns: templates per program.

    .venv/bin/python -m benchmarks.log_glob [--data DIR] [--block N] [--output FILE]

A host's `/var/log/*.log` holds the files of programs with different headers, and one source over it is what
a user configures first. This benchmark writes each Loghub system of DIR (Loghub's 2k layout, as for
benchmarks/loghub.py; default ../shared/loghub) into a file of its own in a temporary directory, N lines per
file per poll (default 100), and lets the live follower (exporter.logs.service.LogFollower, default settings
but for `start_at: beginning` and max_templates) read them as one source with the glob `*.log`. Each line's
template is judged against the system's own labels: Grouping Accuracy per system and the mean.

Beside it, from the same run: each system's file as a source of its own (the figure a glob can at best reach:
benchmarks/loghub.py's auto mode through the follower), and the glob with whole lines mined (format `none`,
the baseline with no header parsing). Writes JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict, deque
from pathlib import Path

from benchmarks.loghub import DEFAULT_DIR, grouping_accuracy, labelled_systems

MODES = ("glob", "a source each", "glob, whole lines")


def follow(directory: Path, files: dict[str, list[str]], mode: str, block: int, max_templates: int) -> dict[str, list]:
    """Write every system's lines to its file `block` at a time, polling after each round; each line's template."""
    from exporter.logs.config import parse_logs_config
    from exporter.logs.service import LogFollower

    def source(name: str, pattern: str) -> dict:
        entry = {"name": name, "paths": [str(directory / pattern)], "start_at": "beginning"}
        return {**entry, "format": "none"} if mode == "glob, whole lines" else entry

    sources = ([source(name, f"{name}.log") for name in files] if mode == "a source each"
               else [source("host", "*.log")])
    cfg = parse_logs_config({"logs": {"max_templates": max_templates, "sources": sources}})
    follower = LogFollower(cfg)
    owners: dict[str, deque[str]] = defaultdict(deque)  # a first line -> the systems that wrote it, in order
    ids: dict[str, list] = defaultdict(list)

    def on_mined(mined: list) -> None:
        for record, template_id in mined:
            ids[owners[record[0]].popleft()].extend(template_id for _ in record)

    for followed in follower.sources:
        followed.on_mined = on_mined
    for start in range(0, max(map(len, files.values())), block):
        for name, lines in files.items():
            chunk = lines[start:start + block]
            for line in chunk:
                owners[line].append(name)
            if chunk:
                with open(directory / f"{name}.log", "a", encoding="utf-8") as handle:
                    handle.write("".join(line + "\n" for line in chunk))
        follower.poll_once()
    follower.poll_once()  # a poll with no new lines: each file's last record is complete
    for followed in follower.sources:
        followed.finish(0.0)
    return ids


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DIR, help="a directory in Loghub's 2k layout")
    parser.add_argument("--block", type=int, default=100, help="lines each file gains per poll")
    parser.add_argument("--max-templates", type=int, default=5000,
                        help="logs.max_templates (default 5000: the union of the systems' templates fits; the "
                             "product's default of 200 would count the rest under template_id=\"other\")")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/log_glob.json"))
    args = parser.parse_args(argv)
    if args.block < 1:
        parser.error("--block must be at least 1")
    files, truths, problems = labelled_systems(args.data)
    for name, problem in problems.items():
        print(f"  {name}: {problem}; skipped (not in the mean)")
    if not files:
        parser.error(f"--data {args.data}: no <Sys>/<Sys>_2k.log with its _structured.csv")
    print(f"log glob: {len(files)} systems of {args.data} in one directory, {args.block} lines per file per poll",
          flush=True)
    report: dict = {"data": str(args.data), "block": args.block, "max_templates": args.max_templates,
                    "systems": {name: {} for name in files}}
    for mode in MODES:
        with tempfile.TemporaryDirectory() as directory:
            ids = follow(Path(directory), files, mode, args.block, args.max_templates)
        for name, truth in truths.items():
            got = ids.get(name, [])
            report["systems"][name][mode] = round(grouping_accuracy(got, truth), 4) if len(got) == len(truth) else None
        values = [entry[mode] or 0.0 for entry in report["systems"].values()]
        report[mode] = {"mean_ga": round(sum(values) / len(values), 4), "min_ga": min(values)}
        print(f"  {mode}: mean GA {report[mode]['mean_ga']:.3f}", flush=True)
    print(f"\n{'system':<12}" + "".join(f"{mode:>20}" for mode in MODES))
    for name, entry in report["systems"].items():
        print(f"{name:<12}" + "".join(f"{entry[mode]:>20.3f}" if entry[mode] is not None else f"{'lines lost':>20}"
                                      for mode in MODES))
    print(f"{'mean':<12}" + "".join(f"{report[mode]['mean_ga']:>20.3f}" for mode in MODES))
    print(f"{'lowest':<12}" + "".join(f"{report[mode]['min_ga']:>20.3f}" for mode in MODES))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
