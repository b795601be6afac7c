"""What one scrape publishes for a query: built by the refresh loop, read by /metrics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .models.base import Band


@dataclass(frozen=True)
class QuerySnapshot:
    """Immutable, swapped in whole after each cycle; a scrape never sees a half-updated query."""

    name: str
    model: str
    label_text: list[str]  # per row: its published labels rendered for the text format (labels.label_text)
    current: Band  # at snapshot time
    score: np.ndarray
    forecasts: dict[str, Band]  # horizon label -> band
    series: int
    last_fit: float | None
    coverage: float | None
    multiplier: np.ndarray | None = None  # feedback sensitivity per row (None: all 1)

    @classmethod
    def empty(cls, name: str, model: str, last_fit: float | None) -> QuerySnapshot:
        nothing = np.zeros(0)
        return cls(name, model, [], Band(nothing, nothing, nothing), nothing, {}, 0, last_fit, None)
