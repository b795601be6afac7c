"""Learned co-occurrence in SQL: loaded once at start, and the rows a change touched written in its transaction."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .cooccurrence import CoOccurrence, Onsets, Pair, Scope
from .graphs import ServiceGraphs
from .store import service_onsets as onsets_t
from .store import service_pairs as pairs_t


def _scope_text(scope: Scope) -> str:
    return json.dumps(list(scope), ensure_ascii=False)


def load(conn: Connection, learning: CoOccurrence) -> None:
    for row in conn.execute(sa.select(onsets_t)):
        learning.add_onsets(tuple(json.loads(row.scope)), row.service,
                            Onsets(row.onsets, row.updated, row.last_onset, row.last_alert, row.first_seen))
    for row in conn.execute(sa.select(pairs_t)):
        learning.add_pair(tuple(json.loads(row.scope)), row.a, row.b, Pair(row.together, row.a_first, row.updated))


def _upsert(conn: Connection, table: sa.Table, keys: dict, values: dict) -> None:
    where = sa.and_(*(table.c[k] == v for k, v in keys.items()))
    if conn.execute(table.update().where(where).values(**values)).rowcount == 0:
        conn.execute(table.insert().values(**keys, **values))


def save(conn: Connection, graphs: ServiceGraphs) -> None:
    """Write the onsets and pairs learning changed since the last save (a pair no longer held is deleted)."""
    onset_keys, pair_keys = graphs.take_dirty()
    learning = graphs.learning
    for scope, service in onset_keys:
        stats = learning.onsets.get((scope, service))
        if stats is not None:
            _upsert(conn, onsets_t, {"scope": _scope_text(scope), "service": service},
                    {"onsets": stats.count, "updated": stats.updated, "last_onset": stats.last_onset,
                     "last_alert": stats.last_alert, "first_seen": stats.first_seen})
    for scope, a, b in pair_keys:
        keys = {"scope": _scope_text(scope), "a": a, "b": b}
        pair = learning.pairs.get((scope, a, b))
        if pair is None:
            conn.execute(pairs_t.delete().where(sa.and_(*(pairs_t.c[k] == v for k, v in keys.items()))))
        else:
            _upsert(conn, pairs_t, keys, {"together": pair.together, "a_first": pair.a_first, "updated": pair.updated})
