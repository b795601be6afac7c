"""`make demo` starts every run from an empty workdir, and never empties a directory it did not make."""

import pytest

from demo.__main__ import SENTINEL, fresh_workdir


def test_a_workdir_the_demo_made_is_emptied_for_the_next_run(tmp_path):
    workdir = tmp_path / ".demo"
    fresh_workdir(workdir)
    (workdir / "receiver.db").write_text("the last run's incidents")
    (workdir / "prometheus" / "data").mkdir(parents=True)
    fresh_workdir(workdir)
    assert sorted(p.name for p in workdir.iterdir()) == [SENTINEL]


def test_a_workdir_of_an_earlier_release_is_recognised_by_its_backfilled_history(tmp_path):
    (tmp_path / "prometheus" / "data").mkdir(parents=True)
    (tmp_path / "prometheus" / "data" / "backfilled").write_text("1764750000")
    fresh_workdir(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [SENTINEL]


def test_a_directory_the_demo_did_not_make_is_refused_and_left_as_it_was(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match="not empty and not made by make demo"):
        fresh_workdir(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine" and not (tmp_path / SENTINEL).exists()
