"""The labels the exporter publishes for a source series, and their text-format rendering."""

from __future__ import annotations

from collections.abc import Mapping

RESERVED_LABELS = ("aiops_query", "aiops_model", "horizon", "source_metric")


def output_labels(source: Mapping[str, str], query: str, model: str) -> dict[str, str]:
    """Source labels plus aiops_query/aiops_model; __name__ becomes source_metric.

    A source label that collides with one the exporter sets is kept as
    exported_<name>, as Prometheus does for target labels.
    """
    out: dict[str, str] = {}
    for name, value in source.items():
        if name == "__name__":
            continue
        out[f"exported_{name}" if name in RESERVED_LABELS else name] = value
    if "__name__" in source:
        out["source_metric"] = source["__name__"]
    out["aiops_query"] = query
    out["aiops_model"] = model
    return out


def source_labels(output: Mapping[str, str]) -> dict[str, str]:
    """The inverse of output_labels: a published series' labels back to its source labels."""
    out: dict[str, str] = {}
    for name, value in output.items():
        if name in ("aiops_query", "aiops_model"):
            continue
        if name == "source_metric":
            out["__name__"] = value
        elif name.startswith("exported_") and name[len("exported_"):] in RESERVED_LABELS:
            out[name[len("exported_"):]] = value
        else:
            out[name] = value
    return out


def escape_label_value(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def label_text(labels: Mapping[str, str]) -> str:
    """`a="x",b="y"`: a label set as it appears between the braces of a sample line (text format 0.0.4)."""
    return ",".join(f'{name}="{escape_label_value(value)}"' for name, value in labels.items())
