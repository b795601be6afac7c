"""Where fits run: worker processes with a per-task timeout (a hung fit is killed)."""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Callable, Sequence

log = logging.getLogger(__name__)


@dataclass
class TaskFailure:
    reason: str  # "timeout" | "error"
    detail: str


class LocalFitExecutor:
    """A pool of worker processes (pebble); each task has its own timeout."""

    def __init__(self, workers: int = 2):
        self.workers = workers
        self._pool = None

    def _get_pool(self):
        if self._pool is None:
            from pebble import ProcessPool

            self._pool = ProcessPool(max_workers=self.workers, context=multiprocessing.get_context("spawn"))
        return self._pool

    def map(self, fn: Callable, tasks: Sequence[tuple], timeout: float) -> list[Any | TaskFailure]:
        pool = self._get_pool()
        futures = [pool.schedule(fn, args=task, timeout=timeout) for task in tasks]
        results: list[Any | TaskFailure] = []
        for future in futures:
            try:
                results.append(future.result())
            except FutureTimeout:
                results.append(TaskFailure("timeout", f"fit exceeded {timeout:g}s and was killed"))
            except Exception as err:  # a failed fit is a counted result, never a crash
                results.append(TaskFailure("error", f"{type(err).__name__}: {err}"))
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool.join()
            self._pool = None


class InlineFitExecutor:
    """Runs tasks in this process (no timeout): for tests and one-off scoring."""

    def map(self, fn: Callable, tasks: Sequence[tuple], timeout: float) -> list[Any | TaskFailure]:
        results: list[Any | TaskFailure] = []
        for task in tasks:
            try:
                results.append(fn(*task))
            except Exception as err:
                results.append(TaskFailure("error", f"{type(err).__name__}: {err}"))
        return results

    def close(self) -> None:
        pass
