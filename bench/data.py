"""The benchmark's database and data: a fresh database, users, and many orders written fast.

Orders are built by the domain (so they are exactly what the engine would make) and written
with one multi-row INSERT per table per chunk, not order by order."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, insert

from aftersale.adapters.db import tables as t
from aftersale.adapters.db.engine import make_engine
from aftersale.adapters.db.migrate import migrate
from aftersale.adapters.db.orders_repo import CHILDREN, SqlOrderRepository, row_of
from aftersale.domain.actors import Actor, Role
from aftersale.domain.context import Ctx
from aftersale.domain.order import Order, create_order
from aftersale.services.runtime import Runtime
from aftersale.services.users import create_user

PG_SERVER = os.environ.get("AFTERSALE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
# (set AFTERSALE_BENCH_DB to run two benchmarks side by side: each drops and makes its own)
DB_NAME = os.environ.get("AFTERSALE_BENCH_DB", "aftersale_bench")
ITEMS = [
    {"sku": "SKU-1", "title": "Lamp", "quantity": 2, "unit_price": "20.00"},
    {"sku": "SKU-2", "title": "Bulb", "quantity": 3, "unit_price": "5.00"},
]
BUYER_TOKEN = "bench-buyer-token-0123456789"
SELLER_TOKEN = "bench-seller-token-0123456789"
ADMIN_TOKEN = "bench-admin-token-0123456789"
ADMIN = Actor(user_id="admin", role=Role.ADMIN)


def fresh_database(name: str = DB_NAME) -> str:
    """Drop and create a benchmark's own database; returns its migrated URL."""
    url = _create(name, "")
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


def clone_database(name: str, template: str) -> str:
    """A fresh copy of a built database (a file copy: seconds, where rebuilding a million
    orders takes minutes); returns its URL."""
    return _create(name, f' TEMPLATE "{template}" STRATEGY FILE_COPY')


def _create(name: str, how: str) -> str:
    _admin(
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}"{how}',
        # Commits without waiting for the WAL flush, for ours and the ceiling alike: on this
        # disk a flush costs ~10 ms, which would make both figures measure the disk alone.
        f'ALTER DATABASE "{name}" SET synchronous_commit = off',
    )
    return database_url(name)


def database_url(name: str) -> str:
    """A benchmark database's URL."""
    return f"{PG_SERVER}/{name}"


def database_exists(name: str) -> bool:
    """Whether the server holds a database of that name."""
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT 1 FROM pg_database WHERE datname = %(n)s", {"n": name}
        ).first()
    admin.dispose()
    return found is not None


def drop_database(name: str) -> None:
    """Drop a benchmark's database."""
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def checkpoint() -> None:
    """Write every dirty page out now. Each measured round starts after one, so a checkpoint
    that the previous round's writes made due (every ~25-40 s under load at the default
    max_wal_size of 1 GB) does not land in the next round: its sync phase took up to 1.7 s
    here and stalled requests for over 2 s (wrk's timeouts, in the same round of two runs)."""
    _admin("CHECKPOINT")


def _admin(*statements: str) -> None:
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for sql in statements:
            conn.exec_driver_sql(sql)
    admin.dispose()


def make_users(rt: Runtime) -> tuple[str, str]:
    """A buyer and a seller with known tokens; returns their ids."""
    buyer = create_user(
        rt, None, email="buyer@bench.test", name="Buyer", role="buyer", token=BUYER_TOKEN
    )
    seller = create_user(
        rt, None, email="seller@bench.test", name="Seller", role="seller", token=SELLER_TOKEN
    )
    return buyer["id"], seller["id"]


def make_orders(
    rt: Runtime,
    engine: Engine,
    *,
    count: int,
    buyer_id: str,
    seller_id: str,
    at: datetime,
    requested: bool,
    paid: bool = True,
    chunk: int = 1000,
) -> list[str]:
    """`count` orders placed at `at`, paid unless asked otherwise, each with a pending
    cancellation request if asked."""
    admin = Ctx(actor=ADMIN, now=at, calendar=rt.calendar)
    buyer = Ctx(actor=Actor(user_id=buyer_id, role=Role.BUYER), now=at, calendar=rt.calendar)
    ids: list[str] = []
    for start in progress(range(0, count, chunk), f"{count:,} orders", count > 5 * chunk):
        orders = []
        for _ in range(min(chunk, count - start)):
            order = create_order(
                buyer_id=buyer_id,
                seller_id=seller_id,
                currency="USD",
                items=ITEMS,
                shipping_fee="5.00",
                buyer_country="US",
                policy=rt.policy,
                ctx=admin,
            )
            if paid:
                order.record_payment(
                    amount=str(order.total), method="card", reference="pay", ctx=admin
                )
            if requested:
                order.cancel(reason="changed_mind", comment=None, ctx=buyer)
            orders.append(order)
        with engine.begin() as conn:
            write_orders(conn, orders)
        ids += [o.id for o in orders]
    return ids


def analyzed_orders(
    rt: Runtime,
    engine: Engine,
    parties: tuple[str, str],
    *,
    count: int,
    at: datetime,
    requested: bool,
    paid: bool = True,
    table: str = "",
) -> list[str]:
    """`make_orders` for a (buyer, seller), then ANALYZE (this server runs with autovacuum
    off: freshly loaded tables get statistics, as autovacuum would give them)."""
    buyer_id, seller_id = parties
    made = make_orders(
        rt,
        engine,
        count=count,
        buyer_id=buyer_id,
        seller_id=seller_id,
        at=at,
        requested=requested,
        paid=paid,
    )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"ANALYZE {table}".strip())
        # and write the build's dirty pages out now, so no checkpoint of the build's WAL
        # lands in the first measured run (it did: the first API scenario ran at half speed)
        conn.exec_driver_sql("CHECKPOINT")
    return made


def write_orders(conn: Any, orders: list[Order]) -> None:
    """One multi-row INSERT per table for a chunk of new orders."""
    repo = SqlOrderRepository(conn, locking=True)
    rows: dict[Any, list[dict[str, Any]]] = {t.orders: [repo._order_row(o) for o in orders]}
    for name, table, _ in CHILDREN:
        rows[table] = [row_of(c) for o in orders for c in getattr(o, name)]
    rows[t.timeline] = [row_of(e) for o in orders for e in o.timeline]
    rows[t.ledger] = [row_of(x) for o in orders for x in o.new_ledger]
    rows[t.deadlines] = [row_of(x) for o in orders for x in o.new_deadlines]
    rows[t.outbox] = [row_of(x) for o in orders for x in o.new_events]
    for table, values in rows.items():
        if values:
            conn.execute(insert(table), values)


def progress(steps: range, what: str, show: bool) -> Iterable[int]:
    """The steps, with a progress bar on stderr for long phases."""
    if not show:
        return steps
    from rich.console import Console
    from rich.progress import track

    return track(steps, description=f"building {what}", console=Console(stderr=True))


def write_ids(ids: list[str], path: Path) -> Path:
    """The ids, one a line, for the wrk script."""
    path.write_text("\n".join(ids) + "\n")
    return path
