"""Typed configuration from YAML: the strict base model, loading, and errors that name the key."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError


class ConfigError(ValueError):
    """A configuration problem; the message names the key and the reason."""


class StrictModel(BaseModel):
    """A config section: unknown keys are errors, values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Model = TypeVar("Model", bound=BaseModel)

_HTTP_URL = re.compile(r"^https?://[^/\s]+")


def http_url(url: str, example: str = "http://127.0.0.1:9090") -> str:
    """A validator body: an http(s) URL without its trailing slash."""
    if not _HTTP_URL.match(url):
        raise ValueError(f"must be an http:// or https:// URL, e.g. {example}")
    return url.rstrip("/")


def one_method(model: BaseModel, names: tuple[str, ...]) -> None:
    """A validator body: at most one of `names` is set (authentication methods)."""
    given = [name for name in names if getattr(model, name) is not None]
    if len(given) > 1:
        raise ValueError(f"choose one authentication method, got {', '.join(given)}")


def _format_loc(loc: tuple) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part).startswith(("function-", "constrained-", "lax-")) or "[" in str(part):
            continue
        else:
            path += ("." if path else "") + str(part)
    return path


_SUBKEY = re.compile(r"^([A-Za-z_][\w.\[\]]*): (.*)$", re.S)


def format_errors(err: ValidationError) -> list[str]:
    """One 'key.path: reason' line per problem pydantic found."""
    messages = []
    for item in err.errors():
        key = _format_loc(item["loc"])
        msg = "unknown key" if item["type"] == "extra_forbidden" else item["msg"].removeprefix("Value error, ")
        nested = _SUBKEY.match(msg) if item["type"] == "value_error" else None
        if nested:  # validators report "subkey: reason" for keys below their own
            key = f"{key}.{nested.group(1)}" if key else nested.group(1)
            msg = nested.group(2)
        messages.append(f"{key or '<root>'}: {msg}")
    return messages


def validate(model: type[Model], data: Any, source: str) -> Model:
    """`model` from parsed YAML; every problem becomes one line of a ConfigError naming its key."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(f"{source}: " + "\n  ".join(format_errors(err))) from None


_ENV_REF = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(data: Any, environ: dict[str, str], key: str = "") -> Any:
    """Replace ${NAME} in every string value by the environment variable NAME ($$ is a literal $).

    Secrets can then come from the environment (`bearer_token: ${AIOPS_TOKEN}`) instead of the
    file; a reference to an unset variable is an error naming the key, never an empty secret.
    """
    if isinstance(data, dict):
        return {k: expand_env(v, environ, f"{key}.{k}" if key else str(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [expand_env(v, environ, f"{key}[{i}]") for i, v in enumerate(data)]
    if not isinstance(data, str) or "$" not in data:
        return data

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        if name not in environ:
            raise ConfigError(f"{key or '<root>'}: environment variable {name} is not set")
        return environ[name]

    return _ENV_REF.sub(replace, data)


def load_yaml(path: str | Path, environ: dict[str, str] | None = None) -> tuple[Path, Any]:
    """Read and parse a YAML file, expanding ${ENV} references; problems become a ConfigError naming the file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: invalid YAML: {err}") from None
    try:
        return path, expand_env(data, dict(os.environ) if environ is None else environ)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
