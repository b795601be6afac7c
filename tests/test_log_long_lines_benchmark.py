"""benchmarks/log_long_lines.py, and the masks and formats it times still working on long hostile lines."""

import json

from benchmarks import log_long_lines
from exporter.logs.formats import resolve
from exporter.logs.masking import BuiltinMasking


def test_the_long_lines_benchmark_times_masking_formats_detection_and_mining_for_every_shape(tmp_path, capsys):
    out = tmp_path / "long.json"
    assert log_long_lines.main(["--lengths", "200,400", "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["lengths"] == [200, 400] and set(report["shapes"]) == set(log_long_lines.SHAPES)
    for cells in report["shapes"].values():
        assert set(cells) == {"200", "400"}
        assert all({"masking", "slowest preset", "preset", "detection", "mining"} <= set(cell) for cell in cells.values())
    assert "growth per doubling" in capsys.readouterr().out


def test_addresses_are_masked_next_to_a_long_dotted_token():
    line = "a." * 3000 + " mail ann@example.com via https://x.example.org/a/b and docs/content/npm.md"
    masked = BuiltinMasking().mask(line, "<", ">")
    assert masked.endswith(" mail <EMAIL> via <URL> and <PATH>")


def test_logfmt_reads_pairs_from_the_start_and_refuses_a_line_that_does_not_begin_with_one():
    logfmt = resolve("logfmt")
    parsed = logfmt.parse('ts=2026-10-11T22:14:15Z level=warn msg="disk almost full" free=3%')
    assert parsed.content == "disk almost full" and parsed.level == "warning"
    assert logfmt.parse("a" * 5000 + " level=warn msg=x") is None
    assert logfmt.parse("level=warn msg=x trailing words") is None
