"""The worker writes a batch of deadlines together; when one item of a batch fails, the batch is
fired again item by item, so only the bad item is set aside and every other one still fires."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from aftersale.adapters.db import tables as t
from aftersale.domain.actors import Actor, Role
from aftersale.domain.context import Ctx
from aftersale.domain.errors import ConcurrentModification
from aftersale.domain.order import create_order
from aftersale.services.deadlines import fire_due
from aftersale.services.runtime import Runtime
from aftersale.services.users import create_user

ITEMS = [{"sku": "SKU-1", "title": "Lamp", "quantity": 1, "unit_price": "20.00"}]


def requested_orders(rt: Runtime, count: int, tag: str) -> list[str]:
    """Paid orders, each with a pending cancellation request (due to time out in 72 h)."""
    for role in ("buyer", "seller"):
        create_user(rt, None, email=f"{role}-{tag}@batches.test", name=role, role=role)
    with rt.uow(readonly=True) as uow:
        buyer = uow.users.by_email(f"buyer-{tag}@batches.test")
        seller = uow.users.by_email(f"seller-{tag}@batches.test")
    now = rt.clock.now()
    admin = Ctx(actor=Actor(user_id="admin", role=Role.ADMIN), now=now, calendar=rt.calendar)
    asker = Ctx(actor=Actor(user_id=buyer.id, role=Role.BUYER), now=now, calendar=rt.calendar)
    ids = []
    with rt.uow() as uow:
        for _ in range(count):
            order = create_order(
                buyer_id=buyer.id,
                seller_id=seller.id,
                currency="USD",
                items=ITEMS,
                shipping_fee="5.00",
                buyer_country="US",
                policy=rt.policy,
                ctx=admin,
            )
            order.record_payment(amount="25.00", method="card", reference="pay", ctx=admin)
            order.cancel(reason="changed_mind", comment=None, ctx=asker)
            uow.orders.add(order)
            ids.append(order.id)
        uow.commit()
    return ids


def add_deadline(rt: Runtime, *, kind: str, order_id: str, subject_id: str, due: datetime) -> None:
    with rt.uow() as uow:
        uow.conn.execute(  # type: ignore[attr-defined]
            insert(t.deadlines).values(
                kind=kind, order_id=order_id, subject_id=subject_id, due_at=due
            )
        )
        uow.commit()


def deadlines(rt: Runtime) -> dict[str, dict[str, Any]]:
    with rt.uow(readonly=True) as uow:
        rows = uow.conn.execute(select(t.deadlines)).mappings()  # type: ignore[attr-defined]
        return {f"{r['kind']}:{r['subject_id']}": dict(r) for r in rows}


def shape(rt: Runtime, order_ids: list[str]) -> list[Any]:
    """What the worker wrote for these orders, without ids and times (to compare two runs)."""
    out = []
    with rt.uow(readonly=True) as uow:
        conn = uow.conn  # type: ignore[attr-defined]
        for oid in order_ids:
            order = conn.execute(select(t.orders).where(t.orders.c.id == oid)).mappings().one()
            out.append(
                (
                    order["status"],
                    order["refunded_amount"],
                    [
                        r.status
                        for r in conn.execute(
                            select(t.cancellations).where(t.cancellations.c.order_id == oid)
                        )
                    ],
                    [
                        (r.status, r.amount, r.method)
                        for r in conn.execute(select(t.refunds).where(t.refunds.c.order_id == oid))
                    ],
                    [
                        r.event
                        for r in conn.execute(
                            select(t.timeline)
                            .where(t.timeline.c.order_id == oid)
                            .order_by(t.timeline.c.seq)
                        )
                    ],
                    sorted(
                        (r.account, r.amount, r.kind)
                        for r in conn.execute(select(t.ledger).where(t.ledger.c.order_id == oid))
                    ),
                    sorted(
                        r.type
                        for r in conn.execute(select(t.outbox).where(t.outbox.c.order_id == oid))
                    ),
                    sorted(
                        (r.kind, r.fired_at is not None)
                        for r in conn.execute(
                            select(t.deadlines).where(
                                t.deadlines.c.order_id == oid, t.deadlines.c.kind != "mystery"
                            )
                        )
                    ),
                )
            )
    return out


def fire_all(rt: Runtime, until: datetime) -> int:
    total = 0
    while taken := fire_due(rt, until=until, limit=500):
        total += taken
    return total


def test_a_bad_item_is_set_aside_and_every_other_item_of_its_batch_fires(rt: Runtime) -> None:
    good = requested_orders(rt, 6, "a")
    start = rt.clock.now()
    due = start + timedelta(hours=72, seconds=30)
    # an unknown kind, and a deadline whose order does not exist, in the middle of the batch
    add_deadline(rt, kind="mystery", order_id=good[2], subject_id="sub_mystery", due=due)
    add_deadline(rt, kind="unpaid_close", order_id="ord_gone", subject_id="ord_gone", due=due)
    until = start + timedelta(hours=73)

    assert fire_due(rt, until=until, limit=500) == 6 + 2  # one batch: both bad items in it
    rows = deadlines(rt)
    for key in ("mystery:sub_mystery", "unpaid_close:ord_gone"):
        bad = rows[key]
        assert bad["fired_at"] is None
        assert bad["attempts"] == 1
        assert bad["last_error"]
        assert bad["due_at"] == due + timedelta(seconds=60)
    timeouts = [r for r in rows.values() if r["kind"] == "cancellation_timeout"]
    assert len(timeouts) == 6 and all(r["fired_at"] == until for r in timeouts)
    # the refund submissions the timeouts created are due at once, and fire in the next batch,
    # together with nothing bad (the two bad ones wait for their retry time)
    assert fire_due(rt, until=start + timedelta(hours=72, seconds=60), limit=500) == 6
    rows = deadlines(rt)
    assert all(r["fired_at"] is not None for r in rows.values() if r["kind"] == "refund_submit")
    assert rows["mystery:sub_mystery"]["attempts"] == 1

    # the same orders fired by the fast path alone (no bad item: the two bad ones are not due
    # again before 72 h 90 s) end up the same
    others = requested_orders(rt, 6, "b")
    assert fire_all(rt, start + timedelta(hours=72, seconds=60)) == 12
    assert deadlines(rt)["mystery:sub_mystery"]["attempts"] == 1
    assert shape(rt, good) == shape(rt, others)
    state = shape(rt, good)[0]
    assert state[0] == "cancelled" and state[2] == ["auto_accepted"]
    assert [r[0] for r in state[3]] == ["processing"]
    assert "cancellation_auto_accepted" in state[4] and "cancelled" in state[4]
    assert rt.gateway.total_refunded() == 12 * 25  # type: ignore[attr-defined]


def test_a_deadline_that_does_nothing_fires_without_touching_its_order(rt: Runtime) -> None:
    [oid] = requested_orders(rt, 1, "c")
    start = rt.clock.now()
    seller_ctx = Ctx(actor=Actor(user_id="x", role=Role.SELLER), now=start, calendar=rt.calendar)
    with rt.uow() as uow:
        order = uow.orders.get(oid)
        assert order is not None
        order.reject_cancellation(reason="already shipped", ctx=seller_ctx)
        uow.orders.save(order)
        uow.commit()
    with rt.uow(readonly=True) as uow:
        before = uow.orders.get(oid, lock=False)
    assert before is not None
    fire_all(rt, start + timedelta(hours=73))
    rows = deadlines(rt)
    timeout = next(r for r in rows.values() if r["kind"] == "cancellation_timeout")
    assert timeout["fired_at"] is not None and timeout["attempts"] == 0
    with rt.uow(readonly=True) as uow:
        after = uow.orders.get(oid, lock=False)
    assert after is not None
    assert (after.version, after.status, after.updated_at) == (
        before.version,
        before.status,
        before.updated_at,
    )
    assert len(after.timeline) == len(before.timeline)


def test_a_batch_with_two_deadlines_of_one_order_writes_both(rt: Runtime) -> None:
    """Two firings on one order in one batch are applied in turn, then saved once."""
    [oid] = requested_orders(rt, 1, "d")
    start = rt.clock.now()
    until = start + timedelta(hours=73)
    # the timeout and (later in the same batch) an order_complete that finds nothing to do
    add_deadline(rt, kind="order_complete", order_id=oid, subject_id=f"{oid}-x", due=until)
    assert fire_due(rt, until=until, limit=500) >= 2
    fire_all(rt, until)
    rows = deadlines(rt)
    assert all(r["attempts"] == 0 for r in rows.values())
    kinds = Counter(r["kind"] for r in rows.values() if r["fired_at"] is not None)
    assert kinds["cancellation_timeout"] == 1 and kinds["refund_submit"] == 1
    assert kinds["order_complete"] == 1


def test_save_many_checks_every_orders_version(rt: Runtime) -> None:
    """The executemany UPDATE's row count is the sum over its rows: one stale order fails it."""
    ids = requested_orders(rt, 3, "e")
    ctx = Ctx(actor=Actor(user_id="x", role=Role.SELLER), now=rt.clock.now(), calendar=rt.calendar)
    with rt.uow() as uow:
        orders = uow.orders.get_many(ids, lock=True)
        for order in orders.values():
            order.reject_cancellation(reason="no", ctx=ctx)
        uow.conn.execute(  # type: ignore[attr-defined]
            update(t.orders).where(t.orders.c.id == ids[1]).values(version=t.orders.c.version + 1)
        )
        with pytest.raises(ConcurrentModification):
            uow.orders.save_many(list(orders.values()))
    with rt.uow() as uow:
        orders = uow.orders.get_many(ids, lock=True)
        for order in orders.values():
            order.reject_cancellation(reason="no", ctx=ctx)
        uow.orders.save_many(list(orders.values()))
        uow.commit()
    with rt.uow(readonly=True) as uow:
        saved = uow.orders.get_many(ids, lock=False)
    assert [saved[i].version for i in ids] == [1, 1, 1]
    assert all(o.cancellations[0].status == "rejected" for o in saved.values())


def test_the_sandbox_gateway_answers_a_repeated_key_with_the_refund_it_has(rt: Runtime) -> None:
    """One INSERT ... ON CONFLICT DO NOTHING RETURNING; a read only for a key it already has."""
    now = rt.clock.now()
    first = rt.gateway.refund(
        key="ref_same",
        amount=Decimal("12.50"),
        currency="USD",
        method="card",
        payment_reference="pay",
        at=now,
    )
    again = rt.gateway.refund(  # a retry, later and with other figures: the first one stands
        key="ref_same",
        amount=Decimal("99"),
        currency="USD",
        method="balance",
        payment_reference="pay",
        at=now + timedelta(days=4),
    )
    assert first.reference == again.reference == "sbx_ref_same"
    assert (first.status, again.status) == ("processing", "succeeded")
    assert first.settles_at == again.settles_at == now + timedelta(days=3)
    failed = rt.gateway.refund(
        key="ref_fail",
        amount=Decimal(1),
        currency="USD",
        method="card",
        payment_reference="fail-me",
        at=now,
    )
    assert failed.status == "failed"
    assert rt.gateway.total_refunded("ref_") == Decimal("13.50")  # type: ignore[attr-defined]
    status = rt.gateway.refund_status(reference="sbx_ref_same", at=now + timedelta(days=1))
    assert status.status == "processing"
