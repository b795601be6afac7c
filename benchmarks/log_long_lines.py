"""How the log miner's cost grows with a long token: linear, or one hostile line can stall a source.

    .venv/bin/python -m benchmarks.log_long_lines [--lengths 2000,4000,8000,16000] [--output FILE]

A line of `logs.max_line_length` (16,384 by default) can hold one long token: a base64 blob, a
dotted chain, a run of digits or brackets. A regex that tries a start inside such a token and
scans to its end from each costs the square of its length. For each token shape below, a line
holds the token between the characters that let every mask run (`@`, `/`, `://`, digits,
quotes...), with a common header before it and without, and four things are timed (CPU, the
slower of the two lines) at each length: the built-in masking of the line, the slowest of the line-format presets parsing it
(each is tried by detection on a source's first lines, and the chosen one parses every line),
detection itself on that line, and mining: the token in a short message and in a longer one (with
the header and without; not between the mask characters, whose quotes would mask it whole), each
added twice to a new miner (the second time it is compared with the template the first made,
token by token, as every repeat of a message is). A
shape may end its token with a tail (`.....<x`, `aaaa-5`): a run that a regex scans before what it
looks for. The growth from one length to the next (twice as long) is
about 2 when the cost is linear and about 4 when it is quadratic. Writes JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from exporter.logs.config import DEFAULT_LEVEL
from exporter.logs.detection import detect
from exporter.logs.formats import PRESETS
from exporter.logs.masking import BuiltinMasking
from exporter.logs.mining import make_miner

AROUND = ' @ / \\ - : . :: [ " \' 0x 1B 5 http:// '  # one of each mask's cheap-test characters
HEADER = "2026-10-11 22:14:15,003 INFO "
SHAPES = {"letters": "a", "dotted": "a.", "dashed": "a-", "digits": "1", "hex": "a1", "slashed": "a/",
          "colons": "a:", "dotted digits": "1.", "at signs": "a@", "quotes": '"a', "spaced digits": "1 ",
          "equals": "a=", "pipes": "a|", "brackets": "[a]", "open brackets": "[",
          "dots, then <": (".", "<x"), "letters, then -5": ("a", "-5")}  # (unit, tail)
PARTS = ("masking", "slowest preset", "detection", "mining")


def best_seconds(work: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def slowest_preset(line: str) -> tuple[float, str]:
    formats = {name: make() for name, make in PRESETS.items()}
    return max((best_seconds(partial(line_format.parse, line), 1), name) for name, line_format in formats.items())


def mine_twice(line: str) -> None:
    miner = make_miner("long", max_templates=200, template_max_length=200, level_pattern=DEFAULT_LEVEL,
                       similarity=0.4, depth=4, line_format="none")
    miner.add([line], 0.0)
    miner.add([line], 0.0)


def measure(shape: str | tuple[str, str], length: int, masker: BuiltinMasking) -> dict:
    """The four costs of the slower of the line with a header and without one (a header lets some regexes stop
    early, its absence others)."""
    unit, tail = shape if isinstance(shape, tuple) else (shape, "")
    token = unit * (length // len(unit)) + tail
    body = AROUND + token + AROUND
    lines = (HEADER + body, body)
    messages = (f"{HEADER}value {token} seen here", f"value {token} seen here", f"value {token}")
    preset_seconds, preset = max(slowest_preset(line) for line in lines)
    return {"masking": max(best_seconds(partial(masker.mask, line, "<", ">")) for line in lines),
            "slowest preset": preset_seconds, "preset": preset,
            "detection": max(best_seconds(partial(detect, [line]), 1) for line in lines),
            "mining": max(best_seconds(partial(mine_twice, message), 1) for message in messages)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", default="2000,4000,8000,16000", help="token lengths, comma-separated, each "
                                                                         "twice the one before")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/log_long_lines.json"))
    args = parser.parse_args(argv)
    lengths = [int(n) for n in args.lengths.split(",") if n.strip()]
    masker, report = BuiltinMasking(), {}
    for name, shape in SHAPES.items():
        report[name] = {str(n): measure(shape, n, masker) for n in lengths}
    for part in PARTS:
        print(f"\n{part} (ms){'':<4}" + "".join(f"{n:>10,}" for n in lengths) + "   growth per doubling (2 = linear)")
        for name, cells in report.items():
            seconds = [cells[str(n)][part] for n in lengths]
            growth = " ".join(f"{b / a:.1f}" if a > 0 else "-" for a, b in zip(seconds, seconds[1:]))
            extra = f"  ({cells[str(lengths[-1])]['preset']})" if part == "slowest preset" else ""
            print(f"{name:<18}" + "".join(f"{s * 1000:>10.2f}" for s in seconds) + f"   {growth}{extra}")
    last = str(lengths[-1])
    worst = max((cells[last][part], part, name) for name, cells in report.items()
                for part in PARTS)
    print(f"\nslowest at {lengths[-1]:,} characters: {worst[1]} of a {worst[2]} line, {worst[0] * 1000:.1f} ms")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"lengths": lengths, "shapes": report}, indent=2))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
