"""Alertmanager webhook payload (version 4): validation into plain alerts.

Newer Alertmanagers add fields (notification_reason, routeLabels, ...): they
are accepted and kept in the stored payload, never required.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from .domain import Alert

MAX_ALERTS = 10000
MAX_LABELS = 200
MAX_VALUE_CHARS = 16384
_FRACTION = re.compile(r"(\.\d{6})\d+")
_ZERO_TIME = ("0001-01-01T00:00:00Z",)
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MIN_TS, MAX_TS = 0.0, 253402300799.0  # 1970 .. 9999-12-31


class PayloadError(ValueError):
    """A malformed notification; the message says what is wrong (answered with 400)."""


def parse_time(text: str) -> float:
    """RFC 3339 with up to nanoseconds -> unix seconds."""
    if not isinstance(text, str) or not text:
        raise ValueError("must be an RFC 3339 timestamp")
    cleaned = _FRACTION.sub(r"\1", text.strip()).replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not an RFC 3339 timestamp") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _labels(value: dict[str, str], what: str) -> dict[str, str]:
    if len(value) > MAX_LABELS:
        raise ValueError(f"more than {MAX_LABELS} {what}")
    for name, text in value.items():
        if len(name) > 1024 or len(text) > MAX_VALUE_CHARS:
            raise ValueError(f"{what} {name[:40]!r} is too long")
    return value


class _Alert(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str
    endsAt: str | None = None
    generatorURL: str = ""
    fingerprint: str | None = Field(default=None, max_length=128)

    @field_validator("labels")
    @classmethod
    def _check_labels(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("an alert needs at least one label")
        for name in value:
            if not _LABEL_NAME.match(name):
                raise ValueError(f"invalid label name {name[:40]!r}")
        return _labels(value, "labels")

    @field_validator("annotations")
    @classmethod
    def _check_annotations(cls, value: dict[str, str]) -> dict[str, str]:
        return _labels(value, "annotations")


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")
    version: Literal["4"]
    groupKey: str = Field(max_length=4096)
    truncatedAlerts: StrictInt = Field(default=0, ge=0)
    status: Literal["firing", "resolved"]
    receiver: str = Field(max_length=1024)
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[_Alert] = Field(max_length=MAX_ALERTS)


@dataclass
class Notification:
    group_key: str
    receiver: str
    status: str
    truncated: int
    external_url: str
    alerts: list[Alert]
    raw: dict


def fingerprint_of(labels: dict[str, str]) -> str:
    """Stable id of a label set, used when Alertmanager sent none."""
    return hashlib.sha256(json.dumps(sorted(labels.items())).encode()).hexdigest()[:16]


def _error_text(err: ValidationError) -> str:
    problems = []
    for item in err.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "payload"
        problems.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
    more = len(err.errors()) - 5
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def parse_notification(data: object) -> Notification:
    if not isinstance(data, dict):
        raise PayloadError("payload must be a JSON object (Alertmanager webhook version 4)")
    try:
        payload = _Payload.model_validate(data)
    except ValidationError as err:
        raise PayloadError(_error_text(err)) from None
    alerts = []
    for i, item in enumerate(payload.alerts):
        try:
            starts = parse_time(item.startsAt)
            ends = None if not item.endsAt or item.endsAt in _ZERO_TIME else parse_time(item.endsAt)
        except ValueError as err:
            raise PayloadError(f"alerts.{i}.startsAt/endsAt: {err}") from None
        if ends is not None and ends <= MIN_TS:
            ends = None  # Alertmanager's zero time: not ended
        for name, value in (("startsAt", starts), ("endsAt", ends)):
            if value is not None and not MIN_TS < value <= MAX_TS:
                raise PayloadError(f"alerts.{i}.{name}: out of range (1970 to 9999)")
        alerts.append(Alert(fingerprint=item.fingerprint or fingerprint_of(item.labels), starts_at=starts,
                            status=item.status, labels=item.labels, annotations=item.annotations, ends_at=ends))
    return Notification(payload.groupKey, payload.receiver, payload.status, payload.truncatedAlerts,
                        payload.externalURL, alerts, data)
