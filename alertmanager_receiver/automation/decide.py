"""Which rules an incident event triggers, and whether each may run now (pure logic)."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain import Alert
from .config import AutomationRule


@dataclass(frozen=True)
class Event:
    """Something that happened to an incident: an alert started firing or resolved."""

    incident_id: int
    status: str  # "firing" | "resolved"
    alert: Alert
    priority: str
    root_cause_service: str | None


@dataclass(frozen=True)
class History:
    """What the database says about a rule's past runs (dry-run runs count: they would have run)."""

    last_run_at: float | None
    runs_last_hour: int
    runs_last_day: int


def matches(rule: AutomationRule, event: Event) -> bool:
    if rule.on != "both" and rule.on != event.status:
        return False
    m = rule.match
    if any(event.alert.labels.get(k) != v for k, v in m.labels.items()):
        return False
    if m.alertname and event.alert.name not in m.alertname:
        return False
    if m.priority and event.priority not in m.priority:
        return False
    if m.root_cause_service and event.root_cause_service not in m.root_cause_service:
        return False
    return True


def decide(rule: AutomationRule, history: History, now: float, breaker_open: bool, dry_run: bool) -> tuple[str, str]:
    """(status, reason) for one triggered rule: skipped, dry_run, awaiting_approval or pending."""
    if breaker_open:
        return "skipped", "circuit breaker is open"
    if rule.cooldown and history.last_run_at is not None and now - history.last_run_at < rule.cooldown:
        return "skipped", f"cooldown: last run {now - history.last_run_at:.0f}s ago, cooldown {rule.cooldown:g}s"
    if rule.budget.per_hour is not None and history.runs_last_hour >= rule.budget.per_hour:
        return "skipped", f"budget: {history.runs_last_hour} runs in the last hour (max {rule.budget.per_hour})"
    if rule.budget.per_day is not None and history.runs_last_day >= rule.budget.per_day:
        return "skipped", f"budget: {history.runs_last_day} runs in the last day (max {rule.budget.per_day})"
    if dry_run:
        return "dry_run", "mode is dry-run: recorded, not run"
    if rule.require_approval:
        return "awaiting_approval", "waiting for approval"
    return "pending", "queued"


def breaker_trips(actions_in_window: int, max_actions: int) -> bool:
    """More than max_actions in the window opens the breaker."""
    return actions_in_window > max_actions
