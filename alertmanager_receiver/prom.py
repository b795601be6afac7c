"""Reading the Prometheus the receiver is configured with (prometheus.url): instant and range queries.

Used by log evidence, topology discovery and metric evidence. Every failure (unreachable, HTTP error,
bad PromQL, malformed answer) becomes a PrometheusError with the reason; nothing is retried here:
callers keep their last good state and try again on their own schedule.
"""

from __future__ import annotations

from datetime import UTC, datetime

import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from aiops_common.auth import bearer_headers

from .config import PrometheusConfig


class PrometheusError(Exception):
    """A query failed; the message says why."""


class PrometheusReader:
    def __init__(self, cfg: PrometheusConfig):
        self.cfg = cfg
        self._client = PrometheusConnect(url=cfg.url, disable_ssl=False, timeout=cfg.timeout,
                                         retry=Retry(total=0, raise_on_status=False))

    def _call(self, request) -> list[dict]:
        self._client.headers = bearer_headers(None, self.cfg.bearer_token_file)  # re-read: tokens rotate
        try:
            result = request()
        except PrometheusApiClientException as err:
            raise PrometheusError(str(err)[:300]) from None
        except requests.RequestException as err:
            raise PrometheusError(f"{type(err).__name__}: {err}"[:300]) from None
        except (ValueError, KeyError, TypeError) as err:
            raise PrometheusError(f"malformed answer: {type(err).__name__}: {err}"[:300]) from None
        if not isinstance(result, list):
            raise PrometheusError("malformed answer: the result is not a list")
        return result

    def instant(self, expr: str, at: float | None = None) -> list[dict]:
        """The instant vector of `expr` at `at` (default now): [{"metric": {...}, "value": [t, "v"]}]."""
        params = {"timeout": f"{self.cfg.timeout:g}s"}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return self._call(lambda: self._client.custom_query(expr, params=params))

    def range(self, expr: str, start: float, end: float, step: float) -> list[dict]:
        """The range vector of `expr`: [{"metric": {...}, "values": [[t, "v"], ...]}]."""
        return self._call(lambda: self._client.custom_query_range(
            expr, datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC), f"{step:g}s",
            params={"timeout": f"{self.cfg.timeout:g}s"}))
