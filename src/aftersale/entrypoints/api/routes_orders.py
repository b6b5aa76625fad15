"""Orders, cancellations and refunds."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query

from aftersale.domain.actors import Actor
from aftersale.domain.reasons import CANCELLATION_REASONS
from aftersale.entrypoints.api import schemas as s
from aftersale.entrypoints.api.deps import ActorDep, RtDep, role
from aftersale.entrypoints.api.responses import JSONResponse
from aftersale.services import cancellation, orders, refunds, shapes
from aftersale.services.common import read_order
from aftersale.services.runtime import Runtime
from aftersale.services.views import reason_list

router = APIRouter(prefix="/api/v1")
NoBody = Annotated[dict | None, Body()]


@router.get("/cancellation-reasons", tags=["cancellation"], response_model=list[shapes.Reason])
def cancellation_reasons(actor: ActorDep) -> list[shapes.Reason]:
    """The reasons a buyer picks from when cancelling."""
    return reason_list(CANCELLATION_REASONS)


# What the busiest writes do once the caller and the body are known: shared by their routes
# below and by hot_routes.py, which answers the same requests without FastAPI's routing.
def do_create_order(rt: Runtime, actor: Actor, _: str, body: s.NewOrder) -> JSONResponse:
    """Place the order: 201 with it."""
    return JSONResponse(orders.place_order(rt, actor, **body.model_dump()), status_code=201)


def do_pay(rt: Runtime, actor: Actor, order_id: str, body: s.Payment) -> JSONResponse:
    """Record the payment: 200 with the order."""
    return JSONResponse(orders.record_payment(rt, actor, order_id, **body.model_dump()))


def do_cancel(rt: Runtime, actor: Actor, order_id: str, body: s.CancelBody) -> JSONResponse:
    """Cancel at once (200) or request cancellation (202), with the order."""
    done, view = cancellation.cancel(rt, actor, order_id, **body.model_dump())
    return JSONResponse(view, status_code=200 if done else 202)


def do_accept_cancellation(rt: Runtime, actor: Actor, order_id: str, _: object) -> JSONResponse:
    """Accept the buyer's request: 200 with the order."""
    return JSONResponse(cancellation.accept_cancellation(rt, actor, order_id))


@router.post("/orders", status_code=201, tags=["orders"], response_model=shapes.Order)
def create_order(
    rt: RtDep, body: s.NewOrder, actor: Actor = Depends(role("create_order"))
) -> JSONResponse:
    """Place an order awaiting payment (admin: the storefront's integration)."""
    return do_create_order(rt, actor, "", body)


@router.get("/orders", tags=["orders"], response_model=shapes.OrderPage)
def list_orders(
    rt: RtDep,
    actor: ActorDep,
    status: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query()] = 50,
) -> JSONResponse:
    """The caller's orders, newest first."""
    return JSONResponse(orders.order_page(rt, actor, status=status, cursor=cursor, limit=limit))


@router.get("/orders/{order_id}", tags=["orders"], response_model=shapes.Order)
def get_order(rt: RtDep, actor: ActorDep, order_id: str) -> JSONResponse:
    """One order as the caller sees it."""
    return JSONResponse(read_order(rt, actor, order_id))


@router.post("/orders/{order_id}/payment", tags=["orders"], response_model=shapes.Order)
def pay(
    rt: RtDep, order_id: str, body: s.Payment, actor: Actor = Depends(role("pay"))
) -> JSONResponse:
    """Record the payment of the order's total."""
    return do_pay(rt, actor, order_id, body)


@router.post("/orders/{order_id}/pack", tags=["orders"], response_model=shapes.Order)
def pack(
    rt: RtDep, order_id: str, _: NoBody = None, actor: Actor = Depends(role("pack"))
) -> JSONResponse:
    """The seller packed the order."""
    return JSONResponse(orders.pack(rt, actor, order_id))


@router.post("/orders/{order_id}/ship", tags=["orders"], response_model=shapes.Order)
def ship(
    rt: RtDep, order_id: str, body: s.Shipment, actor: Actor = Depends(role("ship"))
) -> JSONResponse:
    """The seller shipped the order."""
    return JSONResponse(orders.ship(rt, actor, order_id, **body.model_dump()))


@router.post("/orders/{order_id}/deliver", tags=["orders"], response_model=shapes.Order)
def deliver(
    rt: RtDep, order_id: str, _: NoBody = None, actor: Actor = Depends(role("deliver"))
) -> JSONResponse:
    """The carrier delivered the order."""
    return JSONResponse(orders.deliver(rt, actor, order_id))


@router.post("/orders/{order_id}/confirm-receipt", tags=["orders"], response_model=shapes.Order)
def confirm_receipt(
    rt: RtDep, order_id: str, _: NoBody = None, actor: Actor = Depends(role("confirm_receipt"))
) -> JSONResponse:
    """The buyer confirms receipt."""
    return JSONResponse(orders.confirm_receipt(rt, actor, order_id))


@router.post(
    "/orders/{order_id}/cancel",
    tags=["cancellation"],
    responses={202: {"description": "cancellation requested"}},
    response_model=shapes.Order,
)
def cancel(
    rt: RtDep, order_id: str, body: s.CancelBody, actor: Actor = Depends(role("cancel"))
) -> JSONResponse:
    """Cancel an unpaid order (200) or request cancellation of a paid one (202)."""
    return do_cancel(rt, actor, order_id, body)


@router.post(
    "/orders/{order_id}/cancellation/accept", tags=["cancellation"], response_model=shapes.Order
)
def accept_cancellation(
    rt: RtDep, order_id: str, _: NoBody = None, actor: Actor = Depends(role("accept_cancellation"))
) -> JSONResponse:
    """The seller accepts the cancellation request."""
    return do_accept_cancellation(rt, actor, order_id, None)


@router.post(
    "/orders/{order_id}/cancellation/reject", tags=["cancellation"], response_model=shapes.Order
)
def reject_cancellation(
    rt: RtDep,
    order_id: str,
    body: s.ReasonBody,
    actor: Actor = Depends(role("reject_cancellation")),
) -> JSONResponse:
    """The seller rejects the cancellation request."""
    return JSONResponse(cancellation.reject_cancellation(rt, actor, order_id, reason=body.reason))


@router.post("/orders/{order_id}/seller-cancel", tags=["cancellation"], response_model=shapes.Order)
def seller_cancel(
    rt: RtDep, order_id: str, body: s.SellerCancel, actor: Actor = Depends(role("seller_cancel"))
) -> JSONResponse:
    """The seller cancels an unshipped order, or some quantities of its lines."""
    items = None if body.items is None else [i.model_dump() for i in body.items]
    return JSONResponse(
        cancellation.seller_cancel(rt, actor, order_id, reason=body.reason, items=items)
    )


@router.post("/orders/{order_id}/extend-protection", tags=["orders"], response_model=shapes.Order)
def extend_protection(
    rt: RtDep,
    order_id: str,
    body: s.ExtendProtection,
    actor: Actor = Depends(role("extend_protection")),
) -> JSONResponse:
    """The seller or staff give a shipped parcel more time before receipt is confirmed."""
    return JSONResponse(orders.extend_protection(rt, actor, order_id, days=body.days))


@router.post(
    "/orders/{order_id}/refunds", status_code=201, tags=["refunds"], response_model=shapes.Refund
)
def goodwill_refund(
    rt: RtDep,
    order_id: str,
    body: s.GoodwillRefund,
    actor: Actor = Depends(role("goodwill_refund")),
) -> JSONResponse:
    """Staff refund part of an order as a goodwill gesture."""
    refund = refunds.goodwill_refund(rt, actor, order_id, amount=body.amount, reason=body.reason)
    return JSONResponse(refund, status_code=201)


@router.get("/refunds/{refund_id}", tags=["refunds"], response_model=shapes.Refund)
def get_refund(rt: RtDep, actor: ActorDep, refund_id: str) -> JSONResponse:
    """One refund."""
    return JSONResponse(refunds.get_refund(rt, actor, refund_id))


@router.post("/refunds/{refund_id}/retry", tags=["refunds"], response_model=shapes.Order)
def retry_refund(
    rt: RtDep, refund_id: str, _: NoBody = None, actor: Actor = Depends(role("retry_refund"))
) -> JSONResponse:
    """Staff issue a failed refund again; answers with the order."""
    return JSONResponse(refunds.retry_refund(rt, actor, refund_id))


@router.post("/orders/{order_id}/refund-destination", tags=["refunds"], response_model=shapes.Order)
def refund_destination(
    rt: RtDep,
    order_id: str,
    body: s.RefundDestination,
    actor: Actor = Depends(role("choose_refund_destination")),
) -> JSONResponse:
    """The buyer sends future refunds to the original payment method or to the balance."""
    return JSONResponse(
        refunds.choose_refund_destination(rt, actor, order_id, refund_to=body.refund_to)
    )
