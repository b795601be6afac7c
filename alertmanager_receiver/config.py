"""Typed receiver configuration loaded from YAML; every error names its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from aiops_common.auth import BasicAuth
from aiops_common.config import ConfigError, StrictModel, http_url, load_yaml, one_method, validate
from aiops_common.durations import PositiveDuration

from .automation.config import AutomationConfig

__all__ = ["ConfigError", "ReceiverConfig", "load_receiver_config", "parse_receiver_config"]


class StorageConfig(StrictModel):
    url: str = "sqlite:///aiops-receiver.db"
    busy_timeout: PositiveDuration = 5.0  # how long a write waits for the database lock before 503
    max_pending_writes: int = Field(default=32, ge=1)  # more webhook requests waiting than this -> 503
    checkpoint_interval: PositiveDuration = 10.0  # SQLite: WAL copied into the database file this often

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith(("sqlite:", "postgresql:", "postgresql+", "postgres:")):
            raise ValueError("must be a SQLAlchemy URL for SQLite (sqlite:///path) or PostgreSQL (postgresql://...)")
        return "postgresql" + url[len("postgres"):] if url.startswith("postgres:") else url


class LearningConfig(StrictModel):
    """Learned co-occurrence (docs/receiver.md): services that keep alerting together become inferred edges."""

    enabled: bool = True
    half_life: PositiveDuration = 30 * 86400.0
    min_count: float = Field(default=2.5, gt=0)
    min_confidence: float = Field(default=0.5, gt=0, le=1)
    min_lift: float = Field(default=3.0, ge=1)
    min_order: float = Field(default=0.8, gt=0.5, le=1)
    max_pairs: int = Field(default=10000, ge=10)


class CorrelationConfig(StrictModel):
    group_by: list[str] = Field(default_factory=lambda: ["cluster", "namespace"])  # the scope of an incident
    topology_scope: list[str] = Field(default_factory=lambda: ["cluster"])  # never crossed, even by a dependency
    window: PositiveDuration = 600.0
    service_label: str = "service"
    quiet_period: PositiveDuration = 300.0  # all alerts resolved this long -> incident resolved
    large_incident_recompute_interval: PositiveDuration = 1.0  # incidents over 200 alerts: ranking refresh
    learning: LearningConfig = Field(default_factory=LearningConfig)


class ServiceNode(StrictModel):
    depends_on: list[str] = Field(default_factory=list)
    criticality: Literal["low", "medium", "high"] = "medium"


class BasicAuthConfig(BasicAuth):
    """Credentials Alertmanager must send: an empty password is never accepted."""

    @model_validator(mode="after")
    def _exactly_one(self) -> BasicAuthConfig:
        if self.password is None and self.password_file is None:
            raise ValueError("set exactly one of password or password_file")
        return self


class AuthConfig(StrictModel):
    bearer_token: str | None = None
    bearer_token_file: Path | None = None
    basic_auth: BasicAuthConfig | None = None

    @model_validator(mode="after")
    def _one_method(self) -> AuthConfig:
        one_method(self, ("bearer_token", "bearer_token_file", "basic_auth"))
        return self


class AlertmanagerConfig(StrictModel):
    url: str | None = None
    reconcile_interval: PositiveDuration = 300.0
    timeout: PositiveDuration = 10.0


class PrometheusConfig(StrictModel):
    """The Prometheus the receiver reads: log evidence, topology discovery, metric evidence."""

    url: str
    timeout: PositiveDuration = 5.0
    bearer_token_file: Path | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        return http_url(url)


class DiscoverySource(StrictModel):
    """A PromQL query whose result names a caller and a callee in two labels: the caller depends on the callee."""

    name: str | None = None  # in metrics and the topology API (default: source-<index>)
    query: str
    caller_label: str
    callee_label: str

    @field_validator("query")
    @classmethod
    def _non_empty(cls, query: str) -> str:
        if not query.strip():
            raise ValueError("must be a PromQL expression")
        return query


class TopologyDiscoveryConfig(StrictModel):
    refresh: PositiveDuration = 300.0
    sources: list[DiscoverySource] = Field(min_length=1)


class MetricEvidenceConfig(StrictModel):
    """Anomaly scores of the incident's services and their dependencies, read from Prometheus (docs/receiver.md)."""

    score_query: str = "aiops_anomaly_score"  # any PromQL whose series carry correlation.service_label
    lookback: PositiveDuration = 1800.0  # how far before the incident's first alert to look
    max_hops: int = Field(default=4, ge=1, le=20)  # how deep to follow dependencies of the alerting services
    step: PositiveDuration = 60.0  # resolution of the range query
    baseline: PositiveDuration = 86400.0  # the span before the lookback that says how anomalous a service usually is
    refresh: PositiveDuration = 60.0  # an incident's evidence is recomputed at most this often
    timeout: PositiveDuration = 10.0  # per query; evidence never blocks ingest

    @field_validator("score_query")
    @classmethod
    def _non_empty(cls, query: str) -> str:
        if not query.strip():
            raise ValueError("must be a PromQL expression")
        return query


class LogEvidenceConfig(StrictModel):
    window: PositiveDuration = 600.0  # compared span: incident start - window .. start + window
    baseline: PositiveDuration = 3600.0  # the span before it that defines "normal"
    limit: int = Field(default=5, ge=1, le=50)  # templates listed per incident
    min_records: int = Field(default=3, ge=1)  # fewer records in the window are not evidence
    cache_for: PositiveDuration = 60.0


class ServerConfig(StrictModel):
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    threads: int = Field(default=8, ge=1, le=256)
    connection_limit: int = Field(default=1000, ge=10)  # open connections before waitress stops accepting
    noise_window: PositiveDuration = 86400.0  # window of aiops_receiver_noise_reduction_ratio
    maintenance_interval: PositiveDuration = 30.0  # how often quiet incidents are closed


class ReceiverConfig(StrictModel):
    storage: StorageConfig = Field(default_factory=StorageConfig)
    correlation: CorrelationConfig = Field(default_factory=CorrelationConfig)
    topology: dict[str, ServiceNode] = Field(default_factory=dict)
    auth: AuthConfig | None = None
    alertmanager: AlertmanagerConfig = Field(default_factory=AlertmanagerConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    automation: AutomationConfig = Field(default_factory=AutomationConfig)
    prometheus: PrometheusConfig | None = None
    log_evidence: LogEvidenceConfig = Field(default_factory=LogEvidenceConfig)
    topology_discovery: TopologyDiscoveryConfig | None = None
    metric_evidence: MetricEvidenceConfig | None = None

    @model_validator(mode="after")
    def _prometheus_for_discovery_and_evidence(self) -> ReceiverConfig:
        for key in ("topology_discovery", "metric_evidence"):
            if getattr(self, key) is not None and self.prometheus is None:
                raise ValueError(f"{key}: needs prometheus.url (the Prometheus to read)")
        return self

    @model_validator(mode="after")
    def _silences_need_alertmanager(self) -> ReceiverConfig:
        for i, rule in enumerate(self.automation.rules):
            for j, action in enumerate(rule.actions):
                if action.type == "silence" and not self.alertmanager.url:
                    raise ValueError(f"automation.rules[{i}].actions[{j}]: silence actions need alertmanager.url")
        return self

    @model_validator(mode="after")
    def _known_dependencies(self) -> ReceiverConfig:
        for name, node in self.topology.items():
            if name in node.depends_on:
                raise ValueError(f"topology.{name}.depends_on: a service cannot depend on itself")
        return self


def parse_receiver_config(data: Any, source: str = "config") -> ReceiverConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: top level must be a mapping")
    return validate(ReceiverConfig, data, source)


def load_receiver_config(path: str | Path) -> ReceiverConfig:
    path, data = load_yaml(path)
    return parse_receiver_config(data, str(path))
