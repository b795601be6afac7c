"""The receiver when its database disk fills up or its files turn read-only: 503s (so Alertmanager
retries), a clear log line, nothing half-stored, and recovery without a restart once fixed.

The full disk is a real 2 MiB tmpfs (needs mount privileges; skipped with the reason otherwise).
Read-only is the ext4 immutable attribute (`chattr +i`), which also refuses writes through files
already open, as a filesystem remounted read-only after an I/O error does; a plain read-only
remount cannot be made while the database is open for writing, and root ignores file modes."""

from __future__ import annotations

import subprocess
import uuid

import pytest
import requests
import sqlalchemy as sa
from amhelpers import am_alert, payload

from devstack.receiver import ReceiverProcess

pytestmark = pytest.mark.integration  # starts real binaries

T0 = 1_800_000_000.0


@pytest.fixture
def small_fs(tmp_path):
    mount_point = tmp_path / "fs"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or result.returncode}); needs root")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def post(receiver, service: str):
    alert = am_alert({"alertname": "Errors", "service": service, "run": uuid.uuid4().hex[:6]}, T0)
    return requests.post(f"{receiver.url}/webhook/alertmanager", json=payload([alert], group_key=service), timeout=30)


def stored(db) -> int:
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM alerts")).scalar()
    engine.dispose()
    return count


@pytest.fixture
def receiver(small_fs, tmp_path):
    db = small_fs / "receiver.db"
    proc = ReceiverProcess(tmp_path / "receiver", {"storage": {"url": f"sqlite:///{db}", "busy_timeout": "1s"}}).start()
    proc.db = db
    yield proc
    proc.stop()


def test_a_full_disk_gets_503_and_recovers_when_space_is_freed(receiver, small_fs):
    assert post(receiver, "before").status_code == 200
    filler = small_fs / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)  # until ENOSPC
    statuses = [post(receiver, f"during-{i}").status_code for i in range(3)]
    assert 503 in statuses and set(statuses) <= {200, 503}
    accepted = statuses.count(200)
    assert "database unavailable, answering 503" in receiver.process.log_tail(200)
    filler.unlink()
    assert post(receiver, "after").status_code == 200
    assert stored(receiver.db) == 2 + accepted  # every 200 was stored; no 503 left anything behind


def test_a_read_only_database_gets_503_and_recovers_when_writable_again(tmp_path):
    db = tmp_path / "ro" / "receiver.db"
    db.parent.mkdir()
    proc = ReceiverProcess(tmp_path / "receiver", {"storage": {"url": f"sqlite:///{db}", "busy_timeout": "1s"}}).start()
    proc.db = db
    files = [db, db.with_name(db.name + "-wal")]
    try:
        assert post(proc, "before").status_code == 200
        result = subprocess.run(["chattr", "+i", *map(str, files)], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot set the immutable attribute here ({result.stderr.strip()}); needs root on ext4/xfs")
        statuses = [post(proc, f"during-{i}").status_code for i in range(3)]
        assert statuses == [503, 503, 503]
        assert "database unavailable, answering 503" in proc.process.log_tail(200)
        subprocess.run(["chattr", "-i", *map(str, files)], check=True)
        assert post(proc, "after").status_code == 200
    finally:
        subprocess.run(["chattr", "-i", *map(str, files)], capture_output=True)
        proc.stop()
    assert stored(db) == 2  # before and after; nothing from the 503s
