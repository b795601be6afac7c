"""Log records -> message templates (Drain3) -> counts per (template, level). No I/O but the state blob.

A record is a first line plus its continuation lines (a stack trace stays one
record). Its template is mined from the first line after masking timestamps,
addresses, ids and numbers. Each source keeps at most `max_templates`
templates; records of further templates are counted under `template_id="other"`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.persistence_handler import PersistenceHandler
from drain3.template_miner_config import TemplateMinerConfig

OTHER = "other"

# Order matters: timestamps before numbers, UUIDs and IPs before hex and numbers.
DEFAULT_MASKING = [
    (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?: ?(?:Z|[+-]\d{2}:?\d{2}|UTC|[A-Z]{3,4}))?", "TS"),
    (r"\d{2}-[A-Z][a-z]{2}-\d{4} \d{2}:\d{2}:\d{2}(?:\.\d+)?", "TS"),
    (r"\[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]", "TS"),
    (r"\b[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}\b", "TS"),
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "UUID"),
    (r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])", "IP"),
    (r"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{12,}\b", "HEX"),
    (r"(?<![A-Za-z0-9.])\d+(?:\.\d+)?(?![A-Za-z0-9])", "NUM"),
]

LEVELS = {"TRACE": "debug", "DEBUG": "debug", "INFO": "info", "NOTICE": "info", "LOG": "info",
          "WARN": "warning", "WARNING": "warning", "ERROR": "error", "SEVERE": "error",
          "FATAL": "critical", "CRITICAL": "critical", "CRIT": "critical", "PANIC": "critical"}


def level_of(line: str, pattern: re.Pattern) -> str:
    """The record's level from its first line: debug, info, warning, error, critical or unknown."""
    match = pattern.search(line)
    if not match:
        return "unknown"
    word = (match.group(1) if match.groups() else match.group(0)).upper()
    return LEVELS.get(word, word.lower())


class RecordAssembler:
    """Joins continuation lines (stack frames) to the line they belong to."""

    def __init__(self, continuation: str | None):
        self.continuation = re.compile(continuation) if continuation else None
        self.pending: list[str] = []

    def feed(self, line: str) -> list[str] | None:
        """Add a line; returns the previous record when this line starts a new one."""
        if self.pending and self.continuation is not None and self.continuation.match(line):
            self.pending.append(line)
            return None
        done, self.pending = self.pending, [line]
        return done or None

    def flush(self) -> list[str] | None:
        done, self.pending = self.pending, []
        return done or None


class _Blob(PersistenceHandler):
    """Drain3's state as bytes; the caller decides when to write it (atomically) to disk."""

    def __init__(self, data: bytes | None = None):
        self.data = data

    def save_state(self, state: bytes) -> None:
        self.data = state

    def load_state(self) -> bytes | None:
        return self.data


@dataclass
class Template:
    text: str
    first_seen: float


@dataclass
class SourceMiner:
    """Templates and counts of one log source."""

    name: str
    max_templates: int
    template_max_length: int
    level_pattern: re.Pattern
    miner: TemplateMiner
    first_seen: float | None = None
    templates: dict[str, Template] = field(default_factory=dict)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (template_id, level) -> records
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: list[str], now: float) -> str:
        """Count one record; returns its template_id."""
        first = record[0]
        level = level_of(first, self.level_pattern)
        result = self.miner.add_log_message(first.strip())
        template_id = str(result["cluster_id"])
        text = _shorten(result["template_mined"], self.template_max_length)
        with self.lock:
            if self.first_seen is None:
                self.first_seen = now
            known = self.templates.get(template_id)
            if known is not None:
                known.text = text  # Drain generalises templates as it sees more lines
            elif len(self.templates) < self.max_templates:
                self.templates[template_id] = Template(text, now)
            else:
                template_id = OTHER
            key = (template_id, level)
            self.counts[key] = self.counts.get(key, 0) + 1
        return template_id

    def snapshot(self) -> tuple[dict[str, Template], dict[tuple[str, str], int], float | None]:
        with self.lock:
            templates = {k: Template(v.text, v.first_seen) for k, v in self.templates.items()}
            return templates, dict(self.counts), self.first_seen

    # ---- state -------------------------------------------------------------
    def state(self) -> dict:
        blob = _Blob()
        handler, self.miner.persistence_handler = self.miner.persistence_handler, blob
        try:
            self.miner.save_state("periodic")
        finally:
            self.miner.persistence_handler = handler
        with self.lock:
            return {"drain": blob.data.decode("latin-1") if blob.data else None,
                    "first_seen": self.first_seen,
                    "templates": {k: {"text": v.text, "first_seen": v.first_seen} for k, v in self.templates.items()}}


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def make_miner(name: str, *, max_templates: int, template_max_length: int, level_pattern: str,
               similarity: float, depth: int, extra_masking: Sequence[tuple[str, str]] = (),
               state: dict | None = None) -> SourceMiner:
    """A SourceMiner, restored from `state` (as returned by SourceMiner.state) when given."""
    config = TemplateMinerConfig()
    config.drain_sim_th, config.drain_depth = similarity, depth
    config.drain_max_clusters = max(4 * max_templates, 100)  # Drain's own LRU bound on memory
    config.snapshot_compress_state = True
    config.masking_instructions = [MaskingInstruction(p, m) for p, m in [*extra_masking, *DEFAULT_MASKING]]
    drain_state = state.get("drain") if state else None
    # Drain3 loads state only through a persistence handler; it is detached afterwards so that
    # adding a line never serialises the whole state (we save on our own schedule).
    miner = TemplateMiner(_Blob(drain_state.encode("latin-1")) if drain_state else None, config)
    miner.persistence_handler = None
    source = SourceMiner(name, max_templates, template_max_length, re.compile(level_pattern), miner)
    if state:
        source.first_seen = state.get("first_seen")
        source.templates = {k: Template(v["text"], float(v["first_seen"])) for k, v in state.get("templates", {}).items()}
    return source
