"""Storage fixtures: a real SQLite file, and a real PostgreSQL when one is reachable."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from alertmanager_receiver.store import Store, metadata

PG_URL = os.environ.get("AIOPS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_reason() -> str | None:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as err:  # any failure means: skip, and say why
        return f"no PostgreSQL reachable at {PG_URL} ({type(err).__name__}); set AIOPS_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'receiver.db'}"
        return
    reason = postgres_reason()
    if reason:
        pytest.skip(reason)
    store = Store(PG_URL)
    with store.engine.begin() as conn:
        metadata.drop_all(conn)
    store.dispose()
    yield PG_URL
