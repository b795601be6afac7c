"""Where fits run: local worker processes (a hung fit is killed), or a Dask distributed cluster.

Every executor has `map(fn, tasks, timeout)` returning, per task, its result or a
TaskFailure, and `workers` (how many tasks it runs at once). `fn` and the task
arguments must be picklable module-level objects.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import ExecutorConfig

from .models.tasks import FitExecutor, InlineFitExecutor, TaskFailure

__all__ = ["DaskFitExecutor", "FitExecutor", "InlineFitExecutor", "LocalFitExecutor", "TaskFailure", "make_executor"]

log = logging.getLogger(__name__)


class LocalFitExecutor:
    """A pool of worker processes (pebble); each task has its own timeout."""

    def __init__(self, workers: int = 2):
        self.workers = workers
        self._pool: Any = None  # a pebble ProcessPool, started on first use

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


class DaskFitExecutor:
    """Sends tasks to a Dask distributed scheduler (`executor: {type: dask, address: tcp://...}`).

    A task past its timeout is cancelled and counted as `timeout`; Dask cannot kill a running
    thread, so the worker finishes it in the background (set worker memory and lifetime limits).
    """

    def __init__(self, address: str, connect_timeout: float = 30.0):
        try:
            from distributed import Client
        except ImportError:  # the optional extra is missing
            raise RuntimeError("executor type dask needs the 'distributed' package: "
                               "pip install 'aiops-prometheus[dask]'") from None
        self.client = Client(address, timeout=connect_timeout, set_as_default=False)
        log.info("fits go to the Dask scheduler at %s (%d worker threads)", address, self.workers)

    @property
    def workers(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def map(self, fn: Callable, tasks: Sequence[tuple], timeout: float) -> list[Any | TaskFailure]:
        if not tasks:
            return []
        futures = [self.client.submit(fn, *task, pure=False) for task in tasks]
        # every task gets its timeout once a worker thread is free for it
        budget = timeout * -(-len(tasks) // self.workers) + timeout
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline and any(f.status == "pending" for f in futures):
            time.sleep(0.05)
        results: list[Any | TaskFailure] = []
        for future in futures:
            if future.status == "finished":
                results.append(future.result())
            elif future.status == "error":
                err = future.exception()
                results.append(TaskFailure("error", f"{type(err).__name__}: {err}"))
            else:
                future.cancel()
                results.append(TaskFailure("timeout", f"fit exceeded {timeout:g}s on the Dask cluster and was cancelled"))
        return results

    def close(self) -> None:
        self.client.close()


def make_executor(cfg: ExecutorConfig, fit_workers: int) -> FitExecutor:
    """The executor an ExecutorConfig asks for."""
    if cfg.type == "dask":
        assert cfg.address is not None  # the config requires it for type dask
        return DaskFitExecutor(cfg.address)
    return LocalFitExecutor(fit_workers)
