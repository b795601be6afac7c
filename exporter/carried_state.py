"""Model state that outlives a restart: what FittedModel.carry() hands from one fit to the next, kept in a file.

A refit starts from the history window, and some state must remember more than that window:
for `seasonal`, each series' roughness reference (the roughest it has ever been) and the time it
was first seen. Across refits the engine carries them (FittedModel.carry() / inherit()); with
`exporter.state_dir` set they also survive a restart: after every retrain each query's carried
state is written to `<state_dir>/<query>.carried.npz` (atomically), and read back when the
exporter starts (one file per shard when the exporter is sharded). Without it a restart shortens that
memory to the history window.

Rows are matched by label set. A file written for another model, other parameters or another
step is ignored, as is one that cannot be read: both are logged and counted
(`aiops_exporter_state_file_errors_total`); the exporter then starts from its history, as without
the file. Nothing here is on the scrape path.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aiops_common.files import write_atomically

from .series import LabelKey, label_key

log = logging.getLogger(__name__)
FORMAT = 1
_PREFIX = "carried_"


@dataclass(frozen=True)
class CarriedState:
    """Carried arrays by row, and each row's label set."""

    rows: dict[LabelKey, int]
    arrays: dict[str, np.ndarray]

    def rows_for(self, labels: list[dict[str, str]]) -> np.ndarray:
        """For each label set, its row here (-1 where this state has none)."""
        return np.array([self.rows.get(label_key(series), -1) for series in labels], dtype=np.int64)


class CarriedStore:
    """Reads and writes each query's carried state in one directory."""

    def __init__(self, directory: Path, errors=None, shard: tuple[int, int] = (0, 1)):
        self.directory = directory
        self.errors = errors  # a Counter labelled (aiops_query, operation), or None
        index, count = shard  # replicas of a sharded exporter may share the directory: one file each
        self.suffix = f".shard-{index}-of-{count}" if count > 1 else ""

    def path(self, query: str) -> Path:
        return self.directory / f"{query}{self.suffix}.carried.npz"

    def load(self, query: str, fingerprint: str) -> CarriedState | None:
        """The state saved for `query` under the same fingerprint; None when there is none or it cannot be used."""
        path = self.path(query)
        if not path.exists():
            log.info("query %s: no carried state in %s yet; models start from their history", query, path)
            return None
        try:
            with np.load(path, allow_pickle=False) as saved:
                if int(saved["format"]) != FORMAT:
                    raise ValueError(f"format {int(saved['format'])}, expected {FORMAT}")
                written_for = bytes(saved["fingerprint"]).decode()
                labels = json.loads(bytes(saved["labels"]).decode())
                arrays = {name[len(_PREFIX):]: saved[name] for name in saved.files if name.startswith(_PREFIX)}
        except (OSError, ValueError, KeyError, TypeError, EOFError) as err:  # np.load raises several kinds
            self._count(query, "read")
            log.error("query %s: cannot read carried state %s (%s); models start from their history", query, path, err)
            return None
        if written_for != fingerprint:
            self._count(query, "stale")
            log.warning("query %s: carried state %s was written for other settings (%s; now %s); not used",
                        query, path, written_for, fingerprint)
            return None
        if any(len(values) != len(labels) for values in arrays.values()):
            self._count(query, "read")
            log.error("query %s: carried state %s holds arrays of another length than its %d label sets; not used",
                      query, path, len(labels))
            return None
        log.info("query %s: carried state of %d series read from %s", query, len(labels), path)
        return CarriedState({label_key(series): row for row, series in enumerate(labels)}, arrays)

    def save(self, query: str, fingerprint: str, labels: list[dict[str, str]], arrays: dict[str, np.ndarray]) -> None:
        """Write the state atomically (a reader sees the old file or the new one, never half of one)."""
        path = self.path(query)
        contents: dict[str, Any] = {_PREFIX + name: values for name, values in arrays.items()}
        try:
            write_atomically(path, lambda handle: np.savez(handle, format=np.array(FORMAT), fingerprint=_bytes(fingerprint),
                                                           labels=_bytes(json.dumps(labels)), **contents), binary=True)
        except OSError as err:
            self._count(query, "write")
            log.error("query %s: cannot write carried state %s: %s", query, path, err)

    def _count(self, query: str, operation: str) -> None:
        if self.errors is not None:
            self.errors.labels(query, operation).inc()


def _bytes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(), dtype=np.uint8)
