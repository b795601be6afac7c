"""The log follower: sources -> records -> templates, its metrics, and its state file."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from aiops_common.files import write_atomically

from .config import LogsConfig, LogSource, field_label
from .follow import FileFollower, Position, stdin_lines
from .mining import RecordAssembler, SourceMiner, as_displayed, make_miner
from .origins import STDIN

log = logging.getLogger(__name__)
STATE_FILE = "logs-state.json"


class Source:
    """One configured source: where lines come from, how records are cut, and its templates.

    Each origin (a file its globs matched, or standard input) has its own record assembler and line format: a
    record's continuation lines are joined to the record of their own file, whatever other files wrote between.
    """

    def __init__(self, cfg: LogSource, logs: LogsConfig, state: dict | None,
                 on_mined: Callable[[list], None] | None = None):
        self.cfg = cfg
        self.on_mined = on_mined  # called with each batch of (record, template_id) mined (the offline command)
        self.miner: SourceMiner = make_miner(
            cfg.name, max_templates=logs.max_templates, template_max_length=logs.template_max_length,
            level_pattern=cfg.level_pattern, similarity=logs.similarity_threshold, depth=logs.depth,
            extra_masking=[(m.pattern, m.mask_with) for m in logs.masking], state=(state or {}).get("miner"),
            line_format=cfg.format, labels_from_fields=cfg.labels_from_fields)
        self.assemblers: dict[str, RecordAssembler] = {}  # origin -> its pending record
        positions = {p: Position(int(v[0]), int(v[1])) for p, v in ((state or {}).get("positions") or {}).items()}
        self.follower = FileFollower(cfg.paths, cfg.start_at, logs.max_line_length, positions) if cfg.paths else None
        self.lock = threading.Lock()  # the stdin thread and the loop both feed the assembler
        self.records = 0

    def _assembler(self, origin: str) -> RecordAssembler:
        found = self.assemblers.get(origin)
        if found is None:
            found = self.assemblers[origin] = RecordAssembler(self.cfg.continuation, self.cfg.level_pattern,
                                                              self.cfg.name)
        return found

    def line(self, text: str, now: float, origin: str = STDIN) -> None:
        with self.lock:
            record = self._assembler(origin).feed(as_displayed(text))
            if record:
                self._count(record, now, origin)

    def flush(self, now: float, final: bool = False, origins: Iterable[str] | None = None) -> None:
        """Mine the pending record of each origin (of `origins`; None: all): no line came after it for a while."""
        with self.lock:
            for origin in list(self.assemblers) if origins is None else origins:
                record = self._assembler(origin).flush(final)
                if record:
                    self._count(record, now, origin)
            self._announce(self.miner.tick(now))

    def finish(self, now: float) -> None:
        """End of input (shutdown, end of stdin): the last record, and the format from what was read."""
        self.flush(now, final=True)
        with self.lock:
            self._announce(self.miner.finish_detection())

    def _count(self, record: list[str], now: float, origin: str) -> None:
        self.records += 1
        self._announce(self.miner.add(record, now, origin))

    def _announce(self, mined: list) -> None:
        """Hand the records mined by a call to `on_mined` (the offline command)."""
        if mined and self.on_mined is not None:
            self.on_mined(mined)

    def poll(self, now: float) -> int:
        """Read what the files gained; a file's record with no new lines after it is complete."""
        if self.follower is None:
            return 0
        grew: Counter[str] = Counter()
        for path, text in self.follower.poll():
            self.line(text, now, path)
            grew[path] += 1
        self.flush(now, origins=[origin for origin in self.assemblers if not grew[origin]])
        self._forget_gone(now)
        return sum(grew.values())

    def _forget_gone(self, now: float) -> None:
        """Drop the pending record and format of files no longer followed (deleted, or no longer matched)."""
        followed = self.follower.origins() if self.follower is not None else set()
        gone = {origin for origin in {*self.assemblers, *self.miner.origins, *self.miner.saved_formats}
                if origin != STDIN and origin not in followed}
        if not gone:
            return
        with self.lock:
            for origin in sorted(gone & set(self.assemblers)):
                record = self.assemblers.pop(origin).flush(final=True)
                if record:
                    self._count(record, now, origin)
            self._announce(self.miner.forget(gone))

    def state(self) -> dict:
        positions = {p: [pos.inode, pos.offset] for p, pos in self.follower.positions().items()} if self.follower else {}
        return {"miner": self.miner.state(), "positions": positions}


class LogFollower:
    def __init__(self, cfg: LogsConfig, clock=time.time):
        self.cfg, self.clock = cfg, clock
        state = self._load_state()
        self.sources = [Source(s, cfg, state.get(s.name)) for s in cfg.sources]
        self.stop_event = threading.Event()
        self.ready = threading.Event()

    @property
    def state_path(self) -> Path | None:
        return self.cfg.state_dir / STATE_FILE if self.cfg.state_dir else None

    def _load_state(self) -> dict:
        path = self.state_path
        if path is None or not path.exists():
            return {}
        try:
            data = json.loads(path.read_text())
            if data.get("version") != 1:
                raise ValueError(f"unknown version {data.get('version')!r}")
            log.info("logs: state restored from %s", path)
            return data["sources"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.error("logs: cannot read state %s (%s); starting with no templates", path, err)
            return {}

    def save_state(self) -> None:
        path = self.state_path
        if path is None:
            return
        data = {"version": 1, "saved_at": self.clock(), "sources": {s.cfg.name: s.state() for s in self.sources}}
        try:
            write_atomically(path, lambda handle: json.dump(data, handle))
        except OSError as err:
            log.error("logs: cannot write state %s: %s", path, err)

    def poll_once(self) -> int:
        now = self.clock()
        return sum(source.poll(now) for source in self.sources)

    def run(self, stdin=None) -> None:
        """Follow until stop(): files every poll_interval, stdin (if configured) in its own thread."""
        for source in self.sources:
            if source.cfg.stdin and stdin is not None:
                threading.Thread(target=self._read_stdin, args=(source, stdin), name="stdin", daemon=True).start()
        last_save = time.monotonic()
        while not self.stop_event.is_set():
            self.poll_once()
            self.ready.set()
            if time.monotonic() - last_save >= self.cfg.save_interval:
                self.save_state()
                last_save = time.monotonic()
            self.stop_event.wait(self.cfg.poll_interval)
        for source in self.sources:
            source.finish(self.clock())
        self.save_state()

    def _read_stdin(self, source: Source, stream) -> None:
        stdin_lines(stream, self.cfg.max_line_length, lambda text: source.line(text, self.clock()))
        source.finish(self.clock())
        log.info("logs: end of standard input (%d records); still serving /metrics", source.records)

    def stop(self) -> None:
        self.stop_event.set()


def _metric(name: str, doc: str, kind: str) -> Metric:
    return Metric(name, doc, kind)


class LogCollector(Collector):
    """Families built per scrape from each source's counts; a scrape never reads a file."""

    def __init__(self, follower: LogFollower):
        self.follower = follower

    def describe(self):
        return []

    def collect(self) -> Iterable[Metric]:
        lines = _metric("aiops_log_lines", "Log records per message template and level.", "counter")
        info = _metric("aiops_log_template_info", "Text of each template (truncated); value 1.", "gauge")
        first = _metric("aiops_log_template_first_seen_timestamp_seconds",
                        "When each template was first seen (kept across restarts).", "gauge")
        source_first = _metric("aiops_log_source_first_seen_timestamp_seconds",
                               "When the first record of each source was mined (kept across restarts).", "gauge")
        templates = _metric("aiops_log_templates", "Templates kept per source (at most logs.max_templates).", "gauge")
        files = _metric("aiops_log_files", "Files followed per source.", "gauge")
        errors = _metric("aiops_log_open_errors", "Files that matched a glob but could not be opened.", "counter")
        info_source = _metric("aiops_log_source_info", "The line formats a source reads, one sample each (configured, "
                              "or detected per file; 'detecting' while its first lines wait); value 1.", "gauge")
        unparsed = _metric("aiops_log_unparsed_lines", "Records whose first line the source's format did not "
                           "parse; they are mined whole.", "counter")
        changes = _metric("aiops_log_format_changes", "Times a detected format was replaced because most of the "
                          "source's recent lines no longer parsed with it (or it read no header and they now have one).",
                          "counter")
        for source in self.follower.sources:
            base = {**source.cfg.labels, "source": source.cfg.name}
            known, counts, first_seen = source.miner.snapshot()
            field_labels = [field_label(name) for name in source.cfg.labels_from_fields]
            for (template_id, level, *extra), count in sorted(counts.items()):
                lines.add_sample("aiops_log_lines_total", {**base, "template_id": template_id, "level": level,
                                                           **dict(zip(field_labels, extra))}, count)
            for template_id, template in sorted(known.items()):
                info.add_sample("aiops_log_template_info", {**base, "template_id": template_id,
                                                            "template": template.text}, 1.0)
                first.add_sample(first.name, {**base, "template_id": template_id}, template.first_seen)
            if first_seen is not None:
                source_first.add_sample(source_first.name, base, first_seen)
            templates.add_sample(templates.name, base, len(known))
            if source.follower is not None:
                files.add_sample(files.name, base, len(source.follower.files))
                errors.add_sample("aiops_log_open_errors_total", base, source.follower.errors)
            for format_name in source.miner.format_names():
                info_source.add_sample(info_source.name, {**base, "format": format_name}, 1.0)
            unparsed.add_sample("aiops_log_unparsed_lines_total", base, source.miner.unparsed)
            changes.add_sample("aiops_log_format_changes_total", base, source.miner.format_changes)
        yield from (lines, info, first, source_first, templates, files, errors, info_source, unparsed, changes)
