"""Offline replays: score-csv (files) and backtest (history from Prometheus).

Both drive `QueryState.step()` one timestamp at a time, exactly as the live
loop does, so what they report is what the exporter would have published.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from aiops_common.durations import format_duration

from .config import QueryConfig
from .models.base import Band
from .query_state import QueryState
from .series import SeriesBatch, label_key

log = logging.getLogger(__name__)


def default_query(model: str = "seasonal", step: float = 60.0) -> QueryConfig:
    return QueryConfig(name="csv", expr="csv", model=model, step=step)


def read_csv_series(path: Path, strict: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """timestamp,value CSV -> (unix seconds, values). Timestamps: ISO dates or unix seconds.

    Real files are imperfect, and a row is never lost: a row whose timestamp goes back (or does
    not parse) is scored as the next sample in file order (its time is the latest seen so far,
    as for a repeated timestamp), and a value that does not parse is NaN (an empty score). Each
    kind is logged once with the first such row (its line in the file) and the count. With
    `strict`, a timestamp that goes back or does not parse is refused instead.
    """
    frame = pd.read_csv(path)
    missing = {"timestamp", "value"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))} (need timestamp,value)")
    stamps = frame["timestamp"]
    if pd.api.types.is_numeric_dtype(stamps):
        times = stamps.to_numpy(dtype=float)
    else:
        parsed = pd.to_datetime(stamps, utc=True, errors="coerce", format="mixed")
        times = (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=float)
    values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float)
    _report(path, "value is missing or does not parse (empty score)", ~np.isfinite(values))
    unparsed = ~np.isfinite(times)
    running = np.fmax.accumulate(np.where(unparsed, -np.inf, times)) if len(times) else times
    backward = np.zeros(len(times), dtype=bool)
    backward[1:] = np.isfinite(times[1:]) & (times[1:] < running[:-1])
    if strict and (unparsed.any() or backward.any()):
        row = int(np.flatnonzero(unparsed | backward)[0])
        raise ValueError(f"{path}: line {row + 2}: timestamp {stamps.iloc[row]!r} "
                         f"{'does not parse' if unparsed[row] else 'goes back'} (--strict)")
    _report(path, "timestamp goes back (scored as the next sample in file order)", backward)
    _report(path, "timestamp does not parse (scored as the next sample in file order)", unparsed)
    if unparsed.all():
        raise ValueError(f"{path}: no timestamp parses")
    times = np.where(np.isfinite(running), running, np.nanmin(np.where(unparsed, np.nan, times)))
    return times, values


def _report(path: Path, what: str, rows: np.ndarray) -> None:
    if rows.any():
        first = int(np.flatnonzero(rows)[0])
        log.warning("%s: %d row(s) where the %s; the first is line %d", path, int(rows.sum()), what, first + 2)


def spacing(times: np.ndarray) -> float:
    steps = np.diff(times)
    steps = steps[steps > 0]
    return float(np.median(steps)) if len(steps) else 60.0


@dataclass
class Replay:
    """Scores and bands a replay produced, one column per timestamp."""

    times: np.ndarray
    values: np.ndarray  # (S, T)
    scores: np.ndarray  # (S, T), NaN where not scored
    bands: Band  # each (S, T)
    labels: list[dict[str, str]] = field(default_factory=list)


def replay(batch: SeriesBatch, query: QueryConfig, start_index: int = 0, executor=None) -> Replay:
    """Stream batch's columns from start_index through QueryState; earlier columns serve only as history."""
    n, width = len(batch.labels), len(batch.times)
    scores = np.full((n, width), np.nan)
    bands = Band(*(np.full((n, width), np.nan) for _ in range(3)))
    state: QueryState | None = None
    col = start_index

    def observe(t: float, y: np.ndarray, band: Band, score: np.ndarray) -> None:
        assert state is not None
        rows = np.array([batch_row[label_key(labels)] for labels in state.labels], dtype=np.int64)
        scores[rows, col] = score
        for name in ("yhat", "lower", "upper"):
            getattr(bands, name)[rows, col] = getattr(band, name)

    batch_row = {label_key(labels): i for i, labels in enumerate(batch.labels)}
    state = QueryState(query, executor, ttl=max(query.history, 600.0), observer=observe)

    def history(begin: float, end: float) -> SeriesBatch:
        mask = (batch.times >= begin) & (batch.times <= end)
        return SeriesBatch(batch.labels, batch.times[mask], batch.values[:, mask])

    for col in range(start_index, width):  # observe() writes into column `col`
        recent = SeriesBatch(batch.labels, batch.times[col:col + 1], batch.values[:, col:col + 1])
        state.step(float(batch.times[col]), recent, history)
    return Replay(batch.times, batch.values, scores, bands, batch.labels)


def score_csv(inputs: list[Path], output_dir: Path, query: QueryConfig | None, model: str | None,
              strict: bool = False) -> list[Path]:
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in inputs:
        times, values = read_csv_series(path, strict)
        if mostly_out_of_order(times):
            log.warning("%s: most timestamps repeat or go back: sort the file by timestamp (rows are scored in file "
                        "order, each at the latest time seen so far)", path.name)
        base = query if query is not None else default_query(model or "seasonal")
        updates: dict = {"step": spacing(times)}
        if model is not None and model != base.model:
            updates.update(model=model, params=None)
        q = QueryConfig.model_validate({**base.model_dump(exclude_unset=True), **updates})  # unset: step-dependent defaults
        batch = SeriesBatch([{"__name__": path.stem}], times, values[None, :])
        result = replay(batch, q)
        out = output_dir / path.name
        with out.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["timestamp", "value", "anomaly_score"])
            raw = pd.read_csv(path, usecols=["timestamp"])["timestamp"].astype(str).tolist()
            for stamp, value, score in zip(raw, values, result.scores[0]):
                writer.writerow([stamp, _fmt(value), _fmt(score)])
        log.info("%s: %d rows scored, %d above 1 -> %s", path.name, int(np.isfinite(result.scores).sum()),
                 int((result.scores > 1).sum()), out)
        if not np.isfinite(result.scores).any():
            log.warning("%s: no row was scored: %s", path.name, why_unscored(times, values, q))
        written.append(out)
    return written


def why_unscored(times: np.ndarray, values: np.ndarray, query: QueryConfig) -> str:
    """Why a file got no score at all, in the words a user can act on."""
    if not np.isfinite(values).any():
        return "no value parses as a number"
    valued = times[np.isfinite(values)]
    span = float(valued.max() - valued.min())
    needed = query.effective_min_history
    if span >= needed:
        return f"the model could not be fitted (see the warnings above); the rows span {format_duration(span)}"
    reason = (f"the rows span {format_duration(span)} of time, less than the {format_duration(needed)} of history "
              f"the model needs before it scores (min_history; set it through --config.file and --query)")
    if mostly_out_of_order(times):
        return f"most timestamps repeat or go back: sort the file by timestamp (rows are scored in file order); {reason}"
    return reason


def mostly_out_of_order(times: np.ndarray) -> bool:
    """More than half of the rows repeat their predecessor's time or go back (read_csv_series clamps the latter)."""
    return len(times) > 1 and bool(np.mean(np.diff(times) <= 0) > 0.5)


def _fmt(value: float) -> str:
    return "" if not np.isfinite(value) else repr(float(value))


def summarize(result: Replay) -> list[dict]:
    rows = []
    for i, labels in enumerate(result.labels):
        scored = np.isfinite(result.scores[i])
        inside = (result.values[i] >= result.bands.lower[i]) & (result.values[i] <= result.bands.upper[i]) & scored
        rows.append({
            "series": _series_name(labels),
            "scored": int(scored.sum()),
            "anomalies": int((result.scores[i] > 1).sum()),
            "max_score": float(np.nanmax(result.scores[i])) if scored.any() else float("nan"),
            "coverage": float(inside.sum() / scored.sum()) if scored.any() else float("nan"),
        })
    return rows


def _series_name(labels: dict[str, str]) -> str:
    name = labels.get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{rest}}}"


def plot(result: Replay, start_index: int, path: Path, max_series: int = 4) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = np.argsort([-np.nansum(result.scores[i] > 1) for i in range(len(result.labels))])[:max_series]
    fig, axes = plt.subplots(len(order), 1, figsize=(12, 3 * max(len(order), 1)), squeeze=False)
    when = pd.to_datetime(result.times[start_index:], unit="s")
    for ax, i in zip(axes[:, 0], order):
        sl = slice(start_index, None)
        ax.fill_between(when, result.bands.lower[i, sl], result.bands.upper[i, sl], color="tab:blue", alpha=0.2,
                        label="band")
        ax.plot(when, result.bands.yhat[i, sl], color="tab:blue", linewidth=1, label="yhat")
        ax.plot(when, result.values[i, sl], color="black", linewidth=0.8, label="actual")
        hot = result.scores[i, sl] > 1
        ax.scatter(when[hot], result.values[i, sl][hot], color="tab:red", s=12, label="score > 1", zorder=3)
        ax.set_title(_series_name(result.labels[i]), fontsize=9)
        ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
