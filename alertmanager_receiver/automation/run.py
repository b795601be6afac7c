"""Running one queued action: webhook, command, silence, notify, and the built-in notifications."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlparse

import requests
import sqlalchemy as sa
from jinja2.sandbox import SandboxedEnvironment

from ..incident_views import incident_detail
from ..notify.chat import incident_message, post_generic, post_or_update_slack
from ..notify.grafana import annotation_body, write_annotation
from ..notify.summary import summarize
from ..store import Store
from ..store import external_refs as refs_t
from .config import AutomationConfig, CommandAction, NotifyAction, SilenceAction, WebhookAction

_TEMPLATES = SandboxedEnvironment(autoescape=False)
OUTPUT_LIMIT = 4000


def render(template: str, context: dict) -> str:
    return _TEMPLATES.from_string(template).render(**context)


def command_env(context: dict, incident: dict | None, extra: dict[str, str]) -> dict[str, str]:
    """Alert and incident fields as AIOPS_* variables: data for the command, never part of its argv."""
    alert = context.get("alert", {})
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **extra,
           "AIOPS_INCIDENT_ID": str(context.get("incident_id", "")), "AIOPS_ALERT_STATUS": context.get("status", ""),
           "AIOPS_PRIORITY": context.get("priority", ""), "AIOPS_ROOT_CAUSE_SERVICE": context.get("root_cause_service") or "",
           "AIOPS_ALERT_FINGERPRINT": alert.get("fingerprint", "")}
    if incident:
        env["AIOPS_INCIDENT_TITLE"] = incident["title"]
        env["AIOPS_INCIDENT_SERVICES"] = ",".join(incident["services"])
    for name, value in alert.get("labels", {}).items():
        env[f"AIOPS_LABEL_{name.upper()}"] = value
    for name, value in alert.get("annotations", {}).items():
        if name.replace("_", "").isalnum():
            env[f"AIOPS_ANNOTATION_{name.upper()}"] = value
    return {k: v.replace("\x00", "") for k, v in env.items()}


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Runner:
    def __init__(self, cfg: AutomationConfig, store: Store, alertmanager_url: str | None,
                 clock: Callable[[], float] = time.time, log_evidence=None):
        self.cfg, self.store, self.alertmanager_url, self.clock = cfg, store, alertmanager_url, clock
        self.log_evidence = log_evidence  # LogEvidence or None
        self.rules = {rule.name: rule for rule in cfg.rules}

    def run(self, row) -> tuple[str, str, dict]:
        """(status, reason, result) of running the action row."""
        try:
            handler = getattr(self, f"_builtin_{row.rule}", None) if row.rule in ("chatops", "grafana", "breaker",
                                                                                      "unsilence") else None
            if handler is not None:
                return handler(row)
            rule = self.rules.get(row.rule)
            if rule is None or row.action_index >= len(rule.actions):
                return "failed", "the rule or action is no longer configured", {}
            action = rule.actions[row.action_index]
            return getattr(self, f"_{action.type}")(action, row)
        except Exception as err:  # an action failure is recorded, never raised into the worker
            return "failed", f"{type(err).__name__}: {err}"[:500], {}

    def _incident(self, incident_id):
        if incident_id is None:
            return None
        with self.store.read() as conn:
            detail = incident_detail(conn, incident_id)
        if detail is not None:
            if self.log_evidence is not None:
                detail["log_evidence"] = self.log_evidence.for_incident(detail)
            detail["summary"] = summarize(detail)
        return detail

    def _template_context(self, row) -> dict:
        incident = self._incident(row.incident_id)
        return {"incident": incident or {}, "alert": row.context.get("alert", {}), "event": row.context}

    # ---- rule actions ------------------------------------------------------------
    def _webhook(self, action: WebhookAction, row):
        host = urlparse(action.url).hostname
        if host not in self.cfg.webhook_allowlist:  # also checked at config load
            return "refused", f"host {host!r} is not in webhook_allowlist", {}
        body = render(action.body, self._template_context(row)) if action.body else None
        headers = {"X-AIOps-Action-Id": str(row.id), **action.headers}
        last = ""
        for attempt in range(action.retries + 1):
            try:
                response = requests.request(action.method, action.url, data=body, headers=headers,
                                            timeout=action.timeout)
                if response.status_code < 300:
                    return "succeeded", f"HTTP {response.status_code}", {"status_code": response.status_code,
                                                                          "attempts": attempt + 1}
                last = f"HTTP {response.status_code}"
                if response.status_code < 500:
                    break
            except requests.RequestException as err:
                last = f"{type(err).__name__}: {err}"[:300]
            time.sleep(min(2 ** attempt * 0.2, 5))
        return "failed", last, {"attempts": attempt + 1}

    def _command(self, action: CommandAction, row):
        env = command_env(row.context, self._incident(row.incident_id), action.env)
        try:
            done = subprocess.run(action.argv, env=env, cwd=action.cwd, capture_output=True, timeout=action.timeout,
                                  shell=False, check=False)
        except subprocess.TimeoutExpired:
            return "failed", f"timed out after {action.timeout:g}s", {}
        result = {"exit_code": done.returncode, "stdout": done.stdout.decode(errors="replace")[-OUTPUT_LIMIT:],
                  "stderr": done.stderr.decode(errors="replace")[-OUTPUT_LIMIT:]}
        return ("succeeded" if done.returncode == 0 else "failed"), f"exit code {done.returncode}", result

    def _silence(self, action: SilenceAction, row):
        if not self.alertmanager_url:
            return "failed", "alertmanager.url is not configured", {}
        labels = row.context.get("alert", {}).get("labels", {})
        names = action.match_labels or sorted(labels)
        now = time.time()  # Alertmanager keeps silences in wall-clock time
        body = {"matchers": [{"name": n, "value": labels[n], "isRegex": False, "isEqual": True} for n in names
                             if n in labels],
                "startsAt": _rfc3339(now), "endsAt": _rfc3339(now + action.duration),
                "createdBy": "aiops-receiver", "comment": f"{action.comment} (incident #{row.incident_id})"}
        response = requests.post(f"{self.alertmanager_url.rstrip('/')}/api/v2/silences", json=body, timeout=10)
        if response.status_code >= 300:
            return "failed", f"Alertmanager answered {response.status_code}: {response.text[:200]}", {}
        silence_id = response.json()["silenceID"]
        if action.expire_on_resolve and row.incident_id is not None:
            with self.store.write() as conn:
                conn.execute(refs_t.insert().values(incident_id=row.incident_id, kind="silence", ref=silence_id,
                                                    active=True, created_at=now))
        return "succeeded", f"silence {silence_id}", {"silence_id": silence_id}

    def _notify(self, action: NotifyAction, row):
        detail = self._incident(row.incident_id)
        text = render(action.text, self._template_context(row)) if action.text else (detail or {}).get("summary", "")
        chat = self.cfg.chatops
        if chat.slack is not None:
            post_or_update_slack(chat.slack, {"text": text}, None)
        elif chat.generic is not None:
            post_generic(chat.generic, detail or {}, text, "notify")
        else:
            return "failed", "no chatops channel is configured", {}
        return "succeeded", "posted", {"text": text}

    # ---- built-in notifications --------------------------------------------------
    def _ref(self, incident_id: int, kind: str) -> str | None:
        with self.store.read() as conn:
            return conn.execute(sa.select(refs_t.c.ref).where((refs_t.c.incident_id == incident_id)
                                                              & (refs_t.c.kind == kind))).scalar()

    def _save_ref(self, incident_id: int, kind: str, ref: str) -> None:
        with self.store.write() as conn:
            conn.execute(refs_t.insert().values(incident_id=incident_id, kind=kind, ref=ref, active=True,
                                                created_at=self.clock()))

    def _builtin_chatops(self, row):
        detail = self._incident(row.incident_id)
        if detail is None:
            return "failed", "incident not found", {}
        chat = self.cfg.chatops
        result = {}
        merged = detail["status"] == "merged"  # only an incident that already has a message is told where it went
        if chat.slack is not None and not (merged and self._ref(row.incident_id, "slack_ts") is None):
            ts = self._ref(row.incident_id, "slack_ts")
            new_ts = post_or_update_slack(chat.slack, incident_message(detail, detail["summary"], chat, self.clock()), ts)
            if ts is None and new_ts:
                self._save_ref(row.incident_id, "slack_ts", new_ts)
            result["slack"] = "updated" if ts else "posted"
        if chat.generic is not None and not (merged and self._ref(row.incident_id, "generic_chat") is None):
            seen = self._ref(row.incident_id, "generic_chat")
            event = detail["status"] if detail["status"] in ("resolved", "merged") else ("updated" if seen else "opened")
            post_generic(chat.generic, detail, detail["summary"], event)
            if seen is None:
                self._save_ref(row.incident_id, "generic_chat", "sent")
            result["generic"] = "sent"
        if not result:
            return "skipped", "merged into another incident before any message was sent", {}
        return "succeeded", ", ".join(f"{k} {v}" for k, v in result.items()), result

    def _builtin_grafana(self, row):
        detail = self._incident(row.incident_id)
        if detail is None:
            return "failed", "incident not found", {}
        grafana = self.cfg.grafana
        if grafana is None:
            return "skipped", "grafana is not configured", {}
        existing = self._ref(row.incident_id, "grafana_annotation")
        if existing is None and detail["status"] == "merged":
            return "skipped", "merged into another incident before it was annotated", {}
        annotation = write_annotation(grafana, annotation_body(detail, detail["summary"], grafana), existing)
        if existing is None:
            self._save_ref(row.incident_id, "grafana_annotation", annotation)
        return "succeeded", f"annotation {annotation} {'updated' if existing else 'created'}", {"annotation": annotation}

    def _builtin_breaker(self, row):
        breaker = row.context.get("breaker", {})
        text = (f":rotating_light: aiops automation stopped: circuit breaker opened ({breaker.get('reason')}). "
                "Reset it with POST /api/v1/automation/breaker/reset.")
        chat = self.cfg.chatops
        if chat.slack is not None:
            post_or_update_slack(chat.slack, {"text": text}, None)
        elif chat.generic is not None:
            post_generic(chat.generic, {}, text, "breaker_open")
        return "succeeded", "breaker notification posted" if (chat.slack or chat.generic) else "no chat configured", {}

    def _builtin_unsilence(self, row):
        silence_id = row.context.get("silence_id")
        if not self.alertmanager_url:
            return "failed", "alertmanager.url is not configured", {}
        response = requests.delete(f"{self.alertmanager_url.rstrip('/')}/api/v2/silence/{silence_id}", timeout=10)
        if response.status_code >= 300:
            return "failed", f"Alertmanager answered {response.status_code}", {}
        return "succeeded", f"silence {silence_id} expired", {"silence_id": silence_id}


