"""Following log files by glob, safe across rotation (rename or copytruncate), and standard input."""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

log = logging.getLogger(__name__)
READ_CHUNK = 1 << 20


@dataclass
class Position:
    inode: int
    offset: int


class _OpenFile:
    def __init__(self, path: str, handle, inode: int, offset: int, device: int = 0):
        self.path, self.handle, self.inode, self.device = path, handle, inode, device
        self.origin = path  # the path its lines are reported under: where it was opened, also after a rename
        self.offset = offset
        self.partial = b""
        self.nul_bytes = 0  # NUL bytes skipped since the last read that found some

    def read_lines(self, max_line: int) -> Iterator[str]:
        """Complete lines appended since the last read (a trailing partial line waits). NUL bytes are skipped: a
        program that keeps writing at its old offset after copytruncate leaves a hole of them before its next line,
        which would otherwise be read as lines of max_line NULs."""
        while True:
            chunk = self.handle.read(READ_CHUNK)
            if not chunk:
                if self.nul_bytes:
                    log.info("logs: skipped %d NUL bytes in %s (the hole a writer leaves when it keeps its offset "
                             "after copytruncate)", self.nul_bytes, self.path)
                    self.nul_bytes = 0
                return
            self.offset += len(chunk)
            if b"\x00" in chunk:
                without = chunk.replace(b"\x00", b"")
                self.nul_bytes += len(chunk) - len(without)
                chunk = without
            data = self.partial + chunk
            lines = data.split(b"\n")
            self.partial = lines.pop()
            if len(self.partial) > max_line:  # a runaway line is cut, not buffered without bound
                lines.append(self.partial)
                self.partial = b""
            for raw in lines:
                yield raw[:max_line].decode("utf-8", "replace").rstrip("\r")

    def close(self) -> None:
        self.handle.close()


class FileFollower:
    """Tails every file matching `patterns`.

    Files present at start are read from their end (`start_at="end"`) or their
    beginning; files that appear later are read from the beginning. A file
    renamed away (logrotate's default) is read to its end before the new file
    at the path is opened; when the patterns also match its new name
    (`app.log*`, or `*.log` with dated names), it is followed on from where it
    was, under the path it was opened at, not read again as a new file. A file
    truncated in place (copytruncate) is read again from the start.
    `positions` (path -> inode, offset) resumes where a previous run stopped:
    at the same path with the same inode, or at a path a saved file was renamed
    to while the follower was down.
    """

    def __init__(self, patterns: list[str], start_at: str = "end", max_line: int = 16384,
                 positions: dict[str, Position] | None = None):
        self.patterns, self.max_line = patterns, max_line
        self.files: dict[str, _OpenFile] = {}
        self.saved = dict(positions or {})
        self.first_scan, self.start_at = True, start_at
        self.errors = 0
        self.matched: bool | None = None  # whether the last scan found any file (None: not scanned yet)

    def _matching(self) -> list[str]:
        paths: set[str] = set()
        for pattern in self.patterns:
            paths.update(p for p in glob.glob(os.path.expanduser(pattern)) if os.path.isfile(p))
        return sorted(paths)

    def _open(self, path: str, at_start: bool) -> None:
        try:
            handle = open(path, "rb")
            stat = os.fstat(handle.fileno())
        except OSError as err:
            self.errors += 1
            log.warning("logs: cannot open %s: %s", path, err)
            return
        offset, origin = self._start_offset(path, stat, at_start)
        handle.seek(offset)
        followed = self.files[path] = _OpenFile(path, handle, stat.st_ino, offset, stat.st_dev)
        followed.origin = origin
        log.info("logs: following %s from byte %d", path, offset)

    def _start_offset(self, path: str, stat: os.stat_result, at_start: bool) -> tuple[int, str]:
        """Where to read a newly opened file from, and the path its lines are reported under: its saved position (at
        its path, or at the path it had when saved and was renamed from since, whose name its lines keep), else its
        end at start with start_at=end, else its beginning."""
        saved = self.saved.get(path)
        if saved is not None and saved.inode == stat.st_ino:
            del self.saved[path]
            return (saved.offset if saved.offset <= stat.st_size else 0), path
        moved = next((p for p, pos in self.saved.items() if pos.inode == stat.st_ino), None)
        if moved is not None:
            position = self.saved.pop(moved)
            log.info("logs: %s was %s at the last save; reading it on from byte %d", path, moved, position.offset)
            return (position.offset if position.offset <= stat.st_size else 0), moved
        if saved is not None:  # another file at a saved path: new since then (the entry stays for a renamed file)
            return 0, path
        return (stat.st_size if at_start and self.start_at == "end" else 0), path

    def _follow_renamed(self, paths: set[str]) -> None:
        """Re-key a followed file whose path now holds another file and which the patterns match at its new name
        (rotated by rename to `app.log.1`): it is read on from its offset, not opened anew and read again."""
        for path in sorted(paths - set(self.files)):
            try:
                stat = os.stat(path)
            except OSError:
                continue
            for old_path, followed in list(self.files.items()):
                if (followed.inode, followed.device) != (stat.st_ino, stat.st_dev) or old_path == path:
                    continue
                try:
                    still_there = os.stat(old_path).st_ino == followed.inode
                except OSError:
                    still_there = False
                if not still_there:
                    log.info("logs: %s was renamed to %s; reading it on from byte %d", old_path, path,
                             followed.offset)
                    followed.path = path
                    self.files[path] = self.files.pop(old_path)
                break

    def poll(self) -> Iterator[tuple[str, str]]:
        """(path, line) for each line appended to a followed file since the last poll, file by file."""
        at_start, self.first_scan = self.first_scan, False
        current = set(self._matching())
        if not current and self.matched is not False:  # said once, until a file matches again
            log.warning("logs: no file matches %s (yet); looking again at every poll", ", ".join(self.patterns))
        self.matched = bool(current)
        self._follow_renamed(current)
        for path in sorted(current - set(self.files)):
            self._open(path, at_start)
        for path, followed in list(self.files.items()):
            yield from _from(followed.origin, followed.read_lines(self.max_line))
            try:
                stat = os.stat(path)
            except OSError:
                stat = None
            if stat is None or stat.st_ino != followed.inode:  # rotated away: the old file is read to its end
                yield from _from(followed.origin, followed.read_lines(self.max_line))
                followed.close()
                del self.files[path]
                if stat is not None:
                    self._open(path, at_start=False)
                    if path in self.files:
                        yield from _from(path, self.files[path].read_lines(self.max_line))
            elif stat.st_size < followed.offset:  # truncated in place
                log.info("logs: %s was truncated; reading it from the start", path)
                followed.handle.seek(0)
                followed.offset, followed.partial = 0, b""
                yield from _from(followed.origin, followed.read_lines(self.max_line))

    def origins(self) -> set[str]:
        """The paths the followed files' lines are reported under (a rotated file keeps the name it was opened at)."""
        return {followed.origin for followed in self.files.values()}

    def positions(self) -> dict[str, Position]:
        return {path: Position(f.inode, f.offset - len(f.partial)) for path, f in self.files.items()}

    def close(self) -> None:
        for followed in self.files.values():
            followed.close()
        self.files.clear()


def _from(path: str, lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    return ((path, line) for line in lines)


def stdin_lines(stream, max_line: int, on_line: Callable[[str], None]) -> None:
    """Feed every line of a text stream to `on_line` until EOF."""
    for line in stream:
        on_line(line[:max_line].rstrip("\r\n"))
