"""Synthetic seasonal series and their OpenMetrics text for promtool backfill."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Spec:
    metric: str
    labels: dict[str, str]
    base: float = 50.0
    daily_amplitude: float = 20.0
    weekly_amplitude: float = 5.0
    noise: float = 1.0
    noise_dist: str = "normal"  # or "uniform" (bounded: +-noise)
    seed: int = 0


def seasonal_values(spec: Spec, times: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    rng = rng if rng is not None else np.random.default_rng(spec.seed)
    day = 2 * np.pi * (times % 86400) / 86400
    week = 2 * np.pi * (times % 604800) / 604800
    return (spec.base + spec.daily_amplitude * np.sin(day - np.pi / 2) + spec.weekly_amplitude * np.sin(week)
            + _noise(rng, spec, len(times)))


def _noise(rng: np.random.Generator, spec: Spec, n: int) -> np.ndarray:
    if spec.noise_dist == "uniform":
        return rng.uniform(-spec.noise, spec.noise, n)
    return rng.normal(0, spec.noise, n)


def _label_text(labels: dict[str, str]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))


def write_openmetrics(path: Path, series: Iterable[tuple[Spec, np.ndarray, np.ndarray]]) -> None:
    """series: (spec, times, values); samples of a metric family are written together."""
    by_metric: dict[str, list] = {}
    for spec, times, values in series:
        by_metric.setdefault(spec.metric, []).append((spec, times, values))
    with path.open("w") as out:
        for metric, items in by_metric.items():
            out.write(f"# HELP {metric} Synthetic seasonal series.\n# TYPE {metric} gauge\n")
            for spec, times, values in items:
                prefix = f"{metric}{{{_label_text(spec.labels)}}}"
                out.writelines(f"{prefix} {v:.6f} {int(t)}\n" for t, v in zip(times, values) if np.isfinite(v))
        out.write("# EOF\n")
