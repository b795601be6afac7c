"""Model registry: name -> ModelSpec class."""

from __future__ import annotations

from .base import Band, FitContext, FitResult, FittedModel, ModelParams, ModelSpec
from .prophet import ProphetSpec
from .seasonal import SeasonalSpec
from .zscore import ZScoreSpec

REGISTRY: dict[str, type[ModelSpec]] = {spec.name: spec for spec in (SeasonalSpec, ZScoreSpec, ProphetSpec)}


def params_class(name: str) -> type[ModelParams]:
    try:
        return REGISTRY[name].params_class
    except KeyError:
        raise KeyError(f"unknown model {name!r} (choose from: {', '.join(sorted(REGISTRY))})") from None


def make_model(name: str, params: ModelParams | None = None) -> ModelSpec:
    spec = REGISTRY[name]
    return spec(params if params is not None else spec.params_class())


__all__ = ["Band", "FitContext", "FitResult", "FittedModel", "ModelParams", "ModelSpec", "REGISTRY", "make_model", "params_class"]
