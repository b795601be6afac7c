"""Typed exporter configuration loaded from YAML; every error names its key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator

from aiops_common.auth import BasicAuth
from aiops_common.config import ConfigError, StrictModel, format_errors, http_url, load_yaml, one_method, validate
from aiops_common.durations import Duration, PositiveDuration, parse_duration

__all__ = ["BasicAuth", "Config", "ConfigError", "ExecutorConfig", "ExporterSettings", "FeedbackConfig",
           "MinDeviation", "PrometheusConfig", "QueryConfig", "ShardConfig", "TLSConfig", "load_config",
           "parse_config"]

_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_:.-]*$")


class TLSConfig(StrictModel):
    verify: bool = True
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None


class PrometheusConfig(StrictModel):
    url: str
    timeout: PositiveDuration = 30.0
    retries: int = Field(default=3, ge=0, le=20)
    backoff: PositiveDuration = 1.0
    max_backoff: PositiveDuration = 60.0
    concurrent_reads: int = Field(default=2, ge=1, le=16)
    lookback_delta: PositiveDuration = 300.0  # the server's --query.lookback-delta (see "Sparse series")
    bearer_token: str | None = None
    bearer_token_file: Path | None = None
    basic_auth: BasicAuth | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    tls: TLSConfig = Field(default_factory=TLSConfig)

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        return http_url(url)

    @model_validator(mode="after")
    def _one_auth(self) -> PrometheusConfig:
        one_method(self, ("bearer_token", "bearer_token_file", "basic_auth"))
        return self


class MinDeviation(StrictModel):
    """Deviations below max(absolute, relative * |yhat|) never score above 1."""

    absolute: float = Field(default=0.0, ge=0)
    relative: float = Field(default=0.0, ge=0)


def _min_deviation(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"absolute": value}
    return value


# The band's nominal coverage: with the calibration quantile weighted by age (seasonal), 99.95%
# pages on the same NAB windows as 99.9% with a third fewer false positives (docs/benchmarks.md).
DEFAULT_INTERVAL_WIDTH = 0.9995
DEFAULT_HISTORY = 7 * 86400.0
# A coarse series (hourly, say) holds as many samples as a 5-minute one over 7 days, so the band's
# 99.9% quantile rests on about 2,000 residuals and a weekly profile has the weeks it needs.
DEFAULT_HISTORY_STEPS = 2016
# ...which does not mean a new coarse series must wait for 201 of them (8.4 days at 1h) before it is
# scored: min_history's default is a tenth of history, but never more than a tenth of the default 7
# days (16.8 h) or this many steps, whichever is longer (2 days at 1h). The band's width is never below
# the normal quantile of a robust scale, which 48 residuals estimate well enough (docs/benchmarks.md).
DEFAULT_MIN_HISTORY_STEPS = 48


def _delay(value: Any) -> Any:
    if value == "auto":
        return value
    seconds = parse_duration(value)
    if seconds < 0:
        raise ValueError("must be a duration of 0 or more, or auto")
    return seconds


class QueryConfig(StrictModel):
    name: str
    expr: str
    model: str = "seasonal"
    step: PositiveDuration = 60.0
    history: PositiveDuration = DEFAULT_HISTORY  # default: 7 days, or DEFAULT_HISTORY_STEPS steps if longer
    min_history: Duration | None = None
    retrain_every: PositiveDuration = 3600.0
    horizons: list[PositiveDuration] = Field(default_factory=list)
    interval_width: float = Field(default=DEFAULT_INTERVAL_WIDTH, gt=0, lt=1)
    direction: Literal["both", "up", "down"] = "both"
    min_deviation: Annotated[MinDeviation, BeforeValidator(_min_deviation)] = Field(default_factory=MinDeviation)
    max_series: int = Field(default=10000, ge=1)
    delay: Annotated[float | Literal["auto"], BeforeValidator(_delay)] = 0.0  # score the grid point now - delay
    params: Any = None

    @field_validator("name")
    @classmethod
    def _label_value_safe(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError("must start with a letter or _ and hold only letters, digits, _ : . -")
        return name

    @field_validator("expr")
    @classmethod
    def _non_empty(cls, expr: str) -> str:
        if not expr.strip():
            raise ValueError("must be a PromQL expression")
        return expr

    @model_validator(mode="after")
    def _check(self) -> QueryConfig:
        from .models import params_class  # registry import; no I/O

        try:
            cls = params_class(self.model)
        except KeyError as err:
            raise ValueError(f"model: {err.args[0]}") from None
        try:
            params = cls.model_validate(self.params or {})
        except ValidationError as err:
            raise ValueError("; ".join("params." + line for line in format_errors(err))) from None
        object.__setattr__(self, "params", params)
        if "history" not in self.model_fields_set:
            object.__setattr__(self, "history", max(DEFAULT_HISTORY, DEFAULT_HISTORY_STEPS * self.step))
        if self.history < 2 * self.step:
            raise ValueError("history: must cover at least two steps")
        if self.min_history is not None and self.min_history > self.history:
            raise ValueError("min_history: must not exceed history")
        return self

    @property
    def effective_min_history(self) -> float:
        """History a series needs before it is modelled (default: a tenth of history, but at most 16.8 hours
        or DEFAULT_MIN_HISTORY_STEPS steps, whichever is longer; at least 10 steps)."""
        if self.min_history is not None:
            return self.min_history
        cap = max(DEFAULT_HISTORY / 10, DEFAULT_MIN_HISTORY_STEPS * self.step)
        return min(self.history, max(10 * self.step, min(self.history / 10, cap)))


class ShardConfig(StrictModel):
    """This replica models only the series whose label-set hash modulo count equals index."""

    index: int = Field(default=0, ge=0)
    count: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _index_below_count(self) -> ShardConfig:
        if self.index >= self.count:
            raise ValueError(f"index: must be below count ({self.count})")
        return self


class FeedbackConfig(StrictModel):
    """Where operator verdicts come from (the receiver) and how far they may move a series' band."""

    url: str
    interval: PositiveDuration = 60.0
    timeout: PositiveDuration = 10.0
    state_file: Path | None = None
    widen_factor: float = Field(default=2.0, gt=1, le=10)
    max_multiplier: float = Field(default=4.0, ge=1, le=100)
    half_life: PositiveDuration = 3 * 86400.0
    bearer_token_file: Path | None = None
    basic_auth: BasicAuth | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        return http_url(url, "http://127.0.0.1:9876 (the receiver)")

    @model_validator(mode="after")
    def _one_auth(self) -> FeedbackConfig:
        one_method(self, ("bearer_token_file", "basic_auth"))
        return self


class ExecutorConfig(StrictModel):
    """Where fits run: `local` worker processes (fit_workers of them) or a Dask distributed cluster."""

    type: Literal["local", "dask"] = "local"
    address: str | None = None  # dask: the scheduler, e.g. tcp://dask-scheduler:8786
    fit_chunk_series: int = Field(default=1000, ge=100)  # vectorised models: series per fit task (bounds scratch memory)
    chunk_timeout: PositiveDuration = 600.0

    @model_validator(mode="after")
    def _address_for_dask(self) -> ExecutorConfig:
        if self.type == "dask":
            if not self.address:
                raise ValueError("address: required for type dask, e.g. tcp://dask-scheduler:8786")
            if not re.match(r"^(tcp|tls|inproc|ucx|ws|wss)://", self.address):
                raise ValueError("address: must be a Dask scheduler address such as tcp://host:8786")
        elif self.address is not None:
            raise ValueError("address: only used with type dask")
        return self


class ExporterSettings(StrictModel):
    interval: PositiveDuration = 60.0
    series_ttl: PositiveDuration = 600.0
    coverage_window: PositiveDuration = 3600.0
    fit_workers: int = Field(default=2, ge=1, le=256)
    history_memory_bytes: int = Field(default=2 * 1024**3, ge=0)  # in-memory history for retrains, all queries
    state_dir: Path | None = None  # carried model state kept here survives restarts (carried_state.py)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    shard: ShardConfig = Field(default_factory=ShardConfig)


class Config(StrictModel):
    prometheus: PrometheusConfig
    queries: list[QueryConfig] = Field(min_length=1)
    exporter: ExporterSettings = Field(default_factory=ExporterSettings)
    feedback: FeedbackConfig | None = None
    logs: dict | None = None  # read by `aiops-exporter logs` (exporter/logs/config.py), not by the exporter

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        seen: set[str] = set()
        for i, query in enumerate(self.queries):
            if query.name in seen:
                raise ValueError(f"queries[{i}].name: duplicate query name {query.name!r}")
            seen.add(query.name)
        return self

    def query(self, name: str) -> QueryConfig:
        for query in self.queries:
            if query.name == name:
                return query
        raise KeyError(f"no query named {name!r} (have: {', '.join(q.name for q in self.queries)})")


def parse_config(data: Any, source: str = "config") -> Config:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: top level must be a mapping with keys prometheus and queries")
    return validate(Config, data, source)


def load_config(path: str | Path) -> Config:
    path, data = load_yaml(path)
    return parse_config(data, str(path))
