"""The seller's actions on an order's lines and timers: cancel some items (with a quantity per
line) of an unshipped order, and extend a shipped order's purchase protection."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from aftersale.entrypoints.web.forms import form_fields, quantities
from aftersale.entrypoints.web.seller import Csrf, Next, Seller, act, back_to
from aftersale.entrypoints.web.session import actor_of, runtime_of
from aftersale.services import cancellation, orders

router = APIRouter(prefix="/seller")


@router.post("/orders/{order_id}/cancel-items", dependencies=[Csrf])
async def cancel_items(request: Request, order_id: str, user: Seller) -> Response:
    """Cancel some quantities of an unshipped order's lines; the order goes on with the rest."""
    form, rt, actor = await form_fields(request), runtime_of(request), actor_of(user)
    back = back_to(form.get("next", ""), order_id)
    return await run_in_threadpool(
        lambda: act(
            request,
            user,
            lambda: cancellation.seller_cancel(
                rt, actor, order_id, reason=form.get("reason", ""), items=quantities(form)
            ),
            done="Items cancelled; the buyer has been told and refunded their price if paid.",
            back=back,
            form=("cancel-items", form),
        )
    )


@router.post("/orders/{order_id}/extend-protection", dependencies=[Csrf])
def extend_protection(
    request: Request,
    order_id: str,
    user: Seller,
    days: Annotated[str, Form()] = "",
    nxt: Next = "",
) -> Response:
    """Give a shipped order's parcel more days before its receipt is confirmed."""
    rt, actor, back = runtime_of(request), actor_of(user), back_to(nxt, order_id)
    value: object = int(days) if days.strip().isdigit() else days
    return act(
        request,
        user,
        lambda: orders.extend_protection(rt, actor, order_id, days=value),
        done="Purchase protection extended; the buyer can see the new date.",
        back=back,
        form=("extend", {"days": days}),
    )
