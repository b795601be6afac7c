"""Reading series from Prometheus: chunked range queries, retries with backoff, auth."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from aiops_common.auth import bearer_headers

from .config import PrometheusConfig
from .series import SeriesBatch, SourceError, grid_times, label_key

__all__ = ["PrometheusSource", "QueryStats", "SeriesBatch", "SourceError", "series_groups"]

log = logging.getLogger(__name__)

MAX_POINTS_PER_REQUEST = 11000  # Prometheus refuses ranges with more points per series
CHUNK_POINTS = 10000
FIRST_CHUNK_POINTS = 5  # first time chunk of an expression whose series are unknown (a small response)
MAX_SAMPLES_PER_REQUEST = 1_000_000  # series x points per range query, bounding the JSON parsed at once


Read = tuple[str, np.ndarray, str | None]  # (query, grid times, the metric name to put back on its series or None)


@dataclass
class QueryStats:
    requests: int = 0
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    listed: int | None = None  # series /api/v1/series listed for a plain selector (None: not listed)
    rewritten: bool = False  # read through last_over_time (a step longer than the lookback)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)  # concurrent reads


class PrometheusSource:
    """One Prometheus server, read through prometheus-api-client."""

    def __init__(self, cfg: PrometheusConfig, sleep: Callable[[float], object] = time.sleep):
        self.cfg = cfg
        self._sleep = sleep
        session = requests.Session()
        session.verify = str(cfg.tls.ca_file) if cfg.tls.ca_file else cfg.tls.verify
        if cfg.tls.cert_file:
            session.cert = (str(cfg.tls.cert_file), str(cfg.tls.key_file)) if cfg.tls.key_file else str(cfg.tls.cert_file)
        auth = cfg.basic_auth.as_tuple() if cfg.basic_auth is not None else None
        self._client = PrometheusConnect(url=cfg.url, headers=None, auth=auth, session=session,
                                         timeout=cfg.timeout, retry=Retry(total=0, raise_on_status=False))

    def _headers(self) -> dict[str, str]:
        return {**self.cfg.headers, **bearer_headers(self.cfg.bearer_token, self.cfg.bearer_token_file)}

    def _request(self, expr: str, start: float, end: float, step: float) -> list[dict]:
        return self._call(lambda: self._client.custom_query_range(
            expr, datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC), f"{step:g}s"))

    def instant(self, expr: str, at: float, stats: QueryStats | None = None) -> list[dict]:
        """An instant query's result vector at `at` (with retries)."""
        return self._with_retries(lambda: self._call(lambda: self._client.custom_query(
            expr, params={"time": f"{at:.3f}"})), stats if stats is not None else QueryStats())

    def instant_value(self, expr: str, at: float, stats: QueryStats | None = None) -> float | None:
        """The value of an instant query that returns one sample (an aggregation); None when it returns none."""
        result = self.instant(expr, at, stats)
        if not result:
            return None
        try:
            return float(result[0]["value"][1])
        except (KeyError, IndexError, TypeError, ValueError) as err:
            raise SourceError(f"malformed instant result: {type(err).__name__}: {err}"[:300], True) from None

    def _series(self, selector: str, start: float, end: float) -> list[dict]:
        """Label sets of the series `selector` matches in start..end (/api/v1/series: the index, no samples)."""
        return self._call(lambda: self._client.get_series(
            datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC),
            params={"match[]": selector}))

    def _call(self, request: Callable[[], object]) -> list:
        self._client.headers = self._headers()
        try:
            result = request()
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
        if not isinstance(result, list):
            raise SourceError("malformed response: result is not a list", True)
        return result

    def _with_retries(self, request: Callable[[], list], stats: QueryStats) -> list:
        delay = self.cfg.backoff
        for attempt in range(self.cfg.retries + 1):
            with stats.lock:
                stats.requests += 1
            try:
                return request()
            except SourceError as err:
                with stats.lock:
                    stats.errors.append(str(err))
                if not err.unreachable or attempt == self.cfg.retries:
                    raise
                log.warning("query failed (attempt %d/%d), retrying in %.1fs: %s",
                            attempt + 1, self.cfg.retries + 1, delay, err)
                with stats.lock:
                    stats.retries += 1
                self._sleep(delay)
                delay = min(delay * 2, self.cfg.max_backoff)
        raise AssertionError("unreachable")

    def query_range(self, expr: str, start: float, end: float, step: float, stats: QueryStats | None = None,
                    wanted: Callable[[dict[str, str]], bool] | None = None) -> SeriesBatch:
        """All series of expr on the grid start..end, in requests of about MAX_SAMPLES_PER_REQUEST samples.

        A plain selector's series are listed first (/api/v1/series over the range); when they hold
        more samples than one request should, they are read a group of series at a time over the
        whole range (each series' labels cross the wire and the JSON parser once, not once per time
        chunk); with `wanted` (a shard's test), only the groups of the series it wants are read
        (others that share a group's label values come along). Any other expression is read in time
        chunks of all its series that start at FIRST_CHUNK_POINTS and at most double while the series
        seen so far leave room, so a range whose series show up late cannot produce one huge response.
        """
        stats = stats if stats is not None else QueryStats()
        times = grid_times(start, end, step)
        if len(times) == 0:
            return SeriesBatch.empty()
        grid = _Grid(times, step)
        if step > self.cfg.lookback_delta and is_plain_selector(expr):
            return self._query_sparse(expr, times, step, stats, wanted, grid)

        def read(selector: str, chunk: np.ndarray) -> None:
            grid.add(self._with_retries(lambda: self._request(selector, chunk[0], chunk[-1], step), stats))

        if len(times) > FIRST_CHUNK_POINTS and is_plain_selector(expr):
            listed = self._list(expr, times[0], times[-1], stats)
            own = listed if wanted is None else [labels for labels in listed if wanted(labels)]
            if own:
                reads, rows = self._plan_reads(expr, own, len(listed), times)
                grid.reserve(rows)  # one allocation, not a copy per group
                self._read_concurrently(reads, step, grid, stats)
            return grid.batch()
        first, length = 0, FIRST_CHUNK_POINTS
        while first < len(times):
            read(expr, times[first:first + length])
            first += length
            room = MAX_SAMPLES_PER_REQUEST // max(len(grid.labels), 1)
            length = int(min(CHUNK_POINTS, max(1, room), 2 * length))
        return grid.batch()

    def _list(self, selector: str, start: float, end: float, stats: QueryStats) -> list[dict[str, str]]:
        """The label sets /api/v1/series lists for a plain selector over start..end (counted in stats)."""
        listed = [_parse_labels(labels) for labels in self._with_retries(lambda: self._series(selector, start, end),
                                                                          stats)]
        stats.listed = len(listed)
        return listed

    def _plan_reads(self, selector: str, own: list[dict[str, str]], listed: int, times: np.ndarray,
                    template: str = "{}", name: str | None = None) -> tuple[list[Read], int]:
        """The range requests that read `own` (of the `listed` series) of a plain selector, and the rows expected.

        One group of all series, or, when they hold more samples than one request should or only some
        are wanted, groups of series narrowed by a label matcher (series_groups); each group in time
        chunks of about MAX_SAMPLES_PER_REQUEST samples. `template` wraps each group's selector (e.g.
        in last_over_time); `name` is the metric name to put back on the results (None: keep theirs).
        """
        groups = [(selector, listed)]
        if len(own) < listed or len(own) * len(times) > MAX_SAMPLES_PER_REQUEST:
            groups = series_groups(selector, own, max(1, MAX_SAMPLES_PER_REQUEST // len(times))) or groups
            log.info("reading %d of %d series x %d points of %s in %d groups", len(own), listed, len(times),
                     selector, len(groups))
        reads: list[Read] = []
        for group, count in groups:
            length = int(min(CHUNK_POINTS, max(1, MAX_SAMPLES_PER_REQUEST // max(count, 1))))
            reads += [(template.format(group), times[first:first + length], name)
                      for first in range(0, len(times), length)]
        return reads, sum(count for _, count in groups)

    def _query_sparse(self, expr: str, times: np.ndarray, step: float, stats: QueryStats,
                      wanted: Callable[[dict[str, str]], bool] | None, grid: _Grid) -> SeriesBatch:
        """A plain selector whose step is longer than the lookback, read as last_over_time(sel[step]).

        Every grid point then sees the latest sample of the step before it, however sparse the
        series. last_over_time drops the metric name, which is put back on each result: a short
        read of a selector that names its metric is one request (as a short read is in
        query_range); otherwise the series are listed first and read one metric name at a time,
        in groups of series as query_range reads them.
        """
        stats.rewritten = True
        template = f"last_over_time({{}}[{step:g}s])"
        match = PLAIN_SELECTOR.match(expr)
        metric = match.group("name") if match else None
        if metric and len(times) <= FIRST_CHUNK_POINTS:
            self._read_concurrently([(template.format(expr), times, metric)], step, grid, stats)
            return grid.batch()
        listed = self._list(expr, times[0] - step, times[-1], stats)
        by_name: dict[str, list[dict[str, str]]] = {}
        for labels in listed:
            by_name.setdefault(labels.get("__name__", ""), []).append(labels)
        reads: list[Read] = []
        rows = 0
        for name, series in by_name.items():
            own = series if wanted is None else [labels for labels in series if wanted(labels)]
            if own:
                planned, expected = self._plan_reads(with_name(expr, name), own, len(series), times, template,
                                                     name or None)
                reads, rows = reads + planned, rows + expected
        if reads:
            grid.reserve(rows)
            self._read_concurrently(reads, step, grid, stats)
        return grid.batch()

    def _read_concurrently(self, reads: list[Read], step: float, grid: _Grid,
                           stats: QueryStats) -> None:
        """Range requests with up to `concurrent_reads` in flight, merged into `grid` in order.

        Each read is (query, grid times, the metric name to put back on its series or None). While
        this process decodes one response, Prometheus evaluates and encodes the next.
        """
        def fetch(selector: str, chunk: np.ndarray, name: str | None) -> tuple[list[dict], str | None]:
            return self._with_retries(lambda: self._request(selector, chunk[0], chunk[-1], step), stats), name

        done, report_every = 0, max(10, len(reads) // 10)

        def merge(future) -> None:
            nonlocal done
            result, name = future.result()
            grid.add(result, name)
            done += 1
            if done % report_every == 0 and done < len(reads):  # a long cold start shows its progress
                log.info("history read: %d of %d requests, %d series so far", done, len(reads), len(grid.labels))

        with ThreadPoolExecutor(max_workers=self.cfg.concurrent_reads, thread_name_prefix="history-read") as pool:
            in_flight: deque = deque()
            try:
                for selector, chunk, name in reads:
                    in_flight.append(pool.submit(fetch, selector, chunk, name))
                    if len(in_flight) >= self.cfg.concurrent_reads:
                        merge(in_flight.popleft())
                while in_flight:
                    merge(in_flight.popleft())
            finally:
                for future in in_flight:  # after a failure: nothing more is sent
                    future.cancel()


class _Grid:
    """Responses of one range read merged into a (series x times) array, a row per label set."""

    def __init__(self, times: np.ndarray, step: float):
        self.times, self.step = times, step
        self.rows: dict[tuple, int] = {}
        self.labels: list[dict[str, str]] = []
        self.values = np.full((0, len(times)), np.nan)

    def reserve(self, rows: int) -> None:
        if rows > len(self.values):
            self.values = np.concatenate([self.values, np.full((rows - len(self.values), len(self.times)), np.nan)])

    def add(self, result: list[dict], name: str | None = None) -> None:
        parsed = [_parse_series(series) for series in result]
        if name is not None:  # a function dropped the metric name: put it back (first, as Prometheus orders it)
            parsed = [({"__name__": name, **metric}, samples) for metric, samples in parsed]
        for metric, _ in parsed:
            key = label_key(metric)
            if key not in self.rows:
                self.rows[key] = len(self.labels)
                self.labels.append(metric)
        if len(self.labels) > len(self.values):
            self.values = _grown(self.values, len(self.labels))
        for metric, samples in parsed:
            if not len(samples):
                continue
            index = np.rint((samples[:, 0] - self.times[0]) / self.step).astype(np.int64)
            inside = (index >= 0) & (index < len(self.times))
            self.values[self.rows[label_key(metric)], index[inside]] = samples[inside, 1]

    def batch(self) -> SeriesBatch:
        values = self.values if len(self.values) == len(self.labels) else self.values[:len(self.labels)]
        return SeriesBatch(self.labels, self.times, values)


_MATCHER = r"""\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=)\s*(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*"""
PLAIN_SELECTOR = re.compile(rf"^\s*(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)?\s*"
                            rf"(?:\{{(?P<matchers>(?:{_MATCHER}(?:,{_MATCHER})*,?)?\s*)\}})?\s*$", re.S)
MAX_GROUP_REGEX_CHARS = 30_000  # the group's matcher travels in the request URL


def is_plain_selector(expr: str) -> bool:
    """`name`, `name{...}` or `{...}` with at least one matcher: what /api/v1/series accepts as match[]."""
    match = PLAIN_SELECTOR.match(expr)
    return match is not None and bool(match.group("name") or (match.group("matchers") or "").strip())


def with_name(expr: str, name: str) -> str:
    """A plain selector narrowed to one metric name (`{job="x"}` -> `{job="x", __name__="up"}`).

    A selector that names its metric, or an empty name, leaves it as it is.
    """
    match = PLAIN_SELECTOR.match(expr)
    if match is None or not name or match.group("name"):
        return expr
    matchers = (match.group("matchers") or "").strip().rstrip(",")
    return f"{{{matchers + ', ' if matchers else ''}__name__={json.dumps(name)}}}"


def series_groups(expr: str, labels: list[dict[str, str]], per_group: int) -> list[tuple[str, int]] | None:
    """`expr` narrowed to groups of about `per_group` of these series, or None if it cannot be.

    Only a plain selector (`name`, `name{...}`, `{...}`) can be narrowed: a matcher is added on the
    label with the most distinct values, matching a group of its values exactly. Series that share a
    value share a group; series without the label match the empty value. Returns (expr, series).
    """
    match = PLAIN_SELECTOR.match(expr)
    if match is None or not is_plain_selector(expr):
        return None
    names = sorted({name for series in labels for name in series if name != "__name__"})
    if not names:
        return None
    distinct = {name: len({series.get(name, "") for series in labels}) for name in names}
    label = min(names, key=lambda name: (-distinct[name], name))
    if distinct[label] < 2:
        return None
    counts: dict[str, int] = {}
    for series in labels:
        value = series.get(label, "")
        counts[value] = counts.get(value, 0) + 1
    groups: list[tuple[list[str], int]] = []
    values: list[str] = []
    series_in_group, chars = 0, 0
    for value in sorted(counts):
        escaped = re.escape(value)
        if values and (series_in_group + counts[value] > per_group or chars + len(escaped) > MAX_GROUP_REGEX_CHARS):
            groups.append((values, series_in_group))
            values, series_in_group, chars = [], 0, 0
        values.append(escaped)
        series_in_group += counts[value]
        chars += len(escaped) + 1
    groups.append((values, series_in_group))
    name, matchers = match.group("name") or "", (match.group("matchers") or "").strip().rstrip(",")
    narrowed = []
    for group_values, count in groups:
        matcher = f"{label}=~{json.dumps('|'.join(group_values), ensure_ascii=False)}"
        narrowed.append((f"{name}{{{matchers + ', ' if matchers else ''}{matcher}}}", count))
    return narrowed


def _grown(values: np.ndarray, rows: int) -> np.ndarray:
    """A copy of `values` with room for at least `rows` rows (a quarter more, to grow rarely)."""
    grown = np.full((max(rows, len(values) + len(values) // 4 + 16), values.shape[1]), np.nan)
    grown[:len(values)] = values
    return grown


def _parse_labels(labels: dict) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in labels.items()}
    except AttributeError as err:
        raise SourceError(f"malformed series in response: {type(err).__name__}: {err}"[:300], True) from None


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
