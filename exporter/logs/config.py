"""The `logs:` section of the exporter's YAML file (typed; errors name the key)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from aiops_common.config import ConfigError, StrictModel, format_errors, load_yaml
from aiops_common.durations import PositiveDuration

_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
RESERVED = {"source", "template_id", "template", "level"}

# A record's continuation lines: indented lines (stack frames), blank lines, "Caused by:", "... 12 more",
# a bare exception line right after the message (Tomcat, Log4j; Python's `ValueError: ...` after its
# traceback), Python's chained-exception lines, .NET's "--- End of ... stack trace ---", a Go panic's goroutine
# dump ("goroutine 1 [running]:", "main.main()", "created by ...") and a Rust panic's "stack backtrace:" and
# "note: run with `RUST_BACKTRACE=1` ...". "Traceback (most recent call last):" starts a record: an uncaught
# exception's traceback follows whatever line came before it, which it must not be counted as (except after a
# one-line error record: logger.exception()'s output, see mining.RecordAssembler).
DEFAULT_CONTINUATION = (r"^(\s|$|Caused by:|\.\.\. \d+ (more|common frames omitted)|--- End of "
                        r"|During handling of the above exception"
                        r"|The above exception was the direct cause|goroutine \d+ \[|created by |\[signal SIG"
                        r"|stack backtrace:$|note: .*RUST_BACKTRACE"
                        r"|[a-zA-Z_$][\w$]*(\.[\w$]+)*(Exception|Error|Interrupt|Exit)\b"
                        r"|[\w/.-]*\.[\w.*()]+\(.*\)$)")
# (logrus's text formatter on a terminal, as k3s and dockerd run in the foreground write it, cuts its levels to four
# letters before a bracket: `ERRO[0001] message`; only there are ERRO, DEBU, FATA, PANI and TRAC levels)
# (each of those folded into its full word's alternative: the search runs over every line without a level field, and
# five more alternatives tried at every word cost a sixth of it)
DEFAULT_LEVEL = (r"\b(TRAC(?:E|(?=\[))|DEBU(?:G|(?=\[))|INFO|NOTICE|WARN|WARNING|ERRO(?:R|(?=\[))|SEVERE|FATA(?:L|(?=\[))"
                 r"|CRITICAL|CRIT|PANI(?:C|(?=\[))|LOG|TRC|DBG|INF|WRN|ERR|FTL)\b")


def _regex(value: str | None, what: str) -> str | None:
    if value:
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f"not a valid regular expression ({err})") from None
    return value


class Masking(StrictModel):
    pattern: str
    mask_with: str = Field(pattern=r"^[A-Z_]+$")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        _regex(value, "pattern")
        return value


class LogSource(StrictModel):
    name: str
    paths: list[str] = Field(default_factory=list)
    stdin: bool = False
    start_at: Literal["end", "beginning"] = "end"
    labels: dict[str, str] = Field(default_factory=dict)
    continuation: str | None = DEFAULT_CONTINUATION
    level_pattern: str = DEFAULT_LEVEL
    format: str | None = None  # a preset name or a logparser-style pattern; None: detected from the first lines
    labels_from_fields: list[str] = Field(default_factory=list)

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        if value is not None:
            from .formats import resolve

            resolve(value)  # ValueError names the problem
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not re.match(r"^[a-zA-Z0-9_.:-]+$", name):
            raise ValueError("must hold only letters, digits, _ . : -")
        return name

    @field_validator("continuation", "level_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return _regex(value, "pattern")

    @field_validator("labels")
    @classmethod
    def _label_names(cls, labels: dict[str, str]) -> dict[str, str]:
        for name in labels:
            if not _LABEL.match(name) or name.startswith("__"):
                raise ValueError(f"{name!r} is not a valid Prometheus label name")
            if name in RESERVED:
                raise ValueError(f"{name!r} is set by the log follower itself")
        return labels

    @model_validator(mode="after")
    def _one_input(self) -> LogSource:
        if bool(self.paths) == self.stdin:
            raise ValueError("set either paths (a list of globs) or stdin: true")
        for name in self.labels_from_fields:
            label = field_label(name)
            if not _LABEL.match(name):
                raise ValueError(f"labels_from_fields: {name!r} is not a field name (letters, digits, _)")
            if label in RESERVED or label in self.labels:
                raise ValueError(f"labels_from_fields: {name!r} would overwrite the label {label!r}")
        return self


def field_label(field: str) -> str:
    """The label a promoted field gets: its name in lower case (`Component` -> `component`)."""
    return field.lower()


class LogsConfig(StrictModel):
    sources: list[LogSource] = Field(min_length=1)
    state_dir: Path | None = None
    # One system's log holds a few hundred kinds of message (174 templates in 2,000 lines of Loghub's Android log), a
    # glob over several programs' files more (601 in the 8 shared Loghub systems): 1,000 keeps them apart and still
    # bounds a source's series (a template and its levels) when a value that no mask catches splits every line.
    max_templates: int = Field(default=1000, ge=1, le=100000)
    template_max_length: int = Field(default=200, ge=20, le=10000)
    similarity_threshold: float = Field(default=0.4, gt=0, lt=1)
    depth: int = Field(default=4, ge=3, le=20)
    masking: list[Masking] = Field(default_factory=list)
    poll_interval: PositiveDuration = 1.0
    save_interval: PositiveDuration = 60.0
    max_line_length: int = Field(default=16384, ge=256)

    @model_validator(mode="after")
    def _unique(self) -> LogsConfig:
        names = [s.name for s in self.sources]
        for i, name in enumerate(names):
            if names.index(name) != i:
                raise ValueError(f"sources[{i}].name: duplicate source name {name!r}")
        if sum(s.stdin for s in self.sources) > 1:
            raise ValueError("sources: at most one source can read stdin")
        return self


def parse_logs_config(data: Any, source: str = "config") -> LogsConfig:
    if not isinstance(data, dict) or not isinstance(data.get("logs"), dict):
        raise ConfigError(f"{source}: logs: a mapping with a list of sources is required for `aiops-exporter logs`")
    try:
        return LogsConfig.model_validate(data["logs"])
    except ValidationError as err:
        raise ConfigError(f"{source}: " + "\n  ".join("logs." + line for line in format_errors(err))) from None


def load_logs_config(path: str | Path) -> LogsConfig:
    path, data = load_yaml(path)
    return parse_logs_config(data, str(path))
