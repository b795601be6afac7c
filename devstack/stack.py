"""The whole chain on local binaries: workload -> Prometheus (+rules) -> exporter -> Prometheus ->
Alertmanager -> receiver (automation in dry-run). Used by `make demo` and the end-to-end test."""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from .alertmanager import Alertmanager, webhook_config
from .procs import Process, free_port, wait_http
from .prometheus import Prometheus, backfill
from .receiver import ReceiverProcess
from .synthetic import seasonal_values, write_openmetrics
from .workload import specs

REPO = Path(__file__).resolve().parent.parent
TOPOLOGY = {"checkout": {"depends_on": ["payments", "cart"], "criticality": "high"},
            "payments": {"depends_on": ["payments-db"]}}


@dataclass
class StackSettings:
    for_duration: str = "1m"  # replaces every `for:` of the shipped rules
    scrape_interval: str = "5s"
    exporter_interval: str = "5s"
    step: str = "30s"
    history_days: int = 7
    fault_after: float = 90.0
    group_wait: str = "5s"
    group_interval: str = "10s"


@dataclass
class Stack:
    workdir: Path
    settings: StackSettings = field(default_factory=StackSettings)
    started: list = field(default_factory=list)

    def _rules(self) -> list[Path]:
        out = self.workdir / "rules"
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for path in sorted((REPO / "rules").glob("*.yml")):
            text = re.sub(r"(?m)^(\s+for:\s*)\S+", rf"\g<1>{self.settings.for_duration}", path.read_text())
            (out / path.name).write_text(text)
            paths.append(out / path.name)
        return paths

    def exporter_config(self) -> dict:
        return {"prometheus": {"url": self.prometheus.url, "timeout": "10s"},
                "exporter": {"interval": self.settings.exporter_interval,
                             "state_dir": str(self.workdir / "exporter-state")},
                "feedback": {"url": f"http://127.0.0.1:{self.receiver_port}", "interval": self.settings.exporter_interval,
                             "state_file": str(self.workdir / "exporter-feedback.json")},
                "queries": [{"name": "cpu", "expr": 'demo_cpu_usage{job="demo"}', "model": "seasonal",
                             "step": self.settings.step, "history": f"{self.settings.history_days}d",
                             "horizons": ["1h", "6h"]}]}

    def receiver_config(self) -> dict:
        return {"storage": {"url": f"sqlite:///{self.workdir / 'receiver.db'}"},
                "prometheus": {"url": self.prometheus.url},
                "correlation": {"group_by": ["cluster", "namespace"], "window": "10m", "service_label": "service"},
                "topology": TOPOLOGY, "alertmanager": {"url": self.alertmanager.url},
                "automation": {"mode": "dry-run", "rules": [{
                    "name": "restart-on-anomaly", "match": {"alertname": ["AIOpsAnomalyDetected"]},
                    "cooldown": "10m", "actions": [{"type": "command", "argv": ["/bin/echo", "restart requested"]}]}]}}

    def start(self, say=print) -> Stack:
        s = self.settings
        self.workdir.mkdir(parents=True, exist_ok=True)
        ports = {name: free_port() for name in ("workload", "exporter", "receiver", "logs")}
        self.exporter_url = f"http://127.0.0.1:{ports['exporter']}"
        self.receiver_port = ports["receiver"]
        self.alertmanager = Alertmanager(self.workdir / "alertmanager", {})
        self.prometheus = Prometheus(
            self.workdir / "prometheus", scrape_interval=s.scrape_interval, rule_files=self._rules(),
            alertmanagers=[f"127.0.0.1:{self.alertmanager.port}"],
            scrape_targets={"demo": [f"127.0.0.1:{ports['workload']}"],
                            "aiops-exporter": [f"127.0.0.1:{ports['exporter']}"],
                            "aiops-logs": [f"127.0.0.1:{ports['logs']}"],
                            "aiops-receiver": [f"127.0.0.1:{ports['receiver']}"]})
        marker = self.prometheus.data_dir / "backfilled"
        if not marker.exists():
            say(f"writing {s.history_days} days of history and backfilling it with promtool ...")
            end = (time.time() // 60) * 60 - 60
            times = np.arange(end - s.history_days * 86400, end + 1, 60, dtype=float)
            openmetrics = self.workdir / "history.om"
            write_openmetrics(openmetrics, ((spec, times, seasonal_values(spec, times)) for spec in specs()))
            backfill(openmetrics, self.prometheus.data_dir)
            marker.write_text(str(end))
        say(f"starting Prometheus on {self.prometheus.url} with the shipped rules (for: {s.for_duration})")
        self.prometheus.start()
        self.started.append(self.prometheus)
        self.alertmanager.config = webhook_config(f"http://127.0.0.1:{ports['receiver']}/webhook/alertmanager",
                                                  ["alertname", "service"], s.group_wait, s.group_interval)
        say(f"starting Alertmanager on {self.alertmanager.url}")
        self.alertmanager.start()
        self.started.append(self.alertmanager)
        say(f"starting aiops-receiver on http://127.0.0.1:{ports['receiver']} (automation: dry-run)")
        self.receiver = ReceiverProcess(self.workdir / "receiver", self.receiver_config(), port=ports["receiver"]).start()
        self.started.append(self.receiver)
        say(f"starting the workload (fault in {s.fault_after:.0f}s) and aiops-exporter on {self.exporter_url}")
        self.workload = Process("workload", [sys.executable, "-m", "devstack.workload", "--port",
                                             str(ports["workload"]), "--fault-after", str(s.fault_after)],
                                self.workdir / "workload.log").start()
        self.fault_at = time.time() + s.fault_after
        self.started.append(self.workload)
        say(f"starting a Tomcat-like log writer and aiops-exporter logs on http://127.0.0.1:{ports['logs']}")
        catalina = self.workdir / "catalina.out"
        catalina.touch()
        self.started.append(Process("tomcat-log", [sys.executable, "-m", "devstack.tomcatlog", "--output",
                                                   str(catalina), "--rate", "5", "--burst-after", str(s.fault_after),
                                                   "--burst-rate", "3"], self.workdir / "tomcat-log.log").start())
        logs_config = self.workdir / "logs.yml"
        logs_config.write_text(yaml.safe_dump({"logs": {
            "state_dir": str(self.workdir / "logs-state"),
            "sources": [{"name": "tomcat", "paths": [str(catalina)], "labels": {"service": "payments"}}]}}))
        self.logs = Process("logs", [sys.executable, "-m", "exporter", "--web.listen-address",
                                     f"127.0.0.1:{ports['logs']}", "logs", "--config.file", str(logs_config)],
                            self.workdir / "logs.log").start()
        self.started.append(self.logs)
        config_path = self.workdir / "exporter.yml"
        config_path.write_text(yaml.safe_dump(self.exporter_config(), sort_keys=False))
        self.exporter_config_path = config_path
        self.exporter = Process("exporter", [sys.executable, "-m", "exporter", "--config.file", str(config_path),
                                             "--web.listen-address", f"127.0.0.1:{ports['exporter']}"],
                                self.workdir / "exporter.log").start()
        self.started.append(self.exporter)
        wait_http(f"{self.exporter_url}/readyz", 300, self.exporter.proc)
        return self

    def stop(self) -> None:
        for proc in reversed(self.started):
            proc.stop()
        self.started.clear()

    # ---- what the chain shows ------------------------------------------------------
    def scores(self) -> dict[str, float]:
        return {r["metric"].get("service"): float(r["value"][1])
                for r in self.prometheus.query('aiops_anomaly_score{aiops_query="cpu"}')}

    def firing_alerts(self, name: str = "AIOpsAnomalyDetected") -> list[dict]:
        return [a for a in self.prometheus.query(f'ALERTS{{alertname="{name}",alertstate="firing"}}')]

    def alertmanager_alerts(self) -> list[dict]:
        return [a for a in self.alertmanager.alerts() if a["labels"].get("alertname") == "AIOpsAnomalyDetected"]

    def incidents(self) -> list[dict]:
        return self.receiver.get("/api/v1/incidents")["incidents"]

    def incident(self, incident_id: int) -> dict:
        return self.receiver.get(f"/api/v1/incidents/{incident_id}")

    def actions(self) -> list[dict]:
        return self.receiver.get("/api/v1/actions")["actions"]
