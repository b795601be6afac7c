"""Automation decisions inside the ingest transaction, and the queue the worker drains.

Decisions are rows of `actions`, written in the same transaction as the
alerts that caused them: a notification that was answered 2xx has its
actions queued durably, and a crash before the commit leaves neither.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..store import actions as actions_t
from ..store import automation_state as state_t
from ..store import external_refs as refs_t
from ..store import incidents as incidents_t
from .config import AutomationConfig, AutomationRule
from .decide import Event, History, breaker_trips, decide, matches

COUNTED = ("pending", "running", "succeeded", "failed", "dry_run", "awaiting_approval")
BUILTIN_RULES = ("chatops", "grafana", "breaker", "unsilence")
BREAKER_KEY = "breaker"


SELECT_STATUS = sa.select(incidents_t.c.status).where(incidents_t.c.id == sa.bindparam("incident_id"))

class Automation:
    def __init__(self, cfg: AutomationConfig):
        self.cfg = cfg

    @property
    def dry_run(self) -> bool:
        return self.cfg.mode == "dry-run"

    # ---- decisions ---------------------------------------------------------------
    def on_events(self, conn: Connection, events: list[Event], now: float) -> list[tuple[str, str, str]]:
        """Decide every rule the events trigger; returns (rule, action type, status) per row written."""
        decided = []
        for event in events:
            for rule in self.cfg.rules:
                if matches(rule, event):
                    decided += self._decide_rule(conn, rule, event, now)
        return decided

    def _decide_rule(self, conn: Connection, rule: AutomationRule, event: Event, now: float):
        status, reason = decide(rule, self._history(conn, rule.name, now), now, self.breaker_open(conn), self.dry_run)
        if status in ("pending", "awaiting_approval", "dry_run") and self._trips_breaker(conn, len(rule.actions), now):
            self._open_breaker(conn, now, rule.name)
            status, reason = "skipped", "circuit breaker opened by this trigger"
        trigger = uuid.uuid4().hex
        context = {"incident_id": event.incident_id, "status": event.status, "priority": event.priority,
                   "root_cause_service": event.root_cause_service,
                   "alert": {"labels": event.alert.labels, "annotations": event.alert.annotations,
                             "fingerprint": event.alert.fingerprint, "starts_at": event.alert.starts_at,
                             "status": event.alert.status}}
        expires = now + self.cfg.approval_timeout if status == "awaiting_approval" else None
        rows = []
        for index, action in enumerate(rule.actions):
            conn.execute(actions_t.insert().values(
                rule=rule.name, trigger_id=trigger, action_index=index, action_type=action.type,
                incident_id=event.incident_id, status=status, reason=reason, context=context, created_at=now,
                updated_at=now, expires_at=expires))
            rows.append((rule.name, action.type, status))
        return rows

    def _history(self, conn: Connection, rule: str, now: float) -> History:
        first = (actions_t.c.rule == rule) & (actions_t.c.action_index == 0) & actions_t.c.status.in_(COUNTED)
        last = conn.execute(sa.select(sa.func.max(actions_t.c.created_at)).where(first)).scalar()
        hour = conn.execute(sa.select(sa.func.count()).where(first & (actions_t.c.created_at > now - 3600))).scalar()
        day = conn.execute(sa.select(sa.func.count()).where(first & (actions_t.c.created_at > now - 86400))).scalar()
        return History(last, hour or 0, day or 0)

    def _trips_breaker(self, conn: Connection, adding: int, now: float) -> bool:
        recent = conn.execute(sa.select(sa.func.count()).where(
            actions_t.c.status.in_(COUNTED) & ~actions_t.c.rule.in_(BUILTIN_RULES)
            & (actions_t.c.created_at > now - self.cfg.breaker.window))).scalar()
        return breaker_trips((recent or 0) + adding, self.cfg.breaker.max_actions)

    # ---- the breaker -------------------------------------------------------------
    def breaker_open(self, conn: Connection) -> bool:
        value = conn.execute(sa.select(state_t.c.value).where(state_t.c.key == BREAKER_KEY)).scalar()
        return bool(value and value.get("open"))

    def _open_breaker(self, conn: Connection, now: float, rule: str) -> None:
        value = {"open": True, "opened_at": now, "by_rule": rule,
                 "reason": f"more than {self.cfg.breaker.max_actions} actions in {self.cfg.breaker.window:g}s"}
        self._set_state(conn, BREAKER_KEY, value, now)
        self._enqueue_builtin(conn, "breaker", "chat", None, now, {"breaker": value})

    def reset_breaker(self, conn: Connection, now: float, by: str) -> None:
        self._set_state(conn, BREAKER_KEY, {"open": False, "reset_at": now, "reset_by": by}, now)

    def _set_state(self, conn: Connection, key: str, value: dict, now: float) -> None:
        if conn.execute(sa.select(state_t.c.key).where(state_t.c.key == key)).first() is None:
            conn.execute(state_t.insert().values(key=key, value=value, updated_at=now))
        else:
            conn.execute(state_t.update().where(state_t.c.key == key).values(value=value, updated_at=now))

    # ---- notifications of incident changes --------------------------------------
    def on_incidents_changed(self, conn: Connection, incident_ids, now: float) -> None:
        """Queue the chat update and Grafana annotation of each changed incident (coalesced)."""
        chat = self.cfg.chatops.slack is not None or self.cfg.chatops.generic is not None
        for incident_id in sorted(i for i in incident_ids if i is not None):
            if chat:
                self._enqueue_builtin(conn, "chatops", "chat", incident_id, now, {}, coalesce=True)
            if self.cfg.grafana is not None:
                self._enqueue_builtin(conn, "grafana", "annotation", incident_id, now, {}, coalesce=True)
            status = conn.execute(SELECT_STATUS, {"incident_id": incident_id}).scalar()
            if status == "resolved":
                self._queue_unsilence(conn, incident_id, now)

    def _queue_unsilence(self, conn: Connection, incident_id: int, now: float) -> None:
        refs = conn.execute(sa.select(refs_t).where((refs_t.c.incident_id == incident_id)
                                                    & (refs_t.c.kind == "silence") & refs_t.c.active)).all()
        for ref in refs:
            conn.execute(refs_t.update().where(refs_t.c.id == ref.id).values(active=False))
            self._enqueue_builtin(conn, "unsilence", "unsilence", incident_id, now, {"silence_id": ref.ref})

    def _enqueue_builtin(self, conn, rule: str, action_type: str, incident_id, now: float, context: dict,
                         coalesce: bool = False) -> None:
        if coalesce and conn.execute(sa.select(actions_t.c.id).where(
                (actions_t.c.rule == rule) & (actions_t.c.incident_id == incident_id)
                & (actions_t.c.status == "pending"))).first() is not None:
            return
        conn.execute(actions_t.insert().values(
            rule=rule, trigger_id=uuid.uuid4().hex, action_index=0, action_type=action_type, incident_id=incident_id,
            status="pending", reason="queued", context=context, created_at=now, updated_at=now))


# ---- the queue ------------------------------------------------------------------------

def claim_next(conn: Connection, cfg: AutomationConfig, now: float):
    """Mark the oldest runnable pending action as running and return it (None if there is none)."""
    limits = {rule.name: rule.concurrency for rule in cfg.rules}
    running: dict[str, int] = dict(conn.execute(sa.select(actions_t.c.rule, sa.func.count()).where(
        actions_t.c.status == "running").group_by(actions_t.c.rule)).all())
    candidates = conn.execute(sa.select(actions_t).where(actions_t.c.status == "pending")
                              .order_by(actions_t.c.id).limit(50)).all()
    for row in candidates:
        if running.get(row.rule, 0) >= limits.get(row.rule, 1_000_000):
            continue
        claimed = conn.execute(actions_t.update().where((actions_t.c.id == row.id) & (actions_t.c.status == "pending"))
                               .values(status="running", started_at=now, updated_at=now))
        if claimed.rowcount == 1:
            return row
    return None


def finish(conn: Connection, action_id: int, status: str, reason: str, result: dict, now: float) -> None:
    conn.execute(actions_t.update().where(actions_t.c.id == action_id).values(
        status=status, reason=reason, result=result, finished_at=now, updated_at=now))


def interrupt_running(conn: Connection, now: float) -> int:
    """At start-up: actions a previous process was running cannot be known done; they are not re-run."""
    return conn.execute(actions_t.update().where(actions_t.c.status == "running").values(
        status="interrupted", reason="the receiver stopped while this action ran; not re-run", updated_at=now)).rowcount


def expire_approvals(conn: Connection, now: float) -> int:
    return conn.execute(actions_t.update().where((actions_t.c.status == "awaiting_approval")
                                                 & (actions_t.c.expires_at <= now)).values(
        status="expired", reason="not approved in time", updated_at=now)).rowcount


def approve(conn: Connection, action_id: int, by: str, now: float) -> str | None:
    """Approve every action of the trigger; returns the new status, or None if there is no such action."""
    row = conn.execute(sa.select(actions_t).where(actions_t.c.id == action_id)).first()
    if row is None:
        return None
    if row.status != "awaiting_approval":
        return row.status
    conn.execute(actions_t.update().where((actions_t.c.trigger_id == row.trigger_id)
                                          & (actions_t.c.status == "awaiting_approval")).values(
        status="pending", reason=f"approved by {by}", updated_at=now))
    return "pending"


def action_dict(row) -> dict:
    return {"id": row.id, "rule": row.rule, "trigger_id": row.trigger_id, "action_index": row.action_index,
            "action_type": row.action_type, "incident_id": row.incident_id, "status": row.status,
            "reason": row.reason, "context": row.context, "result": row.result, "created_at": row.created_at,
            "started_at": row.started_at, "finished_at": row.finished_at, "expires_at": row.expires_at}


def list_actions(conn: Connection, status: str | None, rule: str | None, incident_id: int | None, limit: int):
    query = sa.select(actions_t).order_by(actions_t.c.id.desc()).limit(limit)
    if status:
        query = query.where(actions_t.c.status == status)
    if rule:
        query = query.where(actions_t.c.rule == rule)
    if incident_id is not None:
        query = query.where(actions_t.c.incident_id == incident_id)
    return [action_dict(r) for r in conn.execute(query).all()]
