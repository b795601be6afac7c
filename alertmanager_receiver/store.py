"""Tables and the few queries the receiver needs (SQLAlchemy Core).

SQLite (default) runs in WAL mode with synchronous=FULL, and every write
transaction starts with BEGIN IMMEDIATE so writers queue on the lock instead
of failing half-way. On PostgreSQL, writers serialise on an advisory lock.
Either way a webhook's alerts are committed before it is answered.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)
metadata = sa.MetaData()

notifications = sa.Table(
    "notifications", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("group_key", sa.Text, nullable=False),
    sa.Column("receiver", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("alert_count", sa.Integer, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
)

alerts = sa.Table(
    "alerts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("fingerprint", sa.String(128), nullable=False),
    sa.Column("starts_at", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("ends_at", sa.Float),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("annotations", sa.JSON, nullable=False),
    sa.Column("generator_url", sa.Text, nullable=False, default=""),
    sa.Column("first_received", sa.Float, nullable=False),
    sa.Column("last_received", sa.Float, nullable=False),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id")),
    sa.Column("join_reason", sa.Text),
    # Scalar copies of what ranking reads, so a large incident is ranked without decoding JSON.
    sa.Column("alertname", sa.Text),
    sa.Column("severity", sa.String(64)),
    sa.Column("service", sa.Text),
    sa.Column("instance", sa.Text),
    sa.Column("anomaly_score", sa.Float),
    sa.UniqueConstraint("fingerprint", "starts_at", name="uq_alert_occurrence"),
)
sa.Index("ix_alerts_incident", alerts.c.incident_id)
sa.Index("ix_alerts_status_fp", alerts.c.status, alerts.c.fingerprint)
sa.Index("ix_alerts_first_received", alerts.c.first_received)

incidents = sa.Table(
    "incidents", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # open | acknowledged | resolving | resolved
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("priority", sa.String(4), nullable=False),
    sa.Column("priority_points", sa.Integer, nullable=False, default=0),
    sa.Column("priority_factors", sa.JSON, nullable=False),
    sa.Column("root_cause", sa.JSON, nullable=False),
    sa.Column("services", sa.JSON, nullable=False),
    sa.Column("group_values", sa.JSON),
    sa.Column("opened_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("first_alert_at", sa.Float, nullable=False),
    sa.Column("last_alert_at", sa.Float, nullable=False),
    sa.Column("resolving_since", sa.Float),
    sa.Column("resolved_at", sa.Float),
    sa.Column("acked_at", sa.Float),
    sa.Column("acked_by", sa.Text),
    sa.Column("merged_into", sa.Integer),  # set when the incident was absorbed into another (status merged)
    sa.Column("alert_count", sa.Integer, nullable=False, default=0),  # alert occurrences it holds
    sa.Column("instance_keys", sa.JSON),  # alertname@instance of its alerts without a service
    sa.Column("metric_evidence", sa.JSON),  # anomaly scores of its services and their dependencies (evidence.py)
)
sa.Index("ix_incidents_status", incidents.c.status)

incident_events = sa.Table(
    "incident_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
)
sa.Index("ix_events_incident", incident_events.c.incident_id)

feedback = sa.Table(
    "feedback", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("verdict", sa.String(32), nullable=False),
    sa.Column("comment", sa.Text, nullable=False, default=""),
)
sa.Index("ix_feedback_at", feedback.c.at)

group_state = sa.Table(
    "group_state", metadata,
    sa.Column("group_key", sa.Text, primary_key=True),
    sa.Column("fingerprints", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

actions = sa.Table(
    "actions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("rule", sa.Text, nullable=False),  # rule name, or "chatops"/"grafana" for built-in notifications
    sa.Column("trigger_id", sa.Text, nullable=False),  # one trigger of a rule: its actions share it
    sa.Column("action_index", sa.Integer, nullable=False),
    sa.Column("action_type", sa.String(16), nullable=False),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id")),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("context", sa.JSON, nullable=False),  # the event the action acts on (alert, incident fields)
    sa.Column("result", sa.JSON),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float),
    sa.Column("finished_at", sa.Float),
    sa.Column("expires_at", sa.Float),  # approval deadline
)
sa.Index("ix_actions_status", actions.c.status)
sa.Index("ix_actions_rule_created", actions.c.rule, actions.c.created_at)

automation_state = sa.Table(
    "automation_state", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

# Learned co-occurrence (cooccurrence.py): onsets per service and pairs seen together, per scope.
service_onsets = sa.Table(
    "service_onsets", metadata,
    sa.Column("scope", sa.Text, primary_key=True),  # JSON list of the group_by values
    sa.Column("service", sa.Text, primary_key=True),
    sa.Column("onsets", sa.Float, nullable=False),  # decayed count
    sa.Column("updated", sa.Float, nullable=False),
    sa.Column("last_onset", sa.Float, nullable=False),
    sa.Column("last_alert", sa.Float, nullable=False),
    sa.Column("first_seen", sa.Float, nullable=False),
)

service_pairs = sa.Table(
    "service_pairs", metadata,
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("a", sa.Text, primary_key=True),  # a < b
    sa.Column("b", sa.Text, primary_key=True),
    sa.Column("together", sa.Float, nullable=False),
    sa.Column("a_first", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
)

external_refs = sa.Table(  # ids other systems gave us: chat message ts, Grafana annotation, silences
    "external_refs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),  # slack_ts | generic_chat | grafana_annotation | silence
    sa.Column("ref", sa.Text, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.Float, nullable=False),
)
sa.Index("ix_refs_incident", external_refs.c.incident_id, external_refs.c.kind)

ADVISORY_LOCK_ID = 0x41_49_4F_70  # "AIOp"


class StoreUnavailable(Exception):
    """The database cannot take the write now (locked, read-only, full, down): answer 503."""


class Store:
    def __init__(self, url: str, busy_timeout: float = 5.0):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict = {"future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": busy_timeout, "check_same_thread": False}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=10,
                          connect_args={"connect_timeout": max(1, int(busy_timeout))})
        self.engine: Engine = sa.create_engine(url, **kwargs)
        self.busy_timeout = busy_timeout
        # SQLite: writers of this process queue here, and are woken the moment the lock is free, instead of
        # meeting in SQLite's busy handler, which sleeps and retries (up to 100 ms apart).
        self._write_lock = threading.Lock()
        if self.is_sqlite:
            _sqlite_pragmas(self.engine, busy_timeout)

    def create_schema(self, service_label: str = "service") -> None:
        with self.engine.begin() as conn:
            metadata.create_all(conn)
            _add_ranking_columns(conn, service_label)
            _add_incident_columns(conn)

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A serialised write transaction; database trouble becomes StoreUnavailable."""
        if self.is_sqlite:
            if not self._write_lock.acquire(timeout=self.busy_timeout):
                raise StoreUnavailable(f"another write of this process held the database for {self.busy_timeout:g}s")
        try:
            with self.engine.begin() as conn:
                if not self.is_sqlite:
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})
                yield conn
        except sa.exc.DatabaseError as err:
            if is_unavailable(err):
                raise StoreUnavailable(_reason(err)) from err
            raise
        finally:
            if self.is_sqlite:
                self._write_lock.release()

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                conn.info["read_only"] = True  # SQLite: a plain (deferred) BEGIN, no write lock
                yield conn
        except sa.exc.OperationalError as err:
            raise StoreUnavailable(_reason(err)) from err

    def ping(self) -> bool:
        """Whether the database answers a read (never waits for the write lock)."""
        try:
            with self.engine.connect() as conn:
                conn.info["read_only"] = True
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database file without blocking writers."""
        if not self.is_sqlite:
            return
        try:
            with self.engine.connect() as conn:
                conn.info["read_only"] = True
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except sa.exc.SQLAlchemyError as err:
            log.warning("WAL checkpoint failed: %s", err)

    def dispose(self) -> None:
        self.engine.dispose()


RANKING_COLUMNS = ("alertname", "severity", "service", "instance", "anomaly_score")


def ranking_values(labels: dict, annotations: dict, service_label: str) -> dict:
    """The scalar ranking columns of an alert (see the alerts table)."""
    from .domain import Alert

    alert = Alert(fingerprint="", starts_at=0.0, status="firing", labels=labels, annotations=annotations)
    return {"alertname": alert.name, "severity": labels.get("severity"), "service": alert.service(service_label),
            "instance": labels.get("instance"), "anomaly_score": alert.anomaly_score}


def _add_ranking_columns(conn: Connection, service_label: str) -> None:
    """Databases created before the ranking columns existed get them, filled from the labels."""
    present = {c["name"] for c in sa.inspect(conn).get_columns("alerts")}
    missing = [c for c in RANKING_COLUMNS if c not in present]
    if not missing:
        return
    log.info("adding columns %s to the alerts table and filling them", ", ".join(missing))
    for name in missing:
        column = alerts.c[name]
        conn.exec_driver_sql(f"ALTER TABLE alerts ADD COLUMN {name} {column.type.compile(conn.dialect)}")
    rows = conn.execute(sa.select(alerts.c.id, alerts.c.labels, alerts.c.annotations)).all()
    updates = [{"row_id": r.id, **ranking_values(r.labels, r.annotations, service_label)} for r in rows]
    if updates:
        conn.execute(alerts.update().where(alerts.c.id == sa.bindparam("row_id"))
                     .values({c: sa.bindparam(c) for c in RANKING_COLUMNS}), updates)


def _add_incident_columns(conn: Connection) -> None:
    """Databases created before merges and metric evidence existed get their columns (alert_count filled in)."""
    present = {c["name"] for c in sa.inspect(conn).get_columns("incidents")}
    missing = [c for c in ("merged_into", "alert_count", "instance_keys", "metric_evidence") if c not in present]
    if not missing:
        return
    log.info("adding columns %s to the incidents table", ", ".join(missing))
    for name in missing:
        column = incidents.c[name]
        default = " DEFAULT 0" if name == "alert_count" else ""
        conn.exec_driver_sql(f"ALTER TABLE incidents ADD COLUMN {name} {column.type.compile(conn.dialect)}{default}")
    if "alert_count" in missing:
        counts = conn.execute(sa.select(alerts.c.incident_id, sa.func.count()).group_by(alerts.c.incident_id)).all()
        if counts:
            conn.execute(incidents.update().where(incidents.c.id == sa.bindparam("row_id"))
                         .values(alert_count=sa.bindparam("n")), [{"row_id": i, "n": n} for i, n in counts if i])


def is_unavailable(err: Exception) -> bool:
    """Whether err is the database failing (locked, read-only, full, down) rather than one request's fault."""
    if isinstance(err, (StoreUnavailable, sa.exc.OperationalError)):
        return True
    text = str(err).lower()
    return isinstance(err, sa.exc.DatabaseError) and ("readonly" in text or "read-only" in text or "disk" in text)


def _reason(err: Exception) -> str:
    text = str(getattr(err, "orig", err)).strip().splitlines()
    return text[0][:300] if text else type(err).__name__


def _sqlite_pragmas(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Checkpoints run in the background (Store.checkpoint), not inside a webhook's commit.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN" if conn.info.pop("read_only", False) else "BEGIN IMMEDIATE")
