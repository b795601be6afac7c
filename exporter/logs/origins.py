"""The line format of each origin of a source: a file its globs matched, or standard input.

A glob can match the files of different programs (`/var/log/*.log`), whose lines have different
headers. A source keeps one set of templates and counts, but each origin has its own format: detected
from that origin's first records (which wait for it), watched against its later ones (FormatWatch),
and saved per origin. Lines of two files never share a format, so a glob over files of different
layouts is read as if each file were a source of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .detection import DETECT_LINES, Detection, FormatWatch, detect, format_from_state
from .formats import LineFormat

DETECT_WAIT = 60.0  # seconds an origin's first records wait for DETECT_LINES before its format is chosen
STDIN = ""  # the origin of lines that are not read from a file (standard input, `logs templates`)

Waiting = list[tuple[list[str], float]]  # records (their lines) and when each was read


@dataclass
class OriginFormat:
    """One origin's format: configured (no watch), restored from the state, or detected from its first records."""

    format: LineFormat | None  # None: its first records are waiting for detection
    detection: str = ""  # why this format (auto-detection's reason, "configured")
    watch: FormatWatch | None = None  # an auto-detected format's check against later lines (None: configured)
    waiting: Waiting = field(default_factory=list)
    fields_checked: bool = False  # labels_from_fields checked against this format's fields
    alternating_said: bool = False  # the warning that its lines alternate between layouts was logged
    open_record: str | None = None  # template_id of a record whose quoted field a newline cut (CSV): the next
    open_lines: int = 0  # records are the rest of it, until the field closes (lines taken so far)
    error_record: str | None = None  # template_id of the last record when it was an error its format parsed: the
    error_lines: int = 0  # records after it that the format does not parse are more of its message (lines so far)
    error_section: bool = False  # that record is a section's heading: a line with a date or time does not end it
    kernel_report: str | None = None  # template_id of the last record when it began a report of the kernel's (kernel.py):
    kernel_report_lines: int = 0  # the records after it that are lines of that report are more of it (lines so far)
    fine_stamps: bool | None = None  # its format's first record had a time to the microsecond (None: none read yet)
    last_header: str | None = None  # the header of the last record its format parsed (the line before its message)
    last_template: str | None = None  # and the template_id it was counted under

    @property
    def name(self) -> str:
        return self.format.name if self.format is not None else "detecting"

    def wait(self, record: list[str], now: float) -> None:
        self.waiting.append((record, now))

    def due(self, now: float) -> bool:
        """Whether the waiting records are enough to detect from, or have waited DETECT_WAIT (a quiet origin)."""
        return bool(self.waiting) and (len(self.waiting) >= DETECT_LINES or now - self.waiting[0][1] >= DETECT_WAIT)

    def choose(self) -> Waiting:
        """Detect the format from the waiting records (whatever their number) if none is known; returns them."""
        if self.format is None:
            found: Detection = detect([record[0].lstrip() for record, _ in self.waiting])  # as headline() gives it
            self.format, self.detection = found.format, found.reason
        waiting, self.waiting = self.waiting, []
        return waiting

    def replace(self, found: Detection) -> None:
        self.format, self.detection, self.fields_checked = found.format, found.reason, False
        self.fine_stamps, self.last_header = None, None

    def state(self) -> dict:
        return {"format": self.format.name if self.format is not None else None, "detection": self.detection}


def configured(line_format: LineFormat) -> OriginFormat:
    return OriginFormat(line_format, "configured")


def restored(saved: dict | None) -> OriginFormat:
    """An auto-detected origin: its format as a previous run saved it (by name), else detected anew."""
    saved = saved or {}
    line_format = format_from_state(saved.get("format"))
    return OriginFormat(line_format, saved.get("detection", "") if line_format is not None else "", FormatWatch())


def describe(origin: str) -> str:
    """How the log names an origin after its source's name: the file, or nothing for standard input."""
    return f" ({origin})" if origin != STDIN else ""
