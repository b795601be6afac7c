"""benchmarks/log_pairs.py on a tiny directory in Loghub's layout: two programs' lines in one stream."""

import json

import pytest

from benchmarks import log_pairs

SYSTEMS = {
    "Shop": ("2026-03-03 04:02:{:02d},003 INFO [main] com.shop.Pay: {}", [("E1", "order {} paid by card"),
                                                                         ("E2", "cache warmed in {} ms"),
                                                                         ("E3", "job {} finished")]),
    "Gate": ("10.0.0.{} - - [03/Mar/2026:04:02:11 +0000] \"{}\" 200 512", [("E1", "GET /api/orders/{} HTTP/1.1"),
                                                                          ("E2", "POST /api/carts/{} HTTP/1.1")]),
}


def _loghub_dir(tmp_path):
    for name, (header, messages) in SYSTEMS.items():
        system = tmp_path / name
        system.mkdir()
        events = [messages[i % len(messages)] for i in range(120)]
        (system / f"{name}_2k.log").write_text("".join(header.format(i % 60, text.format(i)) + "\n"
                                                       for i, (_, text) in enumerate(events)))
        (system / f"{name}_2k.log_structured.csv").write_text(
            "LineId,EventId\n" + "".join(f"{i + 1},{event}\n" for i, (event, _) in enumerate(events)))
    return tmp_path


def test_the_pairs_benchmark_grades_each_program_of_a_merged_stream_next_to_it_alone_and_one_layout(tmp_path, capsys):
    out = tmp_path / "out.json"
    assert log_pairs.main(["--data", str(_loghub_dir(tmp_path)), "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["alone"] == {"Gate": 1.0, "Shop": 1.0}
    pair = report["pairs"]["Gate+Shop"]
    assert pair["one stream"] == {"format": "log4j|access", "Gate": 1.0, "Shop": 1.0}
    assert "|" not in pair["one stream, one layout"]["format"]  # the second-layout look switched off
    assert report["one stream"]["holding"] == 2 and report["one stream"]["of"] == 2
    assert "within 0.02" in capsys.readouterr().out


def test_the_pairs_benchmark_needs_two_systems(tmp_path):
    with pytest.raises(SystemExit):
        log_pairs.main(["--data", str(tmp_path)])
