"""The modelled series of a query: which row each series has, its labels, and the per-row arrays.

Rows line up with the fitted model's rows. A retrain replaces the table (series that stay
keep their last score and rendered labels); new series are appended; expired ones taken out.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .labels import output_labels, source_labels
from .series import LabelKey, label_key

Render = Callable[[dict[str, str]], str]


class RowTable:
    def __init__(self) -> None:
        self.rows: dict[LabelKey, int] = {}
        self.labels: list[dict[str, str]] = []
        self.label_text: list[str] = []  # each row's published labels, rendered once (labels.label_text)
        self.ok = np.zeros(0, dtype=bool)  # the fit succeeded
        self.last_seen = np.zeros(0)  # time of the row's newest sample
        self.score = np.zeros(0)  # latest score (NaN: none yet)
        self._alert_rows: dict[tuple, int] = {}  # feedback alert key -> row (-1: not modelled), reset on changes

    def __len__(self) -> int:
        return len(self.labels)

    def row(self, key: LabelKey) -> int | None:
        return self.rows.get(key)

    def replace(self, labels: list[dict[str, str]], ok: np.ndarray, last_seen: np.ndarray, render: Render) -> None:
        """A retrain: these rows replace all; a series modelled before keeps its last score and label text."""
        score = np.full(len(labels), np.nan)
        text = []
        for row, series in enumerate(labels):
            old = self.rows.get(label_key(series))
            if old is not None:
                score[row] = self.score[old]
            text.append(self.label_text[old] if old is not None else render(series))
        self.rows = {label_key(series): row for row, series in enumerate(labels)}
        self.labels, self.label_text = list(labels), text
        self.ok, self.last_seen, self.score = ok, last_seen, score
        self._alert_rows = {}

    def append(self, labels: list[dict[str, str]], ok: np.ndarray, last_seen: np.ndarray, render: Render) -> None:
        for series in labels:
            self.rows[label_key(series)] = len(self.labels)
            self.labels.append(series)
            self.label_text.append(render(series))
        self.ok = np.concatenate([self.ok, ok])
        self.last_seen = np.concatenate([self.last_seen, last_seen])
        self.score = np.concatenate([self.score, np.full(len(labels), np.nan)])
        self._alert_rows = {k: v for k, v in self._alert_rows.items() if v >= 0}

    def take(self, keep: np.ndarray) -> None:
        """Keep only these rows, in this order."""
        self.ok, self.last_seen, self.score = self.ok[keep], self.last_seen[keep], self.score[keep]
        self.labels = [self.labels[i] for i in keep]
        self.label_text = [self.label_text[i] for i in keep]
        self.rows = {label_key(series): i for i, series in enumerate(self.labels)}
        self._alert_rows = {}

    def row_for_alert(self, key: tuple, query: str, model: str) -> int:
        """Row of the series an anomaly alert came from (feedback.alert_key), or -1 if it is not modelled here."""
        row = self._alert_rows.get(key)
        if row is None:
            alert_labels = dict(key[1])
            row = self.rows.get(label_key(source_labels(alert_labels)), -1)
            if row < 0:  # the alert may carry more labels (Prometheus external labels): match by subset
                items = alert_labels.items()
                row = next((i for i, series in enumerate(self.labels)
                            if output_labels(series, query, model).items() <= items), -1)
            self._alert_rows[key] = row
        return row
