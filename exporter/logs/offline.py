"""`aiops-exporter logs templates`: the live miner run over files, printing each line's template.

It builds the same Source the follower builds (line format, records, masking, Drain, the
template cap) from the `logs:` settings of a configuration file or the defaults, and feeds it
every line of the files in order, so what it prints is what the follower would count.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

from .config import LogsConfig, LogSource
from .mining import Template
from .service import Source

log = logging.getLogger(__name__)

PROGRESS_EVERY = 10.0  # seconds between progress lines while a long file is mined


@dataclass
class OfflineResult:
    template_ids: list[str]  # per input line (a continuation line has its record's template)
    templates: dict[str, Template]
    counts: Counter = field(default_factory=Counter)  # (template_id, level) -> records
    format: str = ""
    detection: str = ""
    unparsed: int = 0
    records: int = 0


def mine_lines(lines: Iterable[str], logs: LogsConfig | None = None, line_format: str | None = None,
               name: str = "offline") -> OfflineResult:
    """Template id of every line, through the live Source; `line_format` None detects it as the follower does."""
    template = logs.sources[0] if logs is not None else None
    settings = template.model_dump(exclude={"name", "paths", "stdin", "format"}) if template is not None else {}
    name = re.sub(r"[^a-zA-Z0-9_.:-]", "_", name) or "offline"  # a file name (rabbit@host.log) as a source name
    source_cfg = LogSource.model_validate({**settings, "name": name, "stdin": True,
                                           "format": line_format if line_format is not None
                                           else (template.format if template is not None else None)})
    cfg = logs if logs is not None else LogsConfig(sources=[source_cfg])
    per_record: list[str] = []
    source = Source(source_cfg, cfg, None, on_mined=lambda mined: per_record.extend(
        template_id for record, template_id in mined for _ in record))
    for line in lines:
        source.line(line, 0.0)
    source.finish(0.0)
    templates, counts, _ = source.miner.snapshot()
    by_level: Counter = Counter()
    for (template_id, level, *_), count in counts.items():
        by_level[(template_id, level)] += count
    return OfflineResult(per_record, templates, by_level, source.miner.format_name, source.miner.detection,
                         source.miner.unparsed, source.records)


def read_lines(path: Path, max_line: int) -> list[str]:
    with path.open("rb") as handle:
        return list(iter_lines(handle, max_line))


def iter_lines(handle: BinaryIO, max_line: int) -> Iterator[str]:
    """The lines of an open file as text, one at a time: a file is mined as it is read, not loaded whole."""
    for raw in handle:
        yield raw[:max_line].decode("utf-8", "replace").rstrip("\r\n")


def with_progress(lines: Iterable[str], label: str, every: float = PROGRESS_EVERY) -> Iterator[str]:
    """`lines`, logging how many have been mined and how fast every `every` seconds (a long file says it is busy)."""
    started = last = time.monotonic()
    for count, line in enumerate(lines, 1):
        if not count % 4096:
            now = time.monotonic()
            if now - last >= every:
                log.info("%s: %d lines mined (%.0f lines/s)", label, count, count / max(now - started, 1e-9))
                last = now
        yield line


def print_result(result: OfflineResult, summary: bool, out: TextIO) -> None:
    if summary:
        totals: Counter = Counter()
        levels: dict[str, Counter] = {}
        for (template_id, level), count in result.counts.items():
            totals[template_id] += count
            levels.setdefault(template_id, Counter())[level] += count
        print(f"# format {result.format} ({result.detection or 'configured'}); {result.records} records, "
              f"{len(result.templates)} templates, {result.unparsed} not parsed by the format", file=out)
        print("count\ttemplate_id\tlevels\ttemplate", file=out)
        for template_id, count in totals.most_common():
            text = result.templates[template_id].text if template_id in result.templates else "(over max_templates)"
            level_text = ",".join(f"{lvl}:{n}" for lvl, n in levels[template_id].most_common())
            print(f"{count}\t{template_id}\t{level_text}\t{text}", file=out)
        return
    for template_id in result.template_ids:
        text = result.templates[template_id].text if template_id in result.templates else "(over max_templates)"
        print(f"{template_id}\t{text}", file=out)
