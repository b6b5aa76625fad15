"""adapters/db/fast.py runs hot statements on the driver's cursor with SQLAlchemy's private
parts (a compiled statement's bind processors, result columns and positional order, a type's
cached result processor, a connection's event flags). pyproject.toml bounds sqlalchemy below
the next minor release; this test fails as soon as one of those parts moves or changes shape,
so an upgrade that would break fast.py is seen here, not under load."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    exc,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.compiler import SQLCompiler

from aftersale.adapters.db import fast
from aftersale.adapters.db.types import UTCDateTime

meta = MetaData()
things = Table(
    "things",
    meta,
    Column("id", String, primary_key=True),
    Column("n", Integer),
    Column("at", UTCDateTime()),
)


def test_a_compiled_statement_still_carries_what_fast_reads() -> None:
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        stmt = select(things).where(things.c.id == bindparam("id"))
        comp = stmt.compile(dialect=dialect)
        assert isinstance(comp, SQLCompiler)
        assert isinstance(comp._bind_processors, dict)
        columns = comp._result_columns
        assert [c.keyname for c in columns] == ["id", "n", "at"]
        assert all(hasattr(c, "type") for c in columns)
        processor = columns[2].type._cached_result_processor(dialect, None)
        assert processor is None or callable(processor)
        assert isinstance(comp.string, str) and "things" in comp.string
        if dialect.positional:
            assert tuple(comp.positiontup) == ("id",)


def test_the_type_processor_signature_is_the_one_fast_calls() -> None:
    params = list(inspect.signature(Integer()._cached_result_processor).parameters)
    assert params == ["dialect", "coltype"]
    instance = inspect.signature(exc.DBAPIError.instance).parameters
    assert list(instance)[:4] == ["statement", "params", "orig", "dbapi_base_err"]


def test_a_connection_still_has_the_event_flags_and_driver_fast_uses() -> None:
    engine: Engine = create_engine("sqlite://")
    try:
        with engine.connect() as conn:
            assert isinstance(conn, Connection)
            assert isinstance(conn._has_events, bool)
            assert isinstance(conn.engine._has_events, bool)
            assert hasattr(conn.dispatch, "before_cursor_execute")
            assert conn.dialect.loaded_dbapi is not None
            assert conn.connection.driver_connection is not None
            meta.create_all(conn)
            c = fast.compiled(
                conn,
                "internals-probe",
                lambda: insert(things),
                ["id", "n", "at"],
            )
            fast.execute(conn, c, {"id": "a", "n": 1, "at": datetime(2026, 1, 1, tzinfo=UTC)})
            read = fast.compiled(conn, "internals-read", lambda: select(things))
            assert fast.rows(conn, read, {}) == [
                {"id": "a", "n": 1, "at": datetime(2026, 1, 1, tzinfo=UTC)}
            ]
    finally:
        engine.dispose()


def test_a_driver_error_is_still_wrapped_as_sqlalchemy_would() -> None:
    engine = create_engine("sqlite://")
    try:
        with engine.connect() as conn:
            meta.create_all(conn)
            c = fast.compiled(conn, "internals-dup", lambda: insert(things), ["id", "n", "at"])
            row = {"id": "b", "n": 1, "at": datetime(2026, 1, 1, tzinfo=UTC)}
            fast.execute(conn, c, row)
            try:
                fast.execute(conn, c, row)
            except exc.IntegrityError:
                pass
            else:
                raise AssertionError("a duplicate key was not refused as IntegrityError")
    finally:
        engine.dispose()
