"""A local Prometheus: backfilled history (promtool) plus live scrapes."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

import requests
import yaml

from .procs import Process, free_port, require_binary


def backfill(openmetrics: Path, data_dir: Path) -> None:
    """promtool tsdb create-blocks-from openmetrics FILE DIR."""
    data_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([require_binary("promtool"), "tsdb", "create-blocks-from", "openmetrics",
                             str(openmetrics), str(data_dir)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"promtool backfill failed: {result.stderr.strip()[-2000:]}")


class Prometheus:
    def __init__(self, workdir: Path, scrape_targets: dict[str, list[str]] | None = None,
                 scrape_interval: str = "1s", rule_files: Iterable[Path] = (), alertmanagers: list[str] = (),
                 evaluation_interval: str | None = None, port: int | None = None, extra_args: list[str] = ()):
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = workdir / "prometheus.yml"
        self.scrape_targets = scrape_targets or {}
        self.scrape_interval = scrape_interval
        self.evaluation_interval = evaluation_interval or scrape_interval
        self.rule_files = [str(p) for p in rule_files]
        self.alertmanagers = list(alertmanagers)
        self.extra_args = list(extra_args)
        self.process: Process | None = None

    def write_config(self) -> None:
        config = {
            "global": {"scrape_interval": self.scrape_interval, "evaluation_interval": self.evaluation_interval},
            "scrape_configs": [
                {"job_name": job, "honor_labels": True, "static_configs": [{"targets": targets}]}
                for job, targets in self.scrape_targets.items()
            ],
        }
        if self.rule_files:
            config["rule_files"] = self.rule_files
        if self.alertmanagers:
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": self.alertmanagers}]}]}
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    def start(self, timeout: float = 60.0) -> Prometheus:
        self.write_config()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [require_binary("prometheus"), f"--config.file={self.config_path}",
                f"--storage.tsdb.path={self.data_dir}", f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=3650d", "--web.enable-lifecycle",
                "--log.level=warn", *self.extra_args]
        self.process = Process("prometheus", argv, self.workdir / "prometheus.log").start_and_wait(f"{self.url}/-/ready", timeout)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def query(self, expr: str, time: float | None = None) -> list[dict]:
        params = {"query": expr}
        if time is not None:
            params["time"] = f"{time:.3f}"
        response = requests.get(f"{self.url}/api/v1/query", params=params, timeout=10)
        response.raise_for_status()
        return response.json()["data"]["result"]
