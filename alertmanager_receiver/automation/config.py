"""Automation rules and ChatOps settings (the `automation:` key of the receiver config)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlparse

from pydantic import Field, model_validator

from aiops_common.config import StrictModel
from aiops_common.durations import Duration, PositiveDuration


class Match(StrictModel):
    """Every given criterion must hold; lists mean any of."""

    labels: dict[str, str] = Field(default_factory=dict)  # exact label values on the triggering alert
    alertname: list[str] = Field(default_factory=list)
    priority: list[Literal["P1", "P2", "P3", "P4"]] = Field(default_factory=list)
    root_cause_service: list[str] = Field(default_factory=list)


class WebhookAction(StrictModel):
    type: Literal["webhook"]
    url: str
    method: Literal["POST", "PUT", "PATCH", "GET", "DELETE"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None  # Jinja2 (sandboxed) template over incident and alert fields
    timeout: PositiveDuration = 10.0
    retries: int = Field(default=2, ge=0, le=10)


class CommandAction(StrictModel):
    type: Literal["command"]
    argv: list[str] = Field(min_length=1)  # run without a shell; fields arrive only as AIOPS_* environment variables
    timeout: PositiveDuration = 60.0
    cwd: Path | None = None
    env: dict[str, str] = Field(default_factory=dict)


class SilenceAction(StrictModel):
    type: Literal["silence"]
    duration: PositiveDuration = 3600.0
    comment: str = "silenced by aiops automation"
    match_labels: list[str] = Field(default_factory=list)  # default: all labels of the triggering alert
    expire_on_resolve: bool = True


class NotifyAction(StrictModel):
    type: Literal["notify"]
    text: str | None = None  # Jinja2 template; default: the incident's plain-language summary


Action = Annotated[WebhookAction | CommandAction | SilenceAction | NotifyAction, Field(discriminator="type")]


class Budget(StrictModel):
    per_hour: int | None = Field(default=None, ge=0)
    per_day: int | None = Field(default=None, ge=0)


class AutomationRule(StrictModel):
    name: str = Field(pattern=r"^[a-zA-Z0-9_.:-]+$")
    match: Match = Field(default_factory=Match)
    on: Literal["firing", "resolved", "both"] = "firing"
    cooldown: Duration = 0.0
    budget: Budget = Field(default_factory=Budget)
    concurrency: int = Field(default=1, ge=1, le=64)
    require_approval: bool = False
    actions: list[Action] = Field(min_length=1)


class Breaker(StrictModel):
    max_actions: int = Field(default=20, ge=1)
    window: PositiveDuration = 600.0


class SlackConfig(StrictModel):
    api_url: str = "https://slack.com/api"  # Web API base: chat.postMessage, then chat.update
    token: str | None = None
    token_file: Path | None = None
    channel: str
    webhook_url: str | None = None  # incoming webhook instead of the Web API (posts only, cannot update)


class GenericChatConfig(StrictModel):
    url: str
    headers: dict[str, str] = Field(default_factory=dict)


class GrafanaConfig(StrictModel):
    url: str
    token: str | None = None
    token_file: Path | None = None
    dashboard_uid: str | None = None


class ChatOpsConfig(StrictModel):
    slack: SlackConfig | None = None
    generic: GenericChatConfig | None = None
    grafana_dashboard_url: str | None = None  # linked from messages
    alertmanager_url: str | None = None  # linked from messages


class AutomationConfig(StrictModel):
    mode: Literal["dry-run", "live"] = "dry-run"
    webhook_allowlist: list[str] = Field(default_factory=list)  # hosts webhook actions may call
    approval_timeout: PositiveDuration = 1800.0
    breaker: Breaker = Field(default_factory=Breaker)
    worker_interval: PositiveDuration = 0.5
    rules: list[AutomationRule] = Field(default_factory=list)
    chatops: ChatOpsConfig = Field(default_factory=ChatOpsConfig)
    grafana: GrafanaConfig | None = None

    @model_validator(mode="after")
    def _check(self) -> AutomationConfig:
        names = set()
        for i, rule in enumerate(self.rules):
            if rule.name in names:
                raise ValueError(f"rules[{i}].name: duplicate rule name {rule.name!r}")
            names.add(rule.name)
            for j, action in enumerate(rule.actions):
                if isinstance(action, WebhookAction):
                    host = urlparse(action.url).hostname
                    if urlparse(action.url).scheme not in ("http", "https") or not host:
                        raise ValueError(f"rules[{i}].actions[{j}].url: must be an http(s) URL")
                    if host not in self.webhook_allowlist:
                        raise ValueError(f"rules[{i}].actions[{j}].url: host {host!r} is not in webhook_allowlist")
        return self
