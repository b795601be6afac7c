"""Template quality on Loghub's labelled 2,000-line samples, through `aiops-exporter logs templates`' code path.

    .venv/bin/python -m benchmarks.loghub [--data DIR] [--formats FILE] [--repeat N]

DIR has Loghub's 2k layout: <Sys>/<Sys>_2k.log (raw lines) and <Sys>/<Sys>_2k.log_structured.csv
(the true EventId of every line); the default is ../shared/loghub. Every system is mined with the
live miner and its defaults (exporter.logs.offline.mine_lines) in three modes:

- auto: no format given, as a new user runs it (the format is detected from the first lines);
- declared: the preset or pattern documented for the system in FILE (benchmarks/loghub_formats.yml);
  a system without an entry there is run as auto and marked so;
- whole line: no header parsing at all (every line mined whole), the behaviour before line formats,
  as the baseline measured in the same run.

Prints Grouping Accuracy per system and the mean (a line is right when the lines sharing its
template are exactly the lines sharing its true EventId), the format each mode used, and the
live path's throughput in records per CPU second. Writes JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
import yaml

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "loghub"
DEFAULT_FORMATS = Path(__file__).resolve().parent / "loghub_formats.yml"
MODES = ("auto", "declared", "whole line")


def grouping_accuracy(predicted: list[str], truth: list[str]) -> float:
    """Share of lines whose predicted group is exactly their true group."""
    if not truth:
        return 0.0
    true_size = Counter(truth)
    members: dict[str, list[int]] = defaultdict(list)
    for i, group in enumerate(predicted):
        members[group].append(i)
    correct = 0
    for lines in members.values():
        labels = {truth[i] for i in lines}
        if len(labels) == 1 and true_size[truth[lines[0]]] == len(lines):
            correct += len(lines)
    return correct / len(truth)


def systems_in(data: Path) -> list[tuple[str, Path, Path]]:
    found = []
    for log_file in sorted(data.glob("*/*_2k.log")):
        truth = log_file.with_name(log_file.name + "_structured.csv")
        if truth.exists():
            found.append((log_file.parent.name, log_file, truth))
    return found


def labelled_lines(lines: list[str], labels: int) -> tuple[list[str], str]:
    """The raw lines that the labels grade, one per label, and "" (or what is wrong, and no lines): every line, or
    every line but blank ones where the labelled file left those out."""
    if len(lines) == labels:
        return lines, ""
    written = [line for line in lines if line.strip()]
    if len(written) == labels:
        return written, ""
    return [], f"{len(lines)} lines ({len(written)} not blank) but {labels} labels"


def labelled_systems(data: Path) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, str]]:
    """Every system of `data` whose lines its labels grade: its lines and its labels (EventId) by name, and the
    systems whose lines and labels disagree, with what is wrong."""
    from exporter.logs.offline import read_lines

    files, truths, problems = {}, {}, {}
    for name, log_file, truth_file in systems_in(data):
        truth = pd.read_csv(truth_file, usecols=["EventId"])["EventId"].astype(str).tolist()
        lines, problem = labelled_lines(read_lines(log_file, 16384), len(truth))
        if problem:
            problems[name] = problem
        else:
            files[name], truths[name] = lines, truth
    return files, truths, problems


def run_mode(lines: list[str], line_format: str | None) -> tuple[list[str], str, float]:
    from exporter.logs.offline import mine_lines

    started = time.process_time()
    result = mine_lines(lines, None, line_format)
    return result.template_ids, result.format, time.process_time() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DIR, help="a directory in Loghub's 2k layout")
    parser.add_argument("--formats", type=Path, default=DEFAULT_FORMATS, help="declared format per system (YAML)")
    parser.add_argument("--repeat", type=int, default=1, help="mine each system this many times for the throughput")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/loghub.json"))
    args = parser.parse_args(argv)
    from exporter.logs.offline import read_lines

    systems = systems_in(args.data)
    if not systems:
        parser.error(f"--data {args.data}: no <Sys>/<Sys>_2k.log with its _structured.csv")
    declared = yaml.safe_load(args.formats.read_text()) or {} if args.formats.exists() else {}
    print(f"Loghub: {len(systems)} systems in {args.data}", flush=True)
    report: dict = {"data": str(args.data), "systems": {}, "throughput": {}}
    cpu: Counter = Counter()
    records: Counter = Counter()
    for name, log_file, truth_file in systems:
        truth = pd.read_csv(truth_file, usecols=["EventId"])["EventId"].astype(str).tolist()
        lines, problem = labelled_lines(read_lines(log_file, 16384), len(truth))
        if problem:
            report.setdefault("skipped", {})[name] = problem
            print(f"  {name}: {problem}; skipped (not in the mean)", flush=True)
            continue
        entry: dict = {}
        for mode in MODES:
            line_format = {"auto": None, "whole line": "none"}.get(mode, declared.get(name))
            for _ in range(args.repeat):
                ids, used, seconds = run_mode(lines, line_format)
                cpu[mode] += seconds
                records[mode] += len(lines)
            entry[mode] = {"ga": round(grouping_accuracy(ids, truth), 4), "format": used,
                           "templates": len(set(ids)),
                           "declared": mode != "declared" or name in declared}
        entry["true_templates"] = len(set(truth))
        report["systems"][name] = entry
        print(f"  {name:<12}" + "".join(f"{mode} {entry[mode]['ga']:.3f} ({entry[mode]['format']})   "
                                         for mode in MODES), flush=True)
    if not report["systems"]:
        print(f"--data {args.data}: no system could be graded ({'; '.join(report['skipped'].values())})")
        return 1
    for mode in MODES:
        values = [entry[mode]["ga"] for entry in report["systems"].values()]
        report[mode] = {"mean_ga": round(sum(values) / len(values), 4) if values else None,
                        "min_ga": min(values) if values else None}
        report["throughput"][mode] = round(records[mode] / cpu[mode]) if cpu[mode] else None
    print_table(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.output}")
    return 0


def print_table(report: dict) -> None:
    print(f"\n{'system':<12}{'true':>6}" + "".join(f"{mode + ' GA':>16}{'format':>22}" for mode in MODES))
    for name, entry in report["systems"].items():
        cells = ""
        for mode in MODES:
            note = "" if entry[mode]["declared"] else " (auto)"
            cells += f"{entry[mode]['ga']:>16.3f}{(entry[mode]['format'] + note)[:21]:>22}"
        print(f"{name:<12}{entry['true_templates']:>6}{cells}")
    print(f"{'mean':<12}{'':>6}" + "".join(f"{report[mode]['mean_ga']:>16.3f}{'':>22}" for mode in MODES))
    print(f"{'lowest':<12}{'':>6}" + "".join(f"{report[mode]['min_ga']:>16.3f}{'':>22}" for mode in MODES))
    print("records per CPU second (live path, one core): " +
          ", ".join(f"{mode} {report['throughput'][mode]:,}" for mode in MODES))
    for name, problem in report.get("skipped", {}).items():
        print(f"NOT GRADED: {name} ({problem}); the mean is over the other systems")


if __name__ == "__main__":
    raise SystemExit(main())
