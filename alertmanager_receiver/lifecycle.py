"""The incident lifecycle as a state machine: (status, event) -> new status and timeline entries.

Pure: no database, no clock. `incidents.py` applies a transition to a stored incident.

    open --all alerts resolved--> resolving --quiet period--> resolved
      ^  \\--ack--> acknowledged --all alerts resolved--^  |
      |                                                   |
      +----------- a firing alert joins / recurs ----------+ (only from resolving)

Any status -> resolved by an operator. Any active status -> merged when the incident is absorbed
into another (late evidence linked them, or an operator merged them); a merged incident is final:
its alerts live in the survivor, and events on it change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OPEN, ACKNOWLEDGED, RESOLVING, RESOLVED, MERGED = "open", "acknowledged", "resolving", "resolved", "merged"
ACTIVE = (OPEN, ACKNOWLEDGED, RESOLVING)
STATUSES = (OPEN, ACKNOWLEDGED, RESOLVING, RESOLVED, MERGED)


@dataclass(frozen=True)
class TimelineEntry:
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Transition:
    """The status after an event, and what the incident's timeline records about it."""

    before: str
    after: str
    entries: tuple[TimelineEntry, ...] = ()

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def columns(self, now: float) -> dict[str, Any]:
        """The incident columns this transition sets (status and the timestamps that go with it)."""
        if not self.changed:
            return {}
        values: dict[str, Any] = {"status": self.after}
        if self.after == RESOLVING:
            values["resolving_since"] = now
        elif self.before == RESOLVING:
            values["resolving_since"] = None
        if self.after in (RESOLVED, MERGED):
            values["resolved_at"] = now
        return values


@dataclass(frozen=True)
class FiringAlertJoined:
    alert: str


@dataclass(frozen=True)
class Assessed:
    """The incident's alerts were re-read: whether any still fires."""

    firing: bool
    quiet_period: float


@dataclass(frozen=True)
class QuietPeriodElapsed:
    quiet_period: float


@dataclass(frozen=True)
class Acknowledged:
    by: str


@dataclass(frozen=True)
class ResolvedByOperator:
    by: str


@dataclass(frozen=True)
class MergedInto:
    """The incident's alerts moved into `survivor`."""

    survivor: int
    reason: str
    by: str | None = None  # the operator, for a manual merge


Event = FiringAlertJoined | Assessed | QuietPeriodElapsed | Acknowledged | ResolvedByOperator | MergedInto


def advance(status: str, event: Event) -> Transition:
    """The transition `event` causes from `status` (no change when the event does not apply)."""
    if status == MERGED:
        return Transition(status, status)
    if isinstance(event, FiringAlertJoined):
        if status == RESOLVING:
            return Transition(status, OPEN, (TimelineEntry("reopened", {
                "alert": event.alert, "reason": "recurred within the quiet period"}),))
    elif isinstance(event, Assessed):
        if status in (OPEN, ACKNOWLEDGED) and not event.firing:
            return Transition(status, RESOLVING, (TimelineEntry("all_resolved", {
                "quiet_period_seconds": event.quiet_period}),))
        if status == RESOLVING and event.firing:
            return Transition(status, OPEN)
    elif isinstance(event, QuietPeriodElapsed):
        if status == RESOLVING:
            return Transition(status, RESOLVED, (TimelineEntry("resolved", {
                "reason": f"all alerts resolved for {event.quiet_period:g}s"}),))
    elif isinstance(event, Acknowledged):
        return Transition(status, ACKNOWLEDGED if status == OPEN else status,
                          (TimelineEntry("acknowledged", {"by": event.by}),))
    elif isinstance(event, ResolvedByOperator):
        return Transition(status, RESOLVED, (TimelineEntry("resolved", {
            "by": event.by, "reason": "resolved through the API"}),))
    elif isinstance(event, MergedInto):
        detail: dict[str, Any] = {"into": event.survivor, "reason": event.reason}
        if event.by is not None:
            detail["by"] = event.by
        return Transition(status, MERGED, (TimelineEntry("merged_into", detail),))
    return Transition(status, status)
