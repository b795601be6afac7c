"""Writing a file so that a reader, or a restart after a crash, sees the old content or the new, never half."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def write_atomically(path: Path, write: Callable[[IO[Any]], None], binary: bool = False) -> None:
    """write(handle) into a temporary file beside `path`, flushed to disk, then renamed over `path`.

    The parent directory is created. OSError propagates (the caller logs and counts it); no
    temporary file is left behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("wb" if binary else "w", dir=path.parent, prefix=path.name, suffix=".tmp",
                                     delete=False) as handle:
        try:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        except BaseException:
            handle.close()
            os.unlink(handle.name)
            raise
    try:
        os.replace(handle.name, path)
    except OSError:
        os.unlink(handle.name)
        raise
