"""Engines for SQLite (WAL, immediate write transactions) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url


def is_sqlite(url: str) -> bool:
    """Whether the URL names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine tuned for the backend; SQLite files get their folder created."""
    if is_sqlite(url):
        return _sqlite_engine(url)
    # No pool_pre_ping: it costs a round trip on every checkout (two or three per request).
    # Instead a connection is pinged when it is handed out after lying idle a while or after
    # it met an error (see `_ping_when_stale`), so the first request after the database came
    # back gets a live connection, and a busy process pays nothing.
    # JSON columns (an order's items and policy, read on every request) decoded by orjson.
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        json_deserializer=orjson.loads,
    )
    _ping_when_stale(engine)
    return engine


IDLE_PING = 2.0  # seconds in the pool after which a connection is checked before use


def _ping_when_stale(engine: Engine) -> None:
    """SQLAlchemy's "pessimistic" disconnect handling, only where it can matter: a connection
    idle for IDLE_PING seconds, or returned broken (statements run on the driver's cursor,
    adapters/db/fast.py, do not tell the pool of a lost connection), answers `SELECT 1` before
    it is handed out; if it cannot, the pool replaces it with a new one."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()
        if dbapi_conn is not None and getattr(dbapi_conn, "broken", False):
            record.info["suspect"] = True

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        suspect = record.info.pop("suspect", False)
        if not suspect and (idle_since is None or time.monotonic() - idle_since < IDLE_PING):
            return
        try:
            cursor = dbapi_conn.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            if not dbapi_conn.autocommit:
                dbapi_conn.rollback()
        except Exception as error:
            raise exc.DisconnectionError("stale pooled connection") from error


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8, max_overflow=8
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=30000",
        ):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front, so two writers never deadlock on an upgrade.
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine
