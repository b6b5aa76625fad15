"""Who may do what: role permissions, visibility and the actions open to a caller now."""

from __future__ import annotations

from aftersale.domain.actors import Actor, Role
from aftersale.domain.context import Ctx
from aftersale.domain.entities import (
    CancellationStatus,
    Dispute,
    DisputeStatus,
    OrderStatus,
    Return,
    ReturnStatus,
)
from aftersale.domain.errors import Forbidden
from aftersale.domain.order import Order
from aftersale.domain.order_state import PAID_UNSHIPPED, UNSHIPPED

S, R, D = OrderStatus, ReturnStatus, DisputeStatus
B, SE, A = Role.BUYER, Role.SELLER, Role.ADMIN

# Which roles may ever take each action; any other role gets 403 whatever the object.
ROLES: dict[str, frozenset[Role]] = {
    "create_user": frozenset({A}),
    "create_order": frozenset({A}),
    "pay": frozenset({A}),
    "deliver": frozenset({A}),
    "cancel": frozenset({B}),
    "pack": frozenset({SE}),
    "ship": frozenset({SE}),
    "confirm_receipt": frozenset({B}),
    "accept_cancellation": frozenset({SE}),
    "reject_cancellation": frozenset({SE}),
    "seller_cancel": frozenset({SE}),
    "open_return": frozenset({B}),
    "approve_return": frozenset({SE}),
    "reject_return": frozenset({SE}),
    "ship_return": frozenset({B}),
    "receive_return": frozenset({SE, A}),
    "open_dispute": frozenset({B}),
    "accept_dispute": frozenset({SE}),
    "reject_dispute": frozenset({SE}),
    "propose_refund": frozenset({SE}),
    "accept_proposal": frozenset({B}),
    "escalate_dispute": frozenset({B}),
    "resolve_dispute": frozenset({A}),
    "modify_dispute": frozenset({B}),
    "withdraw_dispute": frozenset({B}),
    "extend_protection": frozenset({SE, A}),
    "goodwill_refund": frozenset({A}),
    "retry_refund": frozenset({A}),
    "choose_refund_destination": frozenset({B}),
    "attach_evidence": frozenset({B, SE}),
    "return_address": frozenset({SE}),
    "message": frozenset({B, SE, A}),
    "read": frozenset({B, SE, A}),
    "test_clock": frozenset({A}),
    "staff": frozenset({A}),
    "gateway_event": frozenset({Role.SYSTEM}),
}


def require_role(actor: Actor, action: str) -> None:
    """Raise 403 if the actor's role may never take the action."""
    if actor.role not in ROLES[action]:
        raise Forbidden(f"a {actor.role} may not {action.replace('_', ' ')}")


def can_see(actor: Actor, order: Order) -> bool:
    """Whether the order exists for this actor (others get not_found)."""
    return (
        actor.role in (A, Role.SYSTEM)
        or (actor.role == B and order.buyer_id == actor.user_id)
        or (actor.role == SE and order.seller_id == actor.user_id)
    )


def allowed_actions(order: Order, ctx: Ctx) -> list[str]:
    """The action names open to the caller now, in a stable order."""
    role, st = ctx.actor.role, order.status
    pending = order.pending_cancellation is not None
    out: list[str] = []
    if role == B:
        if st == S.AWAITING_PAYMENT:
            out.append("cancel")
        rejected = any(c.status == CancellationStatus.REJECTED for c in order.cancellations)
        if st in PAID_UNSHIPPED and not pending and not rejected:
            out.append("request_cancellation")
        # (a shipped order refunded in full, e.g. for non-receipt, has nothing to confirm)
        if st == S.SHIPPED and not order.fully_refunded:
            out.append("confirm_receipt")
        if order.return_window_open(ctx) and any(
            v > 0 for v in order.returnable_quantities().values()
        ):
            out.append("open_return")
        if order.dispute_refusal(ctx) is None and order.refundable > 0:
            out.append("open_dispute")
    elif role == SE:
        if pending:
            out += ["accept_cancellation", "reject_cancellation"]
        if st in UNSHIPPED:
            out.append("seller_cancel")
        if st == S.AWAITING_FULFILLMENT:
            out.append("pack")
        if st in PAID_UNSHIPPED and not pending:
            out.append("ship")
        if st == S.SHIPPED:
            out.append("extend_protection")
    if role in (B, SE, A):
        out.append("message")
    return out


def return_actions(ret: Return, ctx: Ctx) -> list[str]:
    """The actions on a return open to the caller now."""
    role, st = ctx.actor.role, ret.status
    if role == SE:
        return {R.REQUESTED: ["approve", "reject"], R.IN_TRANSIT: ["receive"]}.get(st, [])
    if role == B:
        late = ret.ship_by is not None and ctx.now > ret.ship_by
        return ["ship"] if st == R.APPROVED and not late else []
    if role == A:
        return ["receive"] if st == R.IN_TRANSIT else []
    return []


def dispute_actions(order: Order, dispute: Dispute, ctx: Ctx) -> list[str]:
    """The actions on a dispute open to the caller now."""
    role, st = ctx.actor.role, dispute.status
    active = st in (D.OPEN, D.SELLER_RESPONDED, D.ESCALATED)
    out: list[str] = []
    if role == SE and st == D.OPEN:
        out += ["accept", "reject", "propose"]
    elif role == B and st == D.SELLER_RESPONDED:
        # (an offer above what is still refundable, after a goodwill refund, cannot be taken)
        if dispute.proposed_amount is not None and dispute.proposed_amount <= order.refundable:
            out.append("accept_proposal")
        if dispute.rounds < order.policy.dispute_rounds:
            out.append("modify")
        out.append("escalate")
    if role == B and st in (D.OPEN, D.SELLER_RESPONDED):
        out.append("withdraw")
    if role == A and active:
        out.append("resolve")
    if role in (B, SE) and active:
        out.append("add_evidence")
    return out
