"""A local Alertmanager (Debian's prometheus-alertmanager) routing to webhook URLs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import requests
import yaml

from .procs import Process, free_port, require_binary


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def webhook_config(url: str, group_by: list[str], group_wait: str = "1s", group_interval: str = "2s",
                   repeat_interval: str = "1h", http_config: dict | None = None) -> dict:
    webhook = {"url": url, "send_resolved": True, "max_alerts": 0}
    if http_config:
        webhook["http_config"] = http_config
    return {
        "route": {"receiver": "aiops", "group_by": group_by, "group_wait": group_wait,
                  "group_interval": group_interval, "repeat_interval": repeat_interval},
        "receivers": [{"name": "aiops", "webhook_configs": [webhook]}],
    }


class Alertmanager:
    def __init__(self, workdir: Path, config: dict, port: int | None = None):
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = config
        self.process: Process | None = None

    def start(self, timeout: float = 60.0) -> Alertmanager:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "alertmanager.yml"
        config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        argv = [require_binary("prometheus-alertmanager"), f"--config.file={config_path}",
                f"--storage.path={self.workdir / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=", "--log.level=warn"]
        self.process = Process("alertmanager", argv, self.workdir / "alertmanager.log").start_and_wait(
            f"{self.url}/-/ready", timeout)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def push(self, alerts: list[dict]) -> None:
        """POST /api/v2/alerts: [{labels, annotations, startsAt, endsAt}] (times as unix seconds or strings)."""
        body = []
        for alert in alerts:
            item = {"labels": alert["labels"], "annotations": alert.get("annotations", {})}
            for key in ("startsAt", "endsAt"):
                if key in alert:
                    value = alert[key]
                    item[key] = rfc3339(value) if isinstance(value, (int, float)) else value
            body.append(item)
        response = requests.post(f"{self.url}/api/v2/alerts", json=body, timeout=10)
        response.raise_for_status()

    def alerts(self) -> list[dict]:
        return requests.get(f"{self.url}/api/v2/alerts", timeout=10).json()
