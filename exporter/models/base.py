"""The model interface: fit a batch of series, predict bands, update online.

A model works on a *batch*: all series of one query, as rows of arrays.
Keeping state as arrays (not one Python object per series) is what lets a
query with 100k series update in milliseconds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import ClassVar, Generic, Self, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from .tasks import FitExecutor


class ModelParams(BaseModel):
    """Model-specific parameters (the `params:` key of a query)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Band:
    """Expected value and band for each series (arrays of one shape)."""

    yhat: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


@dataclass(frozen=True)
class FitContext:
    """What a fit may use besides the data."""

    interval_width: float
    step: float
    forecast_span: float  # how far past the end of history predictions will be asked for
    executor: FitExecutor | None = None  # for models that fit in worker processes (models.tasks)


@dataclass
class FitResult:
    model: FittedModel
    ok: np.ndarray  # bool per row: False where the fit failed (the row predicts NaN)
    failures: dict[str, int]  # reason -> count of rows that failed


def z_for_width(interval_width: float) -> float:
    """Half-width of a central normal interval of the given coverage, in sigmas."""
    return NormalDist().inv_cdf(0.5 + interval_width / 2)


class FittedModel(ABC):
    """State of a model fitted on a batch of series."""

    @property
    @abstractmethod
    def n_series(self) -> int: ...

    @abstractmethod
    def predict(self, t: float) -> Band:
        """Band for every series at unix time t."""

    def update(self, t: float, y: np.ndarray) -> None:  # noqa: B027 - optional
        """Learn online from the samples y (NaN = no sample) observed at time t."""

    def extra_score(self, direction: str) -> np.ndarray | None:
        """A score per series from context beyond the latest sample (e.g. a burst of deviations), or None.

        Read after update(); the published score is the larger of this and the band score.
        """
        return None

    def profiles(self) -> dict[str, int]:
        """How many series use each seasonal profile: "none", or the profile's period ("1d", "1w"); {} for a
        model without a choice of profiles."""
        return {}

    def carry(self) -> dict[str, np.ndarray]:
        """Per-row state that should outlive a refit (see inherit()); by row, as this model holds them."""
        return {}

    def inherit(self, carried: dict[str, np.ndarray], rows: np.ndarray) -> None:  # noqa: B027 - optional
        """Take state carried from the model this one replaces: rows[i] is row i's row there, -1 for none."""

    @abstractmethod
    def take(self, rows: np.ndarray) -> FittedModel:
        """A model holding only the given rows, in that order."""

    @classmethod
    @abstractmethod
    def concat(cls, parts: Sequence[Self]) -> Self:
        """One model holding the rows of all parts, in order.

        The parts may be consumed (concat_arrays): do not use them after.
        """


def concat_arrays(parts: Sequence[FittedModel], names: Sequence[str]) -> list[np.ndarray]:
    """Each named array of all parts concatenated; each part's array is released once copied.

    So a concat holds the parts plus one array of the result at a time, not the parts and the
    whole result (at 100,000 series the seasonal arrays are about 460 MB).
    """
    arrays = []
    for name in names:
        arrays.append(np.concatenate([getattr(part, name) for part in parts]))
        for part in parts:
            setattr(part, name, None)
    return arrays


P = TypeVar("P", bound=ModelParams)


class ModelSpec(ABC, Generic[P]):
    """A model family: its name, parameters (of type P) and fit function."""

    name: ClassVar[str]
    params_class: ClassVar[type[ModelParams]]
    vectorised: ClassVar[bool] = True  # fit() handles any number of rows at once (split into chunks when large)

    def __init__(self, params: P):
        self.params = params

    @abstractmethod
    def fit(self, times: np.ndarray, values: np.ndarray, ctx: FitContext) -> FitResult:
        """Fit every row of values (shape series x times, NaN = missing)."""

    def unusable(self, history: float) -> list[str]:
        """Sentences naming parts of this model that a `history` (seconds) this short can never use, each with
        the setting that would let it; [] when every part can be used."""
        return []


ModelFactory = Callable[[ModelParams], "ModelSpec[ModelParams]"]
