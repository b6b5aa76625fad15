"""Payment gateways. The sandbox keeps its own books in its own table and transactions,
as an outside gateway would, and is idempotent on the key it is given."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from aftersale.adapters.db import tables as t
from aftersale.adapters.db.engine import is_sqlite, make_engine
from aftersale.services.ports import GatewayRefund


class SandboxGateway:
    """Balance refunds succeed at once; card refunds after `card_delay` (3 to 20 days).

    A payment reference starting with ``fail`` makes its refunds fail, to exercise that path.
    """

    def __init__(self, engine: Engine, *, card_delay: timedelta = timedelta(days=3)) -> None:
        if not timedelta(days=3) <= card_delay <= timedelta(days=20):
            raise ValueError("the sandbox card refund delay must be within 3 to 20 days")
        self.engine = _own_engine(engine)
        self.card_delay = card_delay
        t.sandbox_refunds.create(self.engine, checkfirst=True)
        sqlite = is_sqlite(str(self.engine.url))
        self._insert = sqlite_insert if sqlite else pg_insert
        # Each call is one statement (two only on a repeated key), atomic on its own: on
        # PostgreSQL it runs in autocommit, without BEGIN / COMMIT round trips; SQLite keeps
        # its BEGIN IMMEDIATE transaction (the file's one writer).
        self._direct = (
            self.engine if sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    def refund(
        self,
        *,
        key: str,
        amount: Decimal,
        currency: str,
        method: str,
        payment_reference: str,
        at: datetime,
    ) -> GatewayRefund:
        """Create (or find, for a repeated key) the refund at the gateway: one statement,
        `INSERT ... ON CONFLICT (key) DO NOTHING RETURNING *`, and a read only when the key
        was already there (PostgreSQL: one round trip, in autocommit, on one checkout)."""
        settles = at if method == "balance" else at + self.card_delay
        sr = t.sandbox_refunds
        statement = (
            self._insert(sr)
            .values(
                key=key,
                reference=f"sbx_{key}",
                amount=amount,
                currency=currency,
                method=method if not payment_reference.startswith("fail") else "fail",
                created_at=at,
                settles_at=settles,
            )
            .on_conflict_do_nothing(index_elements=[sr.c.key])
            .returning(*sr.c)
        )
        with self._direct.begin() as conn:
            row = conn.execute(statement).mappings().first()
            if row is None:  # the same key again: answer with the refund it already has
                row = conn.execute(select(sr).where(sr.c.key == key)).mappings().one()
        return _answer(row, at)

    def refund_status(self, *, reference: str, at: datetime) -> GatewayRefund:
        """Where a refund stands at the gateway at moment `at`."""
        return self._status(reference.removeprefix("sbx_"), at)

    def _status(self, key: str, at: datetime) -> GatewayRefund:
        with self._direct.connect() as conn:
            row = (
                conn.execute(select(t.sandbox_refunds).where(t.sandbox_refunds.c.key == key))
                .mappings()
                .one()
            )
        return _answer(row, at)

    def total_refunded(self, key_prefix: str = "") -> Decimal:
        """What the sandbox has paid out (for tests that check nothing is paid twice)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.sandbox_refunds.c.amount).where(
                    t.sandbox_refunds.c.key.startswith(key_prefix)
                )
            ).scalars()
            return sum(rows, Decimal(0))


def _answer(row: Any, at: datetime) -> GatewayRefund:
    """A stored sandbox refund as the gateway's answer at moment `at`."""
    if row["method"] == "fail":
        return GatewayRefund(
            reference=row["reference"],
            status="failed",
            settles_at=None,
            failure="declined by the sandbox",
        )
    done = at >= row["settles_at"]
    return GatewayRefund(
        reference=row["reference"],
        status="succeeded" if done else "processing",
        settles_at=row["settles_at"],
        failure=None,
    )


def _own_engine(engine: Engine) -> Engine:
    """The sandbox keeps its books apart, as an outside gateway would: on SQLite in a file of
    its own (one file has one writer, and the worker holds it while it calls the gateway),
    on PostgreSQL through connections of its own."""
    url = engine.url
    if not is_sqlite(str(url)):  # same database, but a pool of its own: never starve the app's
        return make_engine(url.render_as_string(hide_password=False), pool_size=4)
    return make_engine(str(url.set(database=f"{url.database}.sandbox-gateway")))
