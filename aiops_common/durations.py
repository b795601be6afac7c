"""Prometheus-style durations ("90s", "1h30m", "7d") to and from seconds."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, Field

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")


def parse_duration(text: str | int | float) -> float:
    """Return seconds for a Prometheus duration string; bare numbers are seconds."""
    if isinstance(text, bool):
        raise ValueError("expected a duration such as 60s, 5m or 7d")
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        text = text.strip()
        if not text:
            raise ValueError("empty duration")
        try:
            seconds = float(text)
        except ValueError:
            pos, seconds = 0, 0.0
            for match in _PART.finditer(text):
                if match.start() != pos:
                    break
                seconds += float(match.group(1)) * _UNITS[match.group(2)]
                pos = match.end()
            if pos != len(text) or pos == 0:
                raise ValueError(f"{text!r} is not a duration such as 60s, 5m, 1h30m or 7d") from None
    if seconds < 0:
        raise ValueError("duration must not be negative")
    return seconds


def format_duration(seconds: float) -> str:
    """Shortest Prometheus duration string for whole seconds (3600 -> '1h')."""
    seconds = int(round(seconds))
    if seconds == 0:
        return "0s"
    parts = []
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size:
            count, seconds = divmod(seconds, size)
            parts.append(f"{int(count)}{unit}")
    return "".join(parts)


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""A config field holding a duration, stored as seconds."""
PositiveDuration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]
