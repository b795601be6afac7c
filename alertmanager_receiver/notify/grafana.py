"""Incidents as Grafana annotations (POST /api/annotations, PATCH on resolve)."""

from __future__ import annotations

import requests

from aiops_common.auth import bearer_headers

from ..automation.config import GrafanaConfig


class GrafanaError(Exception):
    pass


def _headers(cfg: GrafanaConfig) -> dict:
    return bearer_headers(cfg.token, cfg.token_file)


def annotation_body(detail: dict, summary: str, cfg: GrafanaConfig) -> dict:
    body = {"time": int(detail["opened_at"] * 1000), "tags": ["aiops", detail["priority"], *detail["services"]],
            "text": f"#{detail['id']} {detail['title']}: {summary}"}
    if detail.get("resolved_at"):
        body["timeEnd"] = int(detail["resolved_at"] * 1000)
    if cfg.dashboard_uid:
        body["dashboardUID"] = cfg.dashboard_uid
    return body


def write_annotation(cfg: GrafanaConfig, body: dict, annotation_id: str | None, timeout: float = 10) -> str:
    base = cfg.url.rstrip("/")
    if annotation_id:
        response = requests.patch(f"{base}/api/annotations/{annotation_id}", json=body, headers=_headers(cfg),
                                  timeout=timeout)
    else:
        response = requests.post(f"{base}/api/annotations", json=body, headers=_headers(cfg), timeout=timeout)
    if response.status_code >= 300:
        raise GrafanaError(f"Grafana answered {response.status_code}: {response.text[:200]}")
    return str(annotation_id or response.json()["id"])
