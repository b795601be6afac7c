"""ChatOps messages in Slack's Web API / incoming-webhook format, or a generic JSON webhook."""

from __future__ import annotations

from datetime import UTC, datetime

import requests

from aiops_common.auth import read_secret

from ..automation.config import ChatOpsConfig, GenericChatConfig, SlackConfig

PRIORITY_EMOJI = {"P1": ":red_circle:", "P2": ":large_orange_circle:", "P3": ":large_yellow_circle:",
                  "P4": ":white_circle:"}




def _duration(detail: dict, now: float) -> str:
    end = detail.get("resolved_at") or now
    minutes = max(0, (end - detail["opened_at"]) / 60)
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def incident_message(detail: dict, summary: str, cfg: ChatOpsConfig, now: float) -> dict:
    """Slack message (text + blocks) for an incident."""
    cause = detail.get("probable_root_cause")
    state = detail["status"].upper()
    if detail["status"] == "merged":  # its alerts live on in the survivor, whose message carries on
        state = f"MERGED INTO #{detail.get('merged_into')}"
        summary = f"Merged into incident #{detail.get('merged_into')}: its alerts and updates continue there."
    title = (f"{PRIORITY_EMOJI.get(detail['priority'], '')} [{detail['priority']}] [{state}] #{detail['id']} "
             f"{detail['title']}")
    fields = [f"*Priority:* {detail['priority']}", f"*Duration:* {_duration(detail, now)}",
              f"*Services:* {', '.join(detail['services']) or 'n/a'}",
              f"*Opened:* {datetime.fromtimestamp(detail['opened_at'], UTC):%Y-%m-%d %H:%M} UTC"]
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
              {"type": "section", "text": {"type": "mrkdwn", "text": summary}},
              {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]}]
    if cause:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": f"*Probable root cause:* {cause['explanation']}"}})
    others = (detail.get("root_cause_candidates") or [])[1:3]
    if others:
        lines = [f"{'' if c.get('alerting', True) else '(silent) '}{c['explanation'][:300]}" for c in others]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "*Other candidates:*\n" + "\n".join(lines)}})
    templates = (detail.get("log_evidence") or {}).get("templates") or []
    if templates:
        lines = [f"`{t['source']}` {t['level']} x{t['change']:.0f} ({t['rate_during_per_minute']:.1f}/min): "
                 f"{t['template'][:200]}" for t in templates[:3]]
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": "*Log evidence:*\n" + "\n".join(lines)}})
    links = []
    if cfg.grafana_dashboard_url:
        links.append(f"<{cfg.grafana_dashboard_url}|Grafana dashboard>")
    if cfg.alertmanager_url:
        links.append(f"<{cfg.alertmanager_url.rstrip('/')}/#/alerts|Alertmanager>")
    if links:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " | ".join(links)}]})
    return {"text": f"{title}\n{summary}", "blocks": blocks}


class ChatError(Exception):
    pass


def post_or_update_slack(slack: SlackConfig, message: dict, ts: str | None, timeout: float = 10) -> str | None:
    """chat.postMessage, or chat.update when the incident already has a message; returns the message ts."""
    if slack.webhook_url:  # incoming webhooks cannot update: post the first message and the resolution only
        response = requests.post(slack.webhook_url, json=message, timeout=timeout)
        if response.status_code >= 300:
            raise ChatError(f"Slack webhook answered {response.status_code}: {response.text[:200]}")
        return ts or "webhook"
    token = read_secret(slack.token, slack.token_file)
    method = "chat.update" if ts else "chat.postMessage"
    body = {"channel": slack.channel, **message, **({"ts": ts} if ts else {})}
    response = requests.post(f"{slack.api_url.rstrip('/')}/{method}", json=body, timeout=timeout,
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=utf-8"})
    data = response.json() if response.headers.get("Content-Type", "").startswith("application/json") else {}
    if response.status_code >= 300 or not data.get("ok"):
        raise ChatError(f"Slack {method} failed: {response.status_code} {data.get('error', response.text[:200])}")
    return data.get("ts", ts)


def post_generic(generic: GenericChatConfig, detail: dict, summary: str, event: str, timeout: float = 10) -> None:
    body = {"event": event, "incident": detail, "summary": summary}
    response = requests.post(generic.url, json=body, headers=generic.headers, timeout=timeout)
    if response.status_code >= 300:
        raise ChatError(f"chat webhook answered {response.status_code}")
