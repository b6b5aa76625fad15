"""Checks made from the database itself: the books balance and no order is over-refunded.

Also the small helpers the returns/disputes tests share (a snapshot of an order's money state,
to show that a refused request changed nothing)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from aftersale.adapters.db import tables as t
from tests.client import Api, Party

ZERO = Decimal(0)


def _sums(engine: Engine) -> tuple[dict[str, Decimal], dict[tuple[str, str], Decimal]]:
    """Per txn_id and per (order, account), the sum of the ledger legs."""
    lg = t.ledger.c
    with engine.connect() as conn:
        txns = conn.execute(select(lg.txn_id, func.sum(lg.amount)).group_by(lg.txn_id)).all()
        accounts = conn.execute(
            select(lg.order_id, lg.account, func.sum(lg.amount)).group_by(lg.order_id, lg.account)
        ).all()
    return (
        {txn: Decimal(total or 0) for txn, total in txns},
        {(order, account): Decimal(total or 0) for order, account, total in accounts},
    )


def _refunds(engine: Engine) -> tuple[dict[str, Decimal], dict[str, Decimal], list[Any]]:
    """Per order: live refunds, refunds still in transit; and every refund's source."""
    live: dict[str, Decimal] = defaultdict(Decimal)
    moving: dict[str, Decimal] = defaultdict(Decimal)
    r = t.refunds.c
    with engine.connect() as conn:
        rows = conn.execute(select(r.order_id, r.amount, r.status, r.source_type, r.source_id))
        sources = []
        for order_id, amount, status, source_type, source_id in rows:
            sources.append((source_type, source_id))
            if str(status) != "failed":
                live[order_id] += amount
            if str(status) in ("pending", "processing"):
                moving[order_id] += amount
    return live, moving, sources


def ledger_problems(engine: Engine) -> list[str]:
    """Every way the stored books fail to add up; empty when they are sound."""
    txns, accounts = _sums(engine)
    live, moving, sources = _refunds(engine)
    problems = [f"txn {txn} sums to {total}" for txn, total in txns.items() if total != 0]
    if len(sources) != len(set(sources)):
        problems.append("a refund source was refunded more than once")
    o = t.orders.c
    with engine.connect() as conn:
        orders = conn.execute(
            select(o.id, o.paid_amount, o.refunded_amount, o.released_amount)
        ).all()
    for oid, paid, refunded, released in orders:
        escrow = accounts.get((oid, "escrow"), ZERO)
        if escrow != paid - refunded - released:
            problems.append(f"{oid}: escrow {escrow} != {paid} - {refunded} - {released}")
        if live.get(oid, ZERO) != refunded:
            problems.append(
                f"{oid}: refunds add up to {live.get(oid)} but the order says {refunded}"
            )
        if refunded + released > paid:
            problems.append(f"{oid}: refunded {refunded} + released {released} > paid {paid}")
        if accounts.get((oid, "refunds_in_transit"), ZERO) != moving.get(oid, ZERO):
            problems.append(f"{oid}: refunds in transit do not match pending refunds")
        payable = accounts.get((oid, "seller_payable"), ZERO)
        if payable + accounts.get((oid, "platform_revenue"), ZERO) != released:
            problems.append(f"{oid}: seller payable + platform revenue != released {released}")
    return problems


def assert_books_balance(engine: Engine) -> None:
    """Fail with the list of problems unless the books add up."""
    problems = ledger_problems(engine)
    assert problems == [], problems


def ledger_rows(engine: Engine, order_id: str) -> list[tuple[str, str, Decimal]]:
    """An order's ledger legs as (kind, account, amount), oldest first."""
    lg = t.ledger.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(lg.kind, lg.account, lg.amount).where(lg.order_id == order_id).order_by(lg.seq)
        ).all()
    return [(kind, account, Decimal(amount)) for kind, account, amount in rows]


def snapshot(api: Api, order_id: str) -> dict[str, Any]:
    """What a refused request must leave alone: version, status, money and what the order owns."""
    order = api.get_order(order_id, api.admin)
    return {
        k: order[k]
        for k in ("version", "status", "refunded_amount", "refunds", "returns", "disputes")
    }


def refused(
    api: Api, response: httpx.Response, status: int, code: str, order_id: str, before: Any
) -> None:
    """The response is the given problem and the order is exactly as it was."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert snapshot(api, order_id) == before


def amount(value: dict[str, str] | None) -> Decimal:
    """The Decimal of a money object."""
    assert value is not None
    return Decimal(value["amount"])


def party_pair(api: Api) -> tuple[Party, Party]:
    """A new buyer and a new seller."""
    return api.user("buyer"), api.user("seller")


def ask_return(
    api: Api, order: dict[str, Any], buyer: Party, items: list[dict[str, Any]]
) -> httpx.Response:
    """The buyer asks to return some items."""
    body = {"reason": "not_as_described", "items": items, "condition": "unopened"}
    return api.post(f"/orders/{order['id']}/returns", body, as_=buyer)


def returned_in_transit(
    api: Api, order: dict[str, Any], buyer: Party, seller: Party, items: list[dict[str, Any]]
) -> dict[str, Any]:
    """A return asked for, approved and shipped back."""
    ret = api.ok(ask_return(api, order, buyer, items), 201)
    api.ok(api.post(f"/returns/{ret['id']}/approve", as_=seller))
    ship = {"carrier": "UPS", "tracking_number": "RET1"}
    return api.ok(api.post(f"/returns/{ret['id']}/ship", ship, as_=buyer))


def ask_dispute(
    api: Api, order: dict[str, Any], buyer: Party, amount: str | None = None
) -> httpx.Response:
    """The buyer opens a dispute: full, or partial for `amount`."""
    body: dict[str, Any] = {
        "reason": "not_as_described",
        "refund_type": "full" if amount is None else "partial",
        "description": "The lamp is blue, not red",
    }
    if amount is not None:
        body["amount"] = amount
    return api.post(f"/orders/{order['id']}/disputes", body, as_=buyer)
