"""Plain data shared by correlation, root cause and priority (no Flask, no database)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

SEVERITY_RANK = {"critical": 3, "page": 3, "error": 2, "warning": 2, "info": 1, "none": 0}


@dataclass
class Alert:
    fingerprint: str
    starts_at: float
    status: str  # "firing" | "resolved"
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    ends_at: float | None = None
    id: int | None = None

    def service(self, service_label: str) -> str | None:
        return self.labels.get(service_label) or None

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "alert")

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "none").lower()

    @property
    def severity_rank(self) -> int:
        return SEVERITY_RANK.get(self.severity, 1)

    @property
    def anomaly_score(self) -> float | None:
        """`anomaly_score` from a label or annotation (as AIOpsAnomalyDetected carries it)."""
        for source in (self.labels, self.annotations):
            raw = source.get("anomaly_score")
            if raw is not None:
                try:
                    value = float(raw)
                except ValueError:
                    continue
                if math.isfinite(value):
                    return value
        return None


@dataclass
class IncidentSummary:
    """What correlation needs to know of an open incident."""

    id: int
    services: set[str]
    group_values: dict[str, str] | None  # its scope: the values of the scope labels (correlate.py)
    first_alert_at: float
    last_alert_at: float
    status: str = "open"
    instance_keys: set[str] = field(default_factory=set)  # alertname@instance of its alerts without a service
    alert_count: int = 0
