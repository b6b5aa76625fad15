"""The escrow ledger, completion, and the database's own refusal to over-refund."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from aftersale.adapters.db import tables as t
from aftersale.services.runtime import Runtime
from tests.client import DAY, Api
from tests.integration.ledger_check import (
    amount,
    ask_dispute,
    ask_return,
    assert_books_balance,
    ledger_problems,
    ledger_rows,
    returned_in_transit,
)

D = Decimal


def engine_of(rt: Runtime) -> Engine:
    """The runtime's engine."""
    engine: Engine = rt.engine  # type: ignore[attr-defined]
    return engine


def test_completion_releases_the_held_funds_to_the_seller(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    api.advance(15 * DAY)
    assert api.get_order(order["id"], buyer)["status"] == "delivered"
    api.advance(1)
    done = api.get_order(order["id"], buyer)
    assert done["status"] == "completed"
    assert "open_return" not in done["allowed_actions"]
    assert ledger_rows(engine_of(rt), order["id"]) == [
        ("payment", "buyer_funding", D(-60)),
        ("payment", "escrow", D(60)),
        ("release", "escrow", D(-60)),
        ("release", "seller_payable", D(60)),
    ]
    assert_books_balance(engine_of(rt))


def test_an_open_return_delays_completion_and_only_the_rest_is_released(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    api.advance(14 * DAY)
    ret = returned_in_transit(api, order, buyer, seller, [{"sku": "SKU-2", "quantity": 3}])
    api.advance(14 * DAY)  # (the seller has 15 days to receive it)
    assert api.get_order(order["id"], buyer)["status"] == "delivered"
    api.ok(api.post(f"/returns/{ret['id']}/receive", {"condition_ok": True}, as_=seller))
    done = api.get_order(order["id"], buyer)
    assert (done["status"], amount(done["refunded_amount"])) == ("completed", D(15))
    release = [r for r in ledger_rows(engine_of(rt), order["id"]) if r[0] == "release"]
    assert release == [("release", "escrow", D(-45)), ("release", "seller_payable", D(45))]
    assert_books_balance(engine_of(rt))


def test_a_failed_refund_puts_the_money_back_in_escrow(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.order(buyer, seller)
    api.pay(order, reference="fail-card")
    api.ok(api.post(f"/orders/{order['id']}/seller-cancel", {"reason": "no stock"}, as_=seller))
    api.advance(1)
    after = api.get_order(order["id"], buyer)
    assert [r["status"] for r in after["refunds"]] == ["failed"]
    assert amount(after["refunded_amount"]) == 0
    kinds = [k for k, _, _ in ledger_rows(engine_of(rt), order["id"])]
    assert kinds.count("refund_failed") == 2
    assert_books_balance(engine_of(rt))


def test_a_busy_order_keeps_balanced_books_through_every_kind_of_refund(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    cancelled = api.paid_order(buyer, seller, method="balance")
    api.ok(api.post(f"/orders/{cancelled['id']}/seller-cancel", {"reason": "gone"}, as_=seller))
    order = api.delivered_order(buyer, seller)
    ret = returned_in_transit(api, order, buyer, seller, [{"sku": "SKU-1", "quantity": 1}])
    dispute = api.ok(ask_dispute(api, order, buyer, "30"), 201)
    api.ok(api.post(f"/returns/{ret['id']}/receive", {"condition_ok": True}, as_=seller))
    assert_books_balance(engine_of(rt))
    api.ok(api.post(f"/disputes/{dispute['id']}/propose", {"amount": "25"}, as_=seller))
    api.ok(api.post(f"/disputes/{dispute['id']}/accept-proposal", as_=buyer))
    api.ok(ask_return(api, order, buyer, [{"sku": "SKU-2", "quantity": 1}]), 201)
    api.advance(40 * DAY)
    assert api.get_order(order["id"], buyer)["status"] == "completed"
    assert api.get_order(cancelled["id"], buyer)["refunds"][0]["status"] == "succeeded"
    totals = {
        a: sum(x for _, acc, x in ledger_rows(engine_of(rt), order["id"]) if acc == a)
        for a in ("escrow", "refunds_in_transit", "seller_payable", "buyer_funding")
    }
    assert totals == {
        "escrow": 0,
        "refunds_in_transit": 0,
        "seller_payable": D(15),
        "buyer_funding": D(-15),
    }
    assert_books_balance(engine_of(rt))


def test_the_database_refuses_refunded_amount_above_paid_amount(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    o = t.orders.c
    with pytest.raises(IntegrityError, match="refund_ceiling"), engine_of(rt).begin() as conn:
        conn.execute(update(t.orders).where(o.id == order["id"]).values(refunded_amount=D("60.01")))
    with engine_of(rt).connect() as conn:
        stored = conn.execute(select(o.refunded_amount).where(o.id == order["id"])).scalar_one()
    assert stored == 0
    assert_books_balance(engine_of(rt))


def test_the_database_refuses_a_second_refund_for_the_same_source(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    api.ok(api.post(f"/orders/{order['id']}/seller-cancel", {"reason": "gone"}, as_=seller))
    with engine_of(rt).connect() as conn:
        row = dict(conn.execute(select(t.refunds)).mappings().one())
    with pytest.raises(IntegrityError), engine_of(rt).begin() as conn:
        conn.execute(insert(t.refunds).values(**{**row, "id": "ref_duplicate"}))
    with engine_of(rt).connect() as conn:
        assert len(conn.execute(select(t.refunds.c.id)).all()) == 1


def test_the_books_check_notices_an_unbalanced_posting_and_a_wrong_escrow(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    assert ledger_problems(engine_of(rt)) == []
    with engine_of(rt).begin() as conn:
        conn.execute(
            insert(t.ledger).values(
                order_id=order["id"],
                txn_id="txn_bogus",
                account="escrow",
                amount=D(1),
                currency="USD",
                kind="bogus",
                at=rt.clock.now(),
            )
        )
    problems = ledger_problems(engine_of(rt))
    assert any("txn_bogus" in p for p in problems)
    assert any("escrow 61" in p for p in problems)
