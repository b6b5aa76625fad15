"""The bulk writer behind `aftersale import`: whole new aggregates, a batch per transaction.

An aggregate is first turned into rows (`SqlImportStore.rows`, pure, so the importer's worker
processes do it), then a batch of them is written in one transaction (`write_rows`).
PostgreSQL gets the rows through COPY (psycopg 3 `cursor.copy`) as text already in COPY's
format (one string per table and order: what the column types would bind, amounts scaled to
integers, times as naive UTC, strings escaped); SQLite gets executemany. The column lists come
from `tables.py`.

Into an empty database PostgreSQL gets a faster load (`SqlImportStore.fast_load`): the whole
import in one transaction that holds the tables it writes, with their foreign keys and
non-unique indexes taken off first and put back (built, and checked, once) before the
commit; a crash or an error anywhere rolls all of it back."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

import psycopg
from sqlalchemy import JSON, Connection, Engine, Table, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from aftersale.adapters.db import tables as t
from aftersale.adapters.db.engine import is_sqlite
from aftersale.adapters.db.orders_repo import owned_mask
from aftersale.adapters.db.types import SCALE, Amount, UTCDateTime
from aftersale.domain.entities import (
    CancellationRequest,
    Deadline,
    Dispute,
    Event,
    LedgerEntry,
    Refund,
    Return,
    TimelineEntry,
)
from aftersale.domain.errors import ConcurrentModification
from aftersale.domain.lines import lines_to_json
from aftersale.domain.order import Order
from aftersale.domain.order_state import OrderState
from aftersale.domain.policy import Policy
from aftersale.services.importer_replay import Party

# Import worker processes on PostgreSQL: 2 when there are 2 cores or more (the parent only
# reads, matches ids and writes). On 2 cores, 2 workers measured 22 % faster
# than checking in this process when the load is fast (the server's share is then small and
# the checking is the bottleneck), and the same when it goes batch by batch (the server's
# per-row keys and indexes are then the bottleneck) (bench/README.md, "Bulk import").
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
DEFAULT_JOBS = 2 if (_CORES or 1) >= 2 else 0
CHUNK = 1000  # ids per IN (...) lookup on SQLite, under its parameter limit
NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_TIMES: dict[datetime, str] = {}  # moments repeat within an order (timeline, ledger, columns)
_JSON = json.JSONEncoder(separators=(",", ":"))  # json.dumps(x, separators=...) builds one a call
_POLICIES: dict[int, tuple[Policy, str]] = {}  # by identity: hashing a Policy costs more


def _policy_json(policy: Policy) -> str:
    found = _POLICIES.get(id(policy))
    if found is None or found[0] is not policy:
        if len(_POLICIES) >= 16:
            _POLICIES.clear()
        found = _POLICIES[id(policy)] = (policy, _JSON.encode(policy.as_dict()))
    return found[1]


def _items(order: Order) -> list[dict[str, Any]]:
    return lines_to_json(order.items)


# ---- non-NULL values in COPY's text format (backslash, tab, newline and CR escaped) ---------
def _text(value: Any) -> str:
    s = str(value)
    return s if s.isprintable() and "\\" not in s else s.translate(_ESCAPES)


def _json(value: Any) -> str:
    if isinstance(value, Policy):
        return _text(_policy_json(value))
    return _text(_JSON.encode(value))


def _amount(value: Decimal) -> str:
    """As Amount stores it: an integer of 1/10,000 units."""
    return str(int(value * SCALE))


def _utc(value: datetime) -> str:
    """As UTCDateTime stores it: naive UTC."""
    found = _TIMES.get(value)
    if found is None:
        if len(_TIMES) >= 100_000:
            _TIMES.clear()
        if value.tzinfo is UTC:  # the usual case: "2025-03-01 10:00:00+00:00" less its offset
            found = value.isoformat(" ")[:-6]
        else:
            found = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
        _TIMES[value] = found
    return found


def _int(value: int) -> str:
    return str(int(value))


def _converter(kind: Any) -> Callable[[Any], str]:
    if isinstance(kind, Amount):
        return _amount
    if isinstance(kind, UTCDateTime):
        return _utc
    if isinstance(kind, JSON):
        return _json
    if kind.python_type is int:
        return _int
    return _text  # strings and EnumStr (a StrEnum's str() is its value)


class _Shape:
    """How one kind of object becomes a row of one table (columns named like its fields)."""

    def __init__(self, table: Table, source: type[Any], **special: Callable[[Any], Any]) -> None:
        names = {f.name for f in dataclasses.fields(source)} | set(special)
        self.table = table
        self.names = [c.name for c in table.columns if c.name in names]
        self.getters = [special.get(n) or attrgetter(n) for n in self.names]
        self.copy_sql = f"COPY {table.name} ({', '.join(self.names)}) FROM STDIN"
        self.line = self._compile(table, special)

    def _compile(self, table: Table, special: dict[str, Callable[[Any], Any]]) -> Any:
        """obj -> its COPY text line, as one f-string (built once, like dataclasses do)."""
        env: dict[str, Any] = {"N": NULL}
        parts = []
        for i, name in enumerate(self.names):
            env[f"c{i}"] = _converter(table.c[name].type)
            get = f"o.{name}"
            if name in special:
                env[f"g{i}"] = special[name]
                get = f"g{i}(o)"
            parts.append(f"{{N if (v{i} := {get}) is None else c{i}(v{i})}}")
        source = "def line(o):\n    return f'" + "\\t".join(parts) + "\\n'\n"
        exec(source, env)  # our own column names, each a field of the dataclass
        return env["line"]

    def row(self, obj: Any) -> dict[str, Any]:
        """One row for an executemany INSERT (the column types bind the values)."""
        row = {n: g(obj) for n, g in zip(self.names, self.getters, strict=True)}
        if isinstance(row.get("policy"), Policy):
            row["policy"] = row["policy"].as_dict()
        return row


ORDER = _Shape(t.orders, OrderState, items=_items, policy=attrgetter("policy"), owned=owned_mask)
SHAPES: tuple[tuple[_Shape, Callable[[Order], Iterable[Any]]], ...] = (
    (ORDER, lambda o: (o,)),
    (_Shape(t.cancellations, CancellationRequest), attrgetter("cancellations")),
    (_Shape(t.refunds, Refund), attrgetter("refunds")),
    (_Shape(t.returns, Return), attrgetter("returns")),
    (_Shape(t.disputes, Dispute), attrgetter("disputes")),
    (_Shape(t.timeline, TimelineEntry), attrgetter("timeline")),
    (_Shape(t.ledger, LedgerEntry), attrgetter("new_ledger")),
    (_Shape(t.deadlines, Deadline), attrgetter("new_deadlines")),
    (_Shape(t.outbox, Event), attrgetter("new_events")),
)


LOADED = tuple(shape.table.name for shape, _ in SHAPES)  # the tables an import writes


def copy_rows(order: Order) -> tuple[str, ...]:
    """The order's rows in COPY text format: one string per table of SHAPES ('' if none)."""
    return tuple(["".join([shape.line(x) for x in part(order)]) for shape, part in SHAPES])


def insert_rows(order: Order) -> tuple[list[dict[str, Any]], ...]:
    """The order's rows for executemany INSERTs: a list per table of SHAPES."""
    return tuple([[shape.row(x) for x in part(order)] for shape, part in SHAPES])


class SqlImportSession:
    """One import transaction on one connection."""

    def __init__(self, conn: Connection, *, copy: bool) -> None:
        self.conn = conn
        self.pg = not is_sqlite(str(conn.engine.url))
        self.copy = copy  # rows are COPY text (else dicts for executemany)

    def raw(self) -> psycopg.Connection[Any]:
        """The driver's connection (PostgreSQL)."""
        raw = self.conn.connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        return raw

    def _lookup(self, table: Table, columns: str, ids: Collection[str]) -> list[Any]:
        wanted = sorted(set(ids))
        if not wanted:
            return []
        if self.pg:  # one array parameter: no statement to build per batch
            sql = f"SELECT {columns} FROM {table.name} WHERE id = ANY(%s)"
            with self.raw().cursor() as cur:
                return cur.execute(sql, (wanted,)).fetchall()
        rows: list[Any] = []
        cols = [table.c[c.strip()] for c in columns.split(",")]
        for i in range(0, len(wanted), CHUNK):
            query = select(*cols).where(table.c.id.in_(wanted[i : i + CHUNK]))
            rows.extend(tuple(r) for r in self.conn.execute(query))
        return rows

    def parties(self, user_ids: Collection[str]) -> dict[str, Party]:
        """The users among these ids that exist."""
        rows = self._lookup(t.users, "id, role, country", user_ids)
        return {uid: Party(role=role, country=country) for uid, role, country in rows}

    def existing_orders(self, order_ids: Collection[str]) -> set[str]:
        """The order ids among these that exist already."""
        return {r[0] for r in self._lookup(t.orders, "id", order_ids)}

    def write(self, orders: Sequence[Order]) -> None:
        """Insert whole new aggregates: orders first, then what they own."""
        encode = copy_rows if self.copy else insert_rows
        self.write_rows([encode(o) for o in orders])

    def write_rows(self, rows: Sequence[Any]) -> None:
        """Insert aggregates already turned into rows by `SqlImportStore.rows`."""
        try:
            for i, (shape, _) in enumerate(SHAPES):
                if self.copy:
                    data = "".join([r[i] for r in rows])
                    if data:
                        self._copy(shape, data)
                elif values := [x for r in rows for x in r[i]]:
                    self.conn.execute(insert(shape.table), values)
        except (IntegrityError, psycopg.IntegrityError) as exc:
            raise ConcurrentModification(f"the batch conflicted with another: {exc}") from exc

    def _copy(self, shape: _Shape, data: str) -> None:
        with self.raw().cursor() as cur, cur.copy(shape.copy_sql) as copy:
            copy.write(data.encode())

    def commit(self) -> None:
        """Commit; an id taken by a concurrent import means: check the batch again."""
        try:
            self.conn.commit()
        except (IntegrityError, OperationalError) as exc:
            raise ConcurrentModification(f"the batch conflicted with another: {exc.orig}") from exc


# What a fast load takes off the tables it writes, found in the catalog (so a later migration's
# index or key is covered too): foreign keys, and indexes that enforce nothing.
_FOREIGN_KEYS = """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s) ORDER BY 1, 2"""
_PLAIN_INDEXES = """SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index x
JOIN pg_class c ON c.oid = x.indexrelid
WHERE x.indrelid::regclass::text = ANY(%s) AND NOT x.indisunique AND NOT x.indisprimary
AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid) ORDER BY 1"""
LOAD_LOCK_TIMEOUT = "5s"  # a busy database is loaded batch by batch instead
LOAD_MEMORY = "256MB"  # maintenance_work_mem of the one load's index builds


class SqlImportStore:
    """Opens import transactions on an engine; `copy`: write with COPY (default: on
    PostgreSQL; else executemany INSERTs, the only way on SQLite); `fast`: load an empty
    PostgreSQL database in one transaction (`fast_load`)."""

    def __init__(
        self,
        engine: Engine,
        *,
        copy: bool | None = None,
        fast: bool = True,
        lock_timeout: str = LOAD_LOCK_TIMEOUT,
    ) -> None:
        self.engine = engine
        self.lock_timeout = lock_timeout
        pg = not is_sqlite(str(engine.url))
        self.copy = pg if copy is None else copy
        self.fast = fast and self.copy
        self.loaded_fast = False  # whether the last fast_load took the fast way
        assert pg or not self.copy, "COPY is PostgreSQL's"
        # worker processes pay off beside a database server, not beside SQLite's one writer
        self.default_jobs = DEFAULT_JOBS if pg else 0

    def rows(self, order: Order) -> Any:
        """The order's rows as this store writes them (picklable, no I/O)."""
        return copy_rows(order) if self.copy else insert_rows(order)

    def before_fork(self) -> None:
        """Close the idle pooled connections, so that no forked worker inherits an open one
        (a child finalizing one would end the parent's session too)."""
        self.engine.dispose()

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[SqlImportSession]:
        """A transaction; leaving it without commit() rolls back."""
        with self.engine.connect() as conn:
            if readonly and is_sqlite(str(self.engine.url)):  # WAL readers never wait
                conn = conn.execution_options(sqlite_begin="DEFERRED")
            conn.begin()
            try:
                yield SqlImportSession(conn, copy=self.copy)
            finally:
                if conn.in_transaction():
                    conn.rollback()

    @contextmanager
    def fast_load(
        self, phase: Callable[[str], None] | None = None
    ) -> Iterator[SqlImportSession | None]:
        """The whole import as one transaction, if this store may and the order tables are
        empty; else None (batch by batch).

        It locks the tables the import writes (ACCESS EXCLUSIVE, waiting at most
        `lock_timeout`, else it goes batch by batch): the service waits for the load and then
        sees all of it or none. It drops their foreign keys and plain indexes and yields the
        one session to write every batch in (no commit per batch). On a clean exit it builds
        the indexes again, adds the foreign keys back (PostgreSQL checks every row against
        them), ANALYZEs and commits; on an exception, or a crash, nothing of the load stays,
        and the keys and indexes are as they were."""
        self.loaded_fast = False
        taken = self._take() if self.fast else None
        if taken is None:  # (no connection held meanwhile)
            yield None
            return
        session, keys, indexes = taken
        with session.conn:  # closing it without the commit below rolls everything back
            yield session
            if phase is not None:
                phase("building indexes, checking foreign keys")
            raw = session.raw()
            raw.execute(f"SET LOCAL maintenance_work_mem = '{LOAD_MEMORY}'")
            for _name, definition in indexes:
                raw.execute(definition)
            for table, name, definition in keys:
                raw.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            raw.execute(f"ANALYZE {', '.join(LOADED)}")
            session.commit()
            self.loaded_fast = True

    def _take(self) -> tuple[SqlImportSession, list[Any], list[Any]] | None:
        """A transaction that holds the tables, with their foreign keys (table, name,
        definition) and plain indexes (name, definition) taken off, which it returns too, if
        no order exists and the tables could be locked in time; else None."""
        conn = self.engine.connect()
        try:
            conn.begin()
            session = SqlImportSession(conn, copy=True)
            unbuilt = self._empty_and_held(session)
            if unbuilt is not None:
                return session, *unbuilt
        except BaseException:
            conn.close()
            raise
        conn.close()  # (rolls back)
        return None

    def _empty_and_held(self, session: SqlImportSession) -> tuple[list[Any], list[Any]] | None:
        """Lock the tables; if no order exists, take their keys and plain indexes off and
        return them (else None)."""
        raw = session.raw()
        try:
            raw.execute("SELECT set_config('lock_timeout', %s, true)", (self.lock_timeout,))
            raw.execute(f"LOCK TABLE {', '.join(LOADED)} IN ACCESS EXCLUSIVE MODE")
            raw.execute("SET LOCAL lock_timeout = 0")
        except psycopg.errors.LockNotAvailable:
            return None
        if raw.execute("SELECT EXISTS (SELECT 1 FROM orders)").fetchone() != (False,):
            return None
        tables = list(LOADED)
        keys = raw.execute(_FOREIGN_KEYS, (tables,)).fetchall()
        indexes = raw.execute(_PLAIN_INDEXES, (tables,)).fetchall()
        for table, name, _ in keys:
            raw.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            raw.execute(f'DROP INDEX "{name}"')
        return keys, indexes
