"""benchmarks/log_headers.py on a tiny directory in Loghub's layout."""

import json

import pytest

from benchmarks import log_headers

MESSAGES = [("E1", "order {} paid by card"), ("E2", "cache warmed in {} ms"), ("E3", "user u{} logged in"),
            ("E4", "connection to db-{} lost, retrying"), ("E5", "job {} finished"), ("E6", "queue depth {} above 10")]


def _loghub_dir(tmp_path):
    system = tmp_path / "Shop"
    system.mkdir()
    rows = ["LineId,Content,EventId"] + [f'{i + 1},"{text.format(i)}",{event}'
                                          for i, (event, text) in enumerate(MESSAGES * 10)]
    (system / "Shop_2k.log_structured.csv").write_text("\n".join(rows) + "\n")
    return tmp_path


def test_the_header_benchmark_grades_detection_next_to_the_messages_alone_and_whole_lines(tmp_path, capsys):
    out = tmp_path / "out.json"
    assert log_headers.main(["--data", str(_loghub_dir(tmp_path)), "--layouts", "date-host-level,monolog",
                             "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    shop = report["systems"]["Shop"]
    assert shop["messages alone"] == 1.0
    assert set(shop["layouts"]) == {"date-host-level", "monolog"}
    assert shop["layouts"]["date-host-level"]["format"] == "generic>level:2"
    assert all(cell["auto"] == 1.0 for cell in shop["layouts"].values())
    assert report["summary"]["held"] == 2 and report["summary"]["pairs"] == 2
    assert "holds" in capsys.readouterr().out


def test_the_header_benchmark_also_writes_messages_inside_csv_records(tmp_path):
    out = tmp_path / "out.json"
    assert log_headers.main(["--data", str(_loghub_dir(tmp_path)), "--layouts", "pg-csvlog,csv-minimal",
                             "--output", str(out)]) == 0
    layouts = json.loads(out.read_text())["systems"]["Shop"]["layouts"]
    assert layouts["pg-csvlog"]["format"] == "csv:14:12" and layouts["csv-minimal"]["format"] == "csv:5:2"
    assert layouts["pg-csvlog"]["auto"] == layouts["csv-minimal"]["auto"] == 1.0


def test_the_header_benchmark_names_what_is_wrong_with_its_arguments(tmp_path):
    with pytest.raises(SystemExit):
        log_headers.main(["--data", str(tmp_path)])
    with pytest.raises(SystemExit):
        log_headers.main(["--data", str(_loghub_dir(tmp_path)), "--layouts", "nosuch"])
