"""Returns, disputes and messages."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from aftersale.domain.actors import Actor
from aftersale.domain.reasons import DISPUTE_REASONS, RETURN_REASONS, SELLER_FAULT_RETURNS
from aftersale.entrypoints.api import schemas as s
from aftersale.entrypoints.api.deps import ActorDep, RtDep, role
from aftersale.entrypoints.api.responses import JSONResponse
from aftersale.services import disputes, messages, returns, shapes
from aftersale.services.views import reason_list, return_reason_list

router = APIRouter(prefix="/api/v1")
NoBody = Annotated[dict | None, Body()]


@router.get("/return-reasons", tags=["returns"], response_model=list[shapes.ReturnReason])
def return_reasons(actor: ActorDep) -> list[shapes.ReturnReason]:
    """The reasons a buyer picks from when returning (`seller_fault`: the seller's fault, so
    a return of everything still refundable refunds the shipping fee too)."""
    return return_reason_list(RETURN_REASONS, SELLER_FAULT_RETURNS)


@router.get("/dispute-reasons", tags=["disputes"], response_model=list[shapes.Reason])
def dispute_reasons(actor: ActorDep) -> list[shapes.Reason]:
    """The reasons a buyer picks from when disputing."""
    return reason_list(DISPUTE_REASONS)


@router.post(
    "/orders/{order_id}/returns", status_code=201, tags=["returns"], response_model=shapes.Return
)
def open_return(
    rt: RtDep, order_id: str, body: s.NewReturn, actor: Actor = Depends(role("open_return"))
) -> JSONResponse:
    """The buyer asks to return items."""
    return JSONResponse(
        returns.open_return(rt, actor, order_id, **body.model_dump()), status_code=201
    )


@router.get("/returns/{return_id}", tags=["returns"], response_model=shapes.Return)
def get_return(rt: RtDep, actor: ActorDep, return_id: str) -> JSONResponse:
    """One return."""
    return JSONResponse(returns.get_return(rt, actor, return_id))


@router.post("/returns/{return_id}/approve", tags=["returns"], response_model=shapes.Return)
def approve_return(
    rt: RtDep, return_id: str, _: NoBody = None, actor: Actor = Depends(role("approve_return"))
) -> JSONResponse:
    """The seller approves."""
    return JSONResponse(returns.approve_return(rt, actor, return_id))


@router.post("/returns/{return_id}/reject", tags=["returns"], response_model=shapes.Return)
def reject_return(
    rt: RtDep, return_id: str, body: s.ReasonBody, actor: Actor = Depends(role("reject_return"))
) -> JSONResponse:
    """The seller rejects."""
    return JSONResponse(returns.reject_return(rt, actor, return_id, reason=body.reason))


@router.post("/returns/{return_id}/ship", tags=["returns"], response_model=shapes.Return)
def ship_return(
    rt: RtDep, return_id: str, body: s.Shipment, actor: Actor = Depends(role("ship_return"))
) -> JSONResponse:
    """The buyer ships the items back."""
    return JSONResponse(returns.ship_return(rt, actor, return_id, **body.model_dump()))


@router.post("/returns/{return_id}/receive", tags=["returns"], response_model=shapes.Return)
def receive_return(
    rt: RtDep, return_id: str, body: s.Inspection, actor: Actor = Depends(role("receive_return"))
) -> JSONResponse:
    """The seller or staff inspect the items on arrival."""
    return JSONResponse(returns.receive_return(rt, actor, return_id, **body.model_dump()))


@router.post(
    "/orders/{order_id}/disputes", status_code=201, tags=["disputes"], response_model=shapes.Dispute
)
def open_dispute(
    rt: RtDep, order_id: str, body: s.NewDispute, actor: Actor = Depends(role("open_dispute"))
) -> JSONResponse:
    """The buyer opens a dispute."""
    return JSONResponse(
        disputes.open_dispute(rt, actor, order_id, **body.model_dump()), status_code=201
    )


@router.get("/disputes/{dispute_id}", tags=["disputes"], response_model=shapes.Dispute)
def get_dispute(rt: RtDep, actor: ActorDep, dispute_id: str) -> JSONResponse:
    """One dispute."""
    return JSONResponse(disputes.get_dispute(rt, actor, dispute_id))


@router.post("/disputes/{dispute_id}/accept", tags=["disputes"], response_model=shapes.Dispute)
def accept_dispute(
    rt: RtDep, dispute_id: str, _: NoBody = None, actor: Actor = Depends(role("accept_dispute"))
) -> JSONResponse:
    """The seller grants the requested refund."""
    return JSONResponse(disputes.accept_dispute(rt, actor, dispute_id))


@router.post("/disputes/{dispute_id}/reject", tags=["disputes"], response_model=shapes.Dispute)
def reject_dispute(
    rt: RtDep, dispute_id: str, body: s.ReasonBody, actor: Actor = Depends(role("reject_dispute"))
) -> JSONResponse:
    """The seller refuses."""
    return JSONResponse(disputes.reject_dispute(rt, actor, dispute_id, reason=body.reason))


@router.post("/disputes/{dispute_id}/propose", tags=["disputes"], response_model=shapes.Dispute)
def propose(
    rt: RtDep, dispute_id: str, body: s.AmountBody, actor: Actor = Depends(role("propose_refund"))
) -> JSONResponse:
    """The seller proposes another amount."""
    return JSONResponse(disputes.propose_refund(rt, actor, dispute_id, amount=body.amount))


@router.post(
    "/disputes/{dispute_id}/accept-proposal", tags=["disputes"], response_model=shapes.Dispute
)
def accept_proposal(
    rt: RtDep, dispute_id: str, _: NoBody = None, actor: Actor = Depends(role("accept_proposal"))
) -> JSONResponse:
    """The buyer accepts the proposal."""
    return JSONResponse(disputes.accept_proposal(rt, actor, dispute_id))


@router.post("/disputes/{dispute_id}/escalate", tags=["disputes"], response_model=shapes.Dispute)
def escalate(
    rt: RtDep, dispute_id: str, _: NoBody = None, actor: Actor = Depends(role("escalate_dispute"))
) -> JSONResponse:
    """The buyer escalates to the platform."""
    return JSONResponse(disputes.escalate(rt, actor, dispute_id))


@router.post("/disputes/{dispute_id}/modify", tags=["disputes"], response_model=shapes.Dispute)
def modify_dispute(
    rt: RtDep,
    dispute_id: str,
    body: s.ModifyDispute,
    actor: Actor = Depends(role("modify_dispute")),
) -> JSONResponse:
    """The buyer changes the request after the seller's answer."""
    return JSONResponse(disputes.modify(rt, actor, dispute_id, **body.model_dump()))


@router.post("/disputes/{dispute_id}/withdraw", tags=["disputes"], response_model=shapes.Dispute)
def withdraw_dispute(
    rt: RtDep, dispute_id: str, _: NoBody = None, actor: Actor = Depends(role("withdraw_dispute"))
) -> JSONResponse:
    """The buyer withdraws the dispute."""
    return JSONResponse(disputes.withdraw(rt, actor, dispute_id))


@router.post("/disputes/{dispute_id}/resolve", tags=["disputes"], response_model=shapes.Dispute)
def resolve(
    rt: RtDep, dispute_id: str, body: s.Resolution, actor: Actor = Depends(role("resolve_dispute"))
) -> JSONResponse:
    """Staff decide."""
    return JSONResponse(disputes.resolve(rt, actor, dispute_id, **body.model_dump()))


@router.get("/orders/{order_id}/messages", tags=["messages"], response_model=shapes.MessagePage)
def list_messages(
    rt: RtDep, actor: ActorDep, order_id: str, cursor: str | None = None, limit: int = 50
) -> JSONResponse:
    """The order's message thread, oldest first."""
    return JSONResponse(messages.list_messages(rt, actor, order_id, cursor=cursor, limit=limit))


@router.post(
    "/orders/{order_id}/messages", status_code=201, tags=["messages"], response_model=shapes.Message
)
def post_message(
    rt: RtDep, order_id: str, body: s.MessageBody, actor: Actor = Depends(role("message"))
) -> JSONResponse:
    """Write to the order's thread."""
    return JSONResponse(messages.post_message(rt, actor, order_id, body=body.body), status_code=201)
