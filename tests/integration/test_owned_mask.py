"""Loading an order skips the child tables it has no rows in (orders.owned), and never
misses one it has rows in."""

from __future__ import annotations

from sqlalchemy import event, select, update

from aftersale.adapters.db import tables as t
from aftersale.domain.actors import Actor, Role
from aftersale.services import cancellation, orders
from aftersale.services.runtime import Runtime
from aftersale.services.users import create_user

ITEMS = [{"sku": "A", "title": "Lamp", "quantity": 1, "unit_price": "10.00"}]


def owned(rt: Runtime, order_id: str) -> int:
    with rt.uow(readonly=True) as uow:
        return int(
            uow.conn.execute(select(t.orders.c.owned).where(t.orders.c.id == order_id)).scalar_one()
        )


def test_the_owned_bits_follow_the_children_and_loading_skips_empty_tables(rt: Runtime) -> None:
    admin = Actor("admin", Role.ADMIN)
    buyer = create_user(rt, None, email="b@example.test", name="B", role="buyer")
    seller = create_user(rt, None, email="s@example.test", name="S", role="seller")
    order = orders.place_order(
        rt, admin, buyer_id=buyer["id"], seller_id=seller["id"], currency="USD", items=ITEMS
    )
    assert owned(rt, order["id"]) == 0
    orders.record_payment(rt, admin, order["id"], amount="10.00", method="card", reference="p")
    cancellation.cancel(rt, Actor(buyer["id"], Role.BUYER), order["id"], reason="other")
    assert owned(rt, order["id"]) == 1
    done = cancellation.accept_cancellation(rt, Actor(seller["id"], Role.SELLER), order["id"])
    assert owned(rt, order["id"]) == 1 | 2
    assert len(done["refunds"]) == 1

    statements: list[str] = []
    engine = rt.engine  # type: ignore[attr-defined]
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with rt.uow(readonly=True) as uow:
            loaded = uow.orders.get(order["id"], lock=False)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert loaded is not None and len(loaded.refunds) == 1 and len(loaded.cancellations) == 1
    touched = " ".join(statements)
    assert "FROM returns" not in touched and "FROM disputes" not in touched
    assert "FROM refunds" in touched and "FROM cancellations" in touched


def test_an_order_with_the_default_mask_loads_every_child_table(rt: Runtime) -> None:
    admin = Actor("admin", Role.ADMIN)
    buyer = create_user(rt, None, email="b2@example.test", name="B", role="buyer")
    seller = create_user(rt, None, email="s2@example.test", name="S", role="seller")
    order = orders.place_order(
        rt, admin, buyer_id=buyer["id"], seller_id=seller["id"], currency="USD", items=ITEMS
    )
    orders.record_payment(rt, admin, order["id"], amount="10.00", method="card", reference="p")
    cancellation.seller_cancel(rt, Actor(seller["id"], Role.SELLER), order["id"], reason="stock")
    with rt.uow() as uow:  # as a row written before the column existed, or by an old importer
        uow.conn.execute(update(t.orders).where(t.orders.c.id == order["id"]).values(owned=15))
        uow.commit()
    with rt.uow(readonly=True) as uow:
        loaded = uow.orders.get(order["id"], lock=False)
    assert loaded is not None and [r.amount for r in loaded.refunds] == [10]
