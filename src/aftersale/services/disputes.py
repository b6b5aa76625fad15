"""Use cases of disputes: open, answer, accept a proposal, escalate, decide."""

from __future__ import annotations

from collections.abc import Callable

from aftersale.domain.actions import require_role
from aftersale.domain.actors import Actor
from aftersale.domain.context import Ctx
from aftersale.domain.entities import Dispute
from aftersale.domain.order import Order
from aftersale.services import shapes
from aftersale.services.common import change_order, owner_of, visible_order
from aftersale.services.runtime import Runtime
from aftersale.services.views import dispute_view


def _present(order: Order, ctx: Ctx, dispute: Dispute) -> shapes.Dispute:
    return dispute_view(dispute, order.currency, ctx, order)


def open_dispute(
    rt: Runtime,
    actor: Actor,
    order_id: str,
    *,
    reason: object,
    refund_type: object,
    amount: object,
    description: object,
) -> shapes.Dispute:
    """The buyer opens a dispute."""
    return change_order(
        rt,
        actor,
        "open_dispute",
        order_id,
        lambda o, c: o.open_dispute(
            reason=reason, refund_type=refund_type, amount=amount, description=description, ctx=c
        ),
        _present,
    )


def _on_dispute(
    rt: Runtime, actor: Actor, action: str, dispute_id: str, rule: Callable[[Order, Ctx], Dispute]
) -> shapes.Dispute:
    return change_order(
        rt, actor, action, lambda uow: owner_of(uow, "dispute", dispute_id), rule, _present
    )


def get_dispute(rt: Runtime, actor: Actor, dispute_id: str) -> shapes.Dispute:
    """A dispute the caller may see."""
    require_role(actor, "read")
    with rt.uow(readonly=True) as uow:
        order = visible_order(uow, actor, owner_of(uow, "dispute", dispute_id), lock=False)
        dispute = order.find_dispute(dispute_id)
        return dispute_view(dispute, order.currency, rt.ctx(actor), order)


def accept_dispute(rt: Runtime, actor: Actor, dispute_id: str) -> shapes.Dispute:
    """The seller grants the requested refund."""
    return _on_dispute(
        rt, actor, "accept_dispute", dispute_id, lambda o, c: o.accept_dispute(dispute_id, c)
    )


def reject_dispute(rt: Runtime, actor: Actor, dispute_id: str, *, reason: object) -> shapes.Dispute:
    """The seller refuses the claim."""
    return _on_dispute(
        rt,
        actor,
        "reject_dispute",
        dispute_id,
        lambda o, c: o.reject_dispute(dispute_id, reason=reason, ctx=c),
    )


def propose_refund(rt: Runtime, actor: Actor, dispute_id: str, *, amount: object) -> shapes.Dispute:
    """The seller offers another amount."""
    return _on_dispute(
        rt,
        actor,
        "propose_refund",
        dispute_id,
        lambda o, c: o.propose_refund(dispute_id, amount=amount, ctx=c),
    )


def accept_proposal(rt: Runtime, actor: Actor, dispute_id: str) -> shapes.Dispute:
    """The buyer takes the seller's offer."""
    return _on_dispute(
        rt, actor, "accept_proposal", dispute_id, lambda o, c: o.accept_proposal(dispute_id, c)
    )


def escalate(rt: Runtime, actor: Actor, dispute_id: str) -> shapes.Dispute:
    """The buyer asks the platform to decide."""
    return _on_dispute(
        rt, actor, "escalate_dispute", dispute_id, lambda o, c: o.escalate_dispute(dispute_id, c)
    )


def resolve(
    rt: Runtime, actor: Actor, dispute_id: str, *, refund_amount: object, note: object
) -> shapes.Dispute:
    """Staff decide the dispute."""
    return _on_dispute(
        rt,
        actor,
        "resolve_dispute",
        dispute_id,
        lambda o, c: o.decide_dispute(dispute_id, refund_amount=refund_amount, note=note, ctx=c),
    )


def modify(
    rt: Runtime,
    actor: Actor,
    dispute_id: str,
    *,
    refund_type: object,
    amount: object = None,
    description: object = None,
) -> shapes.Dispute:
    """The buyer changes the request after the seller's answer (another round)."""
    return _on_dispute(
        rt,
        actor,
        "modify_dispute",
        dispute_id,
        lambda o, c: o.modify_dispute(
            dispute_id, refund_type=refund_type, amount=amount, description=description, ctx=c
        ),
    )


def withdraw(rt: Runtime, actor: Actor, dispute_id: str) -> shapes.Dispute:
    """The buyer gives the dispute up."""
    return _on_dispute(
        rt, actor, "withdraw_dispute", dispute_id, lambda o, c: o.withdraw_dispute(dispute_id, c)
    )
