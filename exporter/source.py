"""Reading series from Prometheus: chunked range queries, retries with backoff, auth."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import numpy as np
import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from .config import PrometheusConfig

log = logging.getLogger(__name__)

MAX_POINTS_PER_REQUEST = 11000  # Prometheus refuses ranges with more points per series
CHUNK_POINTS = 10000
FIRST_CHUNK_POINTS = 5  # until the number of series is known (100,000 series x 5 points: a small first response)
MAX_SAMPLES_PER_REQUEST = 1_000_000  # series x points per range query, bounding the JSON parsed at once


@dataclass
class SeriesBatch:
    """Samples of many series on one regular time grid (NaN where a series has none)."""

    labels: list[dict[str, str]]
    times: np.ndarray  # (T,) unix seconds
    values: np.ndarray  # (S, T)

    @classmethod
    def empty(cls, times: np.ndarray | None = None) -> "SeriesBatch":
        times = np.zeros(0) if times is None else times
        return cls([], times, np.zeros((0, len(times))))


class SourceError(Exception):
    """A query failed. `unreachable` is True when Prometheus itself could not answer."""

    def __init__(self, message: str, unreachable: bool):
        super().__init__(message)
        self.unreachable = unreachable


@dataclass
class QueryStats:
    requests: int = 0
    retries: int = 0
    errors: list[str] = field(default_factory=list)


def grid_times(start: float, end: float, step: float) -> np.ndarray:
    """The evaluation times Prometheus uses for start..end, start aligned down to the step."""
    first = math.floor(start / step) * step
    count = int(math.floor((end - first) / step)) + 1
    return first + step * np.arange(max(count, 0), dtype=float)


def label_key(labels: dict[str, str]) -> tuple:
    return tuple(sorted(labels.items()))


def shard_of(labels: dict[str, str], count: int) -> int:
    """Stable shard of a label set, computed like Prometheus' hashmod relabelling (md5, low 64 bits)."""
    if count == 1:
        return 0
    text = "\xff".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return int.from_bytes(hashlib.md5(text.encode()).digest()[8:], "big") % count


class PrometheusSource:
    """One Prometheus server, read through prometheus-api-client."""

    def __init__(self, cfg: PrometheusConfig, sleep: Callable[[float], object] = time.sleep):
        self.cfg = cfg
        self._sleep = sleep
        session = requests.Session()
        session.verify = str(cfg.tls.ca_file) if cfg.tls.ca_file else cfg.tls.verify
        if cfg.tls.cert_file:
            session.cert = (str(cfg.tls.cert_file), str(cfg.tls.key_file)) if cfg.tls.key_file else str(cfg.tls.cert_file)
        auth = None
        if cfg.basic_auth is not None:
            password = cfg.basic_auth.password
            if cfg.basic_auth.password_file is not None:
                password = cfg.basic_auth.password_file.read_text().strip()
            auth = (cfg.basic_auth.username, password or "")
        self._client = PrometheusConnect(url=cfg.url, headers=None, auth=auth, session=session,
                                         timeout=cfg.timeout, retry=Retry(total=0, raise_on_status=False))

    def _headers(self) -> dict[str, str]:
        headers = dict(self.cfg.headers)
        token = self.cfg.bearer_token
        if self.cfg.bearer_token_file is not None:
            token = self.cfg.bearer_token_file.read_text().strip()  # re-read: tokens rotate
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _request(self, expr: str, start: float, end: float, step: float) -> list[dict]:
        self._client.headers = self._headers()
        try:
            return self._client.custom_query_range(
                expr, datetime.fromtimestamp(start, timezone.utc), datetime.fromtimestamp(end, timezone.utc), f"{step:g}s")
        except PrometheusApiClientException as err:
            status = str(err).split()[3] if str(err).startswith("HTTP Status Code") else ""
            unreachable = not status.startswith("4") or status in ("408", "429")
            raise SourceError(str(err)[:500], unreachable) from None
        except requests.RequestException as err:
            if isinstance(err, requests.exceptions.JSONDecodeError):
                raise SourceError(f"malformed response: not JSON: {err}"[:500], True) from None
            raise SourceError(f"{type(err).__name__}: {err}"[:500], True) from None
        except (ValueError, KeyError, TypeError) as err:  # malformed JSON or unexpected shape
            raise SourceError(f"malformed response: {type(err).__name__}: {err}"[:500], True) from None

    def _request_with_retries(self, expr: str, start: float, end: float, step: float, stats: QueryStats) -> list[dict]:
        delay = self.cfg.backoff
        for attempt in range(self.cfg.retries + 1):
            stats.requests += 1
            try:
                result = self._request(expr, start, end, step)
                if not isinstance(result, list):
                    raise SourceError("malformed response: result is not a list", True)
                return result
            except SourceError as err:
                stats.errors.append(str(err))
                if not err.unreachable or attempt == self.cfg.retries:
                    raise
                log.warning("query failed (attempt %d/%d), retrying in %.1fs: %s",
                            attempt + 1, self.cfg.retries + 1, delay, err)
                stats.retries += 1
                self._sleep(delay)
                delay = min(delay * 2, self.cfg.max_backoff)
        raise AssertionError("unreachable")

    def query_range(self, expr: str, start: float, end: float, step: float,
                    stats: QueryStats | None = None) -> SeriesBatch:
        """All series of expr on the grid start..end, in chunks below Prometheus' point limit."""
        stats = stats if stats is not None else QueryStats()
        times = grid_times(start, end, step)
        if len(times) == 0:
            return SeriesBatch.empty()
        rows: dict[tuple, int] = {}
        labels: list[dict[str, str]] = []
        values: np.ndarray | None = None  # allocated once the first chunk tells how many series there are
        pending: list[tuple[int, np.ndarray, np.ndarray]] = []
        first, length = 0, min(FIRST_CHUNK_POINTS, CHUNK_POINTS)
        while first < len(times):
            chunk = times[first:first + length]
            for series in self._request_with_retries(expr, chunk[0], chunk[-1], step, stats):
                metric, samples = _parse_series(series)
                key = label_key(metric)
                row = rows.get(key)
                if row is None:
                    row = rows[key] = len(labels)
                    labels.append(metric)
                if not len(samples):
                    continue
                index = np.rint((samples[:, 0] - times[0]) / step).astype(np.int64)
                inside = (index >= 0) & (index < len(times))
                if values is None:
                    pending.append((row, index[inside], samples[inside, 1]))
                    continue
                if row >= len(values):  # a series that appeared later in the range
                    values = _grown(values, row + 1)
                values[row, index[inside]] = samples[inside, 1]
            if values is None:
                values = np.full((len(labels), len(times)), np.nan)
                for row, index, vals in pending:
                    values[row, index] = vals
                pending = []
            first += len(chunk)
            # a response is parsed whole: keep each to about MAX_SAMPLES_PER_REQUEST samples
            length = int(min(CHUNK_POINTS, max(1, MAX_SAMPLES_PER_REQUEST // max(len(labels), 1))))
        values = values[:len(labels)]
        return SeriesBatch(labels, times, values)


def _grown(values: np.ndarray, rows: int) -> np.ndarray:
    """A copy of `values` with room for at least `rows` rows (a quarter more, to grow rarely)."""
    grown = np.full((max(rows, len(values) + len(values) // 4 + 16), values.shape[1]), np.nan)
    grown[:len(values)] = values
    return grown


def _parse_series(series: dict) -> tuple[dict[str, str], np.ndarray]:
    try:
        metric = {str(k): str(v) for k, v in series["metric"].items()}
        raw = series.get("values") or []
        samples = np.empty((len(raw), 2))
        samples[:, 0] = np.fromiter((point[0] for point in raw), dtype=float, count=len(raw))
        samples[:, 1] = np.array([point[1] for point in raw], dtype=float)  # Prometheus sends values as strings
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
        raise SourceError(f"malformed series in response: {type(err).__name__}: {err}"[:300], True) from None
    return metric, samples
