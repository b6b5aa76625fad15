"""Payment gateways. The sandbox keeps its own books in its own table and transactions,
as an outside gateway would, and is idempotent on the key it is given."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from aftersale.adapters.db import fast
from aftersale.adapters.db import tables as t
from aftersale.adapters.db.engine import is_sqlite, make_engine
from aftersale.services.ports import GatewayRefund, RefundRequest

COLUMNS = ("key", "reference", "amount", "currency", "method", "created_at", "settles_at")


class OneRefundAsABatch:
    """`refund` as a batch of one (a gateway implements `refund_many`)."""

    def refund_many(self, requests: list[RefundRequest]) -> dict[str, GatewayRefund]:
        """Create several refunds (or find those made before with their keys), by key."""
        raise NotImplementedError

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
        """Create (or find, for a repeated key) one refund at the gateway."""
        request = RefundRequest(key, amount, currency, method, payment_reference, at)
        return self.refund_many([request])[key]


class SandboxGateway(OneRefundAsABatch):
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
        # A single refund runs in autocommit on PostgreSQL (no BEGIN / COMMIT round trips);
        # a batch in one transaction. SQLite always takes its BEGIN IMMEDIATE transaction (the
        # file's one writer).
        self._direct = (
            self.engine if sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    def check_payment(self, *, reference: str, amount: Decimal, currency: str) -> str | None:
        """The sandbox takes any payment reference as a payment made."""
        return None

    def refund_many(self, requests: list[RefundRequest]) -> dict[str, GatewayRefund]:
        """Create (or find, for repeated keys) refunds at the gateway, in one transaction of
        the gateway's own: one `INSERT ... ON CONFLICT (key) DO NOTHING` for them all (a
        driver executemany), then one read of every key's row, so a key sent before is
        answered with the refund it already has."""
        if not requests:
            return {}
        rows = [self._row(r) for r in requests]
        keys = sorted({r.key for r in requests})
        engine = self._direct if len(requests) == 1 else self.engine
        with engine.begin() as conn:
            fast.executemany(conn, self._compiled_insert(conn), rows)
            found = fast.rows(conn, self._compiled_select(conn, len(keys)), fast.among(conn, keys))
        by_key = {row["key"]: row for row in found}
        return {r.key: _answer(by_key[r.key], r.at) for r in requests}

    def _row(self, r: RefundRequest) -> dict[str, Any]:
        settles = r.at if r.method == "balance" else r.at + self.card_delay
        return {
            "key": r.key,
            "reference": f"sbx_{r.key}",
            "amount": r.amount,
            "currency": r.currency,
            "method": r.method if not r.payment_reference.startswith("fail") else "fail",
            "created_at": r.at,
            "settles_at": settles,
        }

    def _compiled_insert(self, conn: Any) -> fast.Compiled:
        sr = t.sandbox_refunds
        return fast.compiled(
            conn,
            ("sandbox_refunds", "insert"),
            lambda: self._insert(sr).on_conflict_do_nothing(index_elements=[sr.c.key]),
            COLUMNS,
        )

    def _compiled_select(self, conn: Any, n: int) -> fast.Compiled:
        sr = t.sandbox_refunds
        return fast.compiled(
            conn,
            ("sandbox_refunds", "of", fast.width(conn, n)),
            lambda: select(sr).where(fast.one_of(conn, sr.c.key, n)),
        )

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
