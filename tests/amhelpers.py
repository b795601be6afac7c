"""Builders for Alertmanager webhook payloads (version 4) as Alertmanager sends them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from alertmanager_receiver.payload import fingerprint_of

T0 = 1_800_000_000.0  # the tests' reference time (2027-01-15)


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def am_alert(labels: dict, starts_at: float, status: str = "firing", ends_at: float | None = None,
             annotations: dict | None = None) -> dict:
    return {"status": status, "labels": labels, "annotations": annotations or {}, "startsAt": rfc3339(starts_at),
            "endsAt": rfc3339(ends_at) if ends_at else "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus/graph", "fingerprint": fingerprint_of(labels)}


def payload(alerts: list[dict], group_key: str = '{}:{alertname="X"}', truncated: int = 0) -> dict:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    common = dict(alerts[0]["labels"]) if alerts else {}
    for alert in alerts[1:]:
        common = {k: v for k, v in common.items() if alert["labels"].get(k) == v}
    return {"receiver": "aiops", "status": status, "alerts": alerts, "groupLabels": {}, "commonLabels": common,
            "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "version": "4",
            "groupKey": group_key, "truncatedAlerts": truncated}


def service_alert(service: str, start: float = T0, status: str = "firing", **labels) -> dict:
    """A critical `<service>Errors` alert of one service."""
    return am_alert({"alertname": f"{service}Errors", "service": service, "severity": "critical", **labels},
                    start, status, ends_at=start + 300 if status == "resolved" else None)


def post(client, body, **headers):
    """POST a notification (dict, or raw bytes/str) to the receiver's webhook through a Flask test client."""
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/webhook/alertmanager", data=data, headers={"Content-Type": "application/json", **headers})
