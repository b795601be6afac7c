"""Fitting a query's rows: a vectorised model's large batch is split into chunks fitted in parallel."""

from __future__ import annotations

import logging

import numpy as np

from .config import QueryConfig
from .models import FitContext, ModelSpec, make_model
from .models.base import FitResult
from .models.tasks import FitExecutor, TaskFailure

log = logging.getLogger(__name__)


def fit_context(query: QueryConfig, executor: FitExecutor | None) -> FitContext:
    """What a fit of this query may use: predictions reach past the next retrain and the longest horizon."""
    longest = max(query.horizons, default=0.0)
    return FitContext(interval_width=query.interval_width, step=query.step,
                      forecast_span=query.retrain_every + longest + 2 * query.step, executor=executor)


def fit_query(query: QueryConfig, times: np.ndarray, values: np.ndarray, executor: FitExecutor | None = None,
              chunk_series: int = 1000, chunk_timeout: float = 600.0) -> FitResult:
    """Fit rows of `values` with the query's model and settings (what a QueryState's fit runs)."""
    return fit_rows(make_model(query.model, query.params), times, values, fit_context(query, executor), executor,
                    chunk_series, chunk_timeout, query.name)


def fit_chunk(spec: ModelSpec, times: np.ndarray, values: np.ndarray, ctx: FitContext) -> FitResult:
    """One chunk of a vectorised fit (runs in a worker process or on a Dask worker)."""
    return spec.fit(times, values, ctx)


def fit_rows(spec: ModelSpec, times: np.ndarray, values: np.ndarray, ctx: FitContext,
             executor: FitExecutor | None, chunk_series: int = 1000, chunk_timeout: float = 600.0,
             name: str = "") -> FitResult:
    """Fit all rows of `values` (series x times).

    A vectorised model with more than `chunk_series` rows is fitted in chunks of that size: on the
    executor's workers when it has two or more, else one after the other here (bounded scratch
    memory). A chunk lost on the executor is fitted here rather than dropped. Models that are not
    vectorised (Prophet) spread their own per-series fits over `ctx.executor`.
    """
    if not spec.vectorised or len(values) <= chunk_series:
        return spec.fit(times, values, ctx)
    local_ctx = FitContext(ctx.interval_width, ctx.step, ctx.forecast_span, None)
    tasks = [(spec, times, values[i:i + chunk_series], local_ctx) for i in range(0, len(values), chunk_series)]
    if executor is None or executor.workers < 2:
        results: list = [fit_chunk(*task) for task in tasks]
    else:
        results = executor.map(fit_chunk, tasks, chunk_timeout)
    parts = []
    for task, result in zip(tasks, results):
        if isinstance(result, TaskFailure):
            log.warning("query %s: chunk fit failed on the executor (%s); fitting it in-process", name, result.detail)
            result = fit_chunk(*task)
        parts.append(result)
    failures: dict[str, int] = {}
    for part in parts:
        for reason, count in part.failures.items():
            failures[reason] = failures.get(reason, 0) + count
    return FitResult(type(parts[0].model).concat([p.model for p in parts]),
                     np.concatenate([p.ok for p in parts]), failures)
