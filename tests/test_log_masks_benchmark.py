"""benchmarks/log_masks.py, and the masks it times still masking inside long hostile lines."""

import json

from benchmarks import log_masks
from exporter.logs.masking import BuiltinMasking


def test_the_masks_benchmark_times_every_token_shape_at_every_length(tmp_path, capsys):
    out = tmp_path / "masks.json"
    assert log_masks.main(["--lengths", "200,400", "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["lengths"] == [200, 400] and set(report["shapes"]) == set(log_masks.SHAPES)
    assert all(len(entry["growth"]) == 1 and set(entry["seconds"]) == {"200", "400"}
               for entry in report["shapes"].values())
    assert "growth per doubling" in capsys.readouterr().out


def test_addresses_are_masked_next_to_a_long_dotted_token():
    line = "a." * 3000 + " mail ann@example.com via https://x.example.org/a/b and docs/content/npm.md"
    masked = BuiltinMasking().mask(line, "<", ">")
    assert masked.endswith(" mail <EMAIL> via <URL> and <PATH>")
