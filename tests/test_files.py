"""write_atomically: a reader sees the old file or the new one, and a failed write leaves nothing behind."""

import pytest

from aiops_common.files import write_atomically


def test_a_write_replaces_the_file_whole_and_creates_its_directory(tmp_path):
    path = tmp_path / "state" / "file.json"
    write_atomically(path, lambda handle: handle.write("old"))
    write_atomically(path, lambda handle: handle.write("new"))
    assert path.read_text() == "new"
    assert [p.name for p in path.parent.iterdir()] == ["file.json"]


def test_a_write_that_fails_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "file.bin"
    write_atomically(path, lambda handle: handle.write(b"old"), binary=True)

    def fail(handle):
        handle.write(b"half of the new")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, fail, binary=True)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]
