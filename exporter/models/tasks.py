"""What a model needs of an executor: `map(fn, tasks, timeout)` giving a result or a TaskFailure per task.

The executors themselves (worker processes, Dask) live in exporter/executor.py; models only see
this interface, and fall back to running tasks inline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass
class TaskFailure:
    reason: str  # "timeout" | "error"
    detail: str


class FitExecutor(Protocol):
    @property
    def workers(self) -> int: ...

    def map(self, fn: Callable, tasks: Sequence[tuple], timeout: float) -> list[Any | TaskFailure]: ...

    def close(self) -> None: ...


class InlineFitExecutor:
    """Runs tasks in this process (no timeout): for tests and one-off scoring."""

    workers = 1

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
