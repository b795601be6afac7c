"""benchmarks/loghub.py on a tiny directory in Loghub's 2k layout."""

import json

from benchmarks import loghub

MESSAGES = [("E1", "order {} paid by card"), ("E2", "cache warmed in {} ms"), ("E3", "connection to db-{} lost")]


def _system(root, name, lines, labels):
    folder = root / name
    folder.mkdir()
    (folder / f"{name}_2k.log").write_text("\n".join(lines) + "\n")
    rows = ["LineId,EventId"] + [f"{i + 1},{event}" for i, event in enumerate(labels)]
    (folder / f"{name}_2k.log_structured.csv").write_text("\n".join(rows) + "\n")


def _lines(count):
    events = [MESSAGES[i % len(MESSAGES)] for i in range(count)]
    return [f"2026-10-11 10:00:{i % 60:02d},003 INFO shop.Orders: {text.format(i)}" for i, (_, text) in
            enumerate(events)], [event for event, _ in events]


def test_blank_lines_the_labels_left_out_are_dropped_and_a_file_that_does_not_match_its_labels_is_named(tmp_path,
                                                                                                          capsys):
    lines, labels = _lines(30)
    _system(tmp_path, "Blanks", lines[:10] + [""] + lines[10:20] + ["   "] + lines[20:], labels)
    _system(tmp_path, "Short", lines[:-3], labels)
    out = tmp_path / "out.json"
    assert loghub.main(["--data", str(tmp_path), "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    assert set(report["systems"]) == {"Blanks"} and report["systems"]["Blanks"]["auto"]["ga"] == 1.0
    assert report["skipped"] == {"Short": "27 lines (27 not blank) but 30 labels"}
    assert "NOT GRADED: Short" in capsys.readouterr().out


def test_a_directory_where_no_system_can_be_graded_fails(tmp_path):
    lines, labels = _lines(12)
    _system(tmp_path, "Short", lines[:5], labels)
    assert loghub.main(["--data", str(tmp_path), "--output", str(tmp_path / "out.json")]) == 1
