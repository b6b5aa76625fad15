"""The bulk writer behind `aftersale import`: whole new aggregates, a batch per transaction.

PostgreSQL gets the rows through COPY (psycopg 3 `cursor.copy`), which is several times faster
than INSERTs; SQLite gets executemany. The column lists come from `tables.py`, and the values are
the ones the column types would bind (amounts scaled to integers, times as naive UTC)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter
from typing import Any

import psycopg
from sqlalchemy import JSON, Connection, Engine, Table, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from aftersale.adapters.db import tables as t
from aftersale.adapters.db.engine import is_sqlite
from aftersale.adapters.db.orders_repo import owned_mask
from aftersale.adapters.db.types import SCALE, Amount, EnumStr, UTCDateTime
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
from aftersale.domain.order import Order
from aftersale.domain.order_state import OrderState
from aftersale.domain.policy import Policy
from aftersale.services.importer import Party

CHUNK = 1000  # ids per IN (...) lookup, well under every driver's parameter limit


@lru_cache(maxsize=16)
def _policy_json(policy: Policy) -> str:
    return json.dumps(policy.as_dict(), separators=(",", ":"))


def _items(order: Order) -> list[dict[str, Any]]:
    return [
        {"sku": i.sku, "title": i.title, "quantity": i.quantity, "unit_price": str(i.unit_price)}
        for i in order.items
    ]


def _json(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Policy):
        return _policy_json(value)
    return json.dumps(value, separators=(",", ":"))


def _amount(value: Decimal | None) -> int | None:
    """As Amount stores it: an integer of 1/10,000 units."""
    return None if value is None else int(value * SCALE)


def _utc(value: datetime | None) -> datetime | None:
    """As UTCDateTime stores it: naive UTC."""
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def _plain(value: Any) -> Any:
    return value


def _enum(value: Any) -> str | None:
    return None if value is None else str(value)


class _Shape:
    """How one kind of object becomes a row of one table (columns named like its fields)."""

    def __init__(self, table: Table, source: type[Any], **special: Callable[[Any], Any]) -> None:
        names = {f.name for f in dataclasses.fields(source)} | set(special)
        self.table = table
        self.names = [c.name for c in table.columns if c.name in names]
        self.getters = [special.get(n) or attrgetter(n) for n in self.names]
        self.pairs = [
            (get, _converter(table.c[n].type))
            for n, get in zip(self.names, self.getters, strict=True)
        ]

    def values(self, obj: Any) -> tuple[Any, ...]:
        """One row for COPY, as the column types would bind it."""
        return tuple([conv(get(obj)) for get, conv in self.pairs])

    def row(self, obj: Any) -> dict[str, Any]:
        """One row for an executemany INSERT (the column types bind the values)."""
        row = {n: g(obj) for n, g in zip(self.names, self.getters, strict=True)}
        if isinstance(row.get("policy"), Policy):
            row["policy"] = row["policy"].as_dict()
        return row


def _converter(kind: Any) -> Callable[[Any], Any]:
    if isinstance(kind, Amount):
        return _amount
    if isinstance(kind, UTCDateTime):
        return _utc
    if isinstance(kind, EnumStr):
        return _enum
    if isinstance(kind, JSON):
        return _json
    return _plain


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


class SqlImportSession:
    """One import transaction on one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pg = not is_sqlite(str(conn.engine.url))

    def _lookup(self, query: Callable[[list[str]], Any], ids: Collection[str]) -> list[Any]:
        wanted, rows = sorted(set(ids)), []
        for i in range(0, len(wanted), CHUNK):
            rows.extend(self.conn.execute(query(wanted[i : i + CHUNK])))
        return rows

    def parties(self, user_ids: Collection[str]) -> dict[str, Party]:
        """The users among these ids that exist."""
        u = t.users.c
        rows = self._lookup(
            lambda ids: select(u.id, u.role, u.country).where(u.id.in_(ids)), user_ids
        )
        return {r.id: Party(role=r.role, country=r.country) for r in rows}

    def existing_orders(self, order_ids: Collection[str]) -> set[str]:
        """The order ids among these that exist already."""
        o = t.orders.c
        return {
            r.id for r in self._lookup(lambda ids: select(o.id).where(o.id.in_(ids)), order_ids)
        }

    def write(self, orders: Sequence[Order]) -> None:
        """Insert the aggregates: orders first, then what they own."""
        try:
            for shape, part in SHAPES:
                objs = [x for o in orders for x in part(o)]
                if objs and self.pg:
                    self._copy(shape, objs)
                elif objs:
                    self.conn.execute(insert(shape.table), [shape.row(x) for x in objs])
        except (IntegrityError, psycopg.IntegrityError) as exc:
            raise ConcurrentModification(f"the batch conflicted with another: {exc}") from exc
        for o in orders:
            for pending in (o.new_ledger, o.new_deadlines, o.new_events):
                pending.clear()

    def _copy(self, shape: _Shape, objs: list[Any]) -> None:
        raw = self.conn.connection.driver_connection
        assert raw is not None
        sql = f"COPY {shape.table.name} ({', '.join(shape.names)}) FROM STDIN"
        with raw.cursor() as cur, cur.copy(sql) as copy:
            for obj in objs:
                copy.write_row(shape.values(obj))

    def commit(self) -> None:
        """Commit; an id taken by a concurrent import means: check the batch again."""
        try:
            self.conn.commit()
        except (IntegrityError, OperationalError) as exc:
            raise ConcurrentModification(f"the batch conflicted with another: {exc.orig}") from exc


class SqlImportStore:
    """Opens import transactions on an engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[SqlImportSession]:
        """A transaction; leaving it without commit() rolls back."""
        with self.engine.connect() as conn:
            if readonly and is_sqlite(str(self.engine.url)):  # WAL readers never wait
                conn = conn.execution_options(sqlite_begin="DEFERRED")
            conn.begin()
            try:
                yield SqlImportSession(conn)
            finally:
                if conn.in_transaction():
                    conn.rollback()
