"""The receiver as a real process (aiops-receiver served by waitress)."""

from __future__ import annotations

import sys
from pathlib import Path

import requests
import yaml

from .procs import Process, free_port


class ReceiverProcess:
    def __init__(self, workdir: Path, config: dict, port: int | None = None, headers: dict | None = None):
        self.workdir = workdir
        self.headers = headers or {}
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "receiver.yml"
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.process: Process | None = None

    def start(self, timeout: float = 60.0) -> ReceiverProcess:
        argv = [sys.executable, "-m", "alertmanager_receiver", "--config.file", str(self.config_path),
                "--web.listen-address", f"127.0.0.1:{self.port}"]
        self.process = Process("receiver", argv, self.workdir / "receiver.log").start_and_wait(f"{self.url}/readyz", timeout)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def get(self, path: str, **params):
        response = requests.get(f"{self.url}{path}", params=params, headers=self.headers, timeout=10)
        response.raise_for_status()
        return response.json()
