"""How the built-in log masks' cost grows with a long token: linear, or a hostile line can stall the miner.

    .venv/bin/python -m benchmarks.log_masks [--lengths 2000,4000,8000,16000] [--output FILE]

A line of `logs.max_line_length` (16,384 by default) can hold one long token: a base64 blob, a
dotted chain, a run of digits. A mask whose regex tries a start inside such a token and scans to
its end from each costs the square of its length. For each token shape below, the line holds the
token between the characters that let every mask run (`@`, `/`, `://`, digits, quotes...), and
the whole masking of it is timed (CPU, best of 3) at each length. The growth from one length to
the next (twice as long) is about 2 when the cost is linear and about 4 when it is quadratic.
Writes JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from exporter.logs.masking import BuiltinMasking

AROUND = ' @ / \\ - : . :: [ " \' 0x 1B 5 http:// '  # one of each mask's cheap-test characters
SHAPES = {"letters": "a", "dotted": "a.", "dashed": "a-", "digits": "1", "hex": "a1", "slashed": "a/",
          "colons": "a:", "dotted digits": "1.", "at signs": "a@", "quotes": '"a', "spaced digits": "1 "}


def masking_seconds(masker: BuiltinMasking, line: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        masker.mask(line, "<", ">")
        best = min(best, time.process_time() - started)
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", default="2000,4000,8000,16000", help="token lengths, comma-separated, each "
                                                                         "twice the one before")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/log_masks.json"))
    args = parser.parse_args(argv)
    lengths = [int(n) for n in args.lengths.split(",") if n.strip()]
    masker, report = BuiltinMasking(), {}
    print(f"{'token shape':<15}" + "".join(f"{n:>10,}" for n in lengths) + "   growth per doubling (2 = linear)")
    for name, unit in SHAPES.items():
        seconds = [masking_seconds(masker, AROUND + unit * (n // len(unit)) + AROUND) for n in lengths]
        growth = [round(b / a, 1) if a > 0 else None for a, b in zip(seconds, seconds[1:])]
        report[name] = {"seconds": dict(zip(map(str, lengths), seconds)), "growth": growth}
        print(f"{name:<15}" + "".join(f"{s * 1000:>8.2f}ms" for s in seconds) + "   " +
              " ".join("-" if g is None else f"{g:.1f}" for g in growth))
    worst = max(report.values(), key=lambda entry: entry["seconds"][str(lengths[-1])])
    print(f"slowest line of {lengths[-1]:,} characters: {worst['seconds'][str(lengths[-1])] * 1000:.1f} ms")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"lengths": lengths, "shapes": report}, indent=2))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
