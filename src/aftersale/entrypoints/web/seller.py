"""The seller console: work queue, order page with its thread, and every seller action.

Each form POSTs (with its CSRF token) to one use case and redirects back with a flash message
(Post/Redirect/Get); a refusal from the rules (DomainError) becomes an error flash, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from aftersale.domain.errors import DomainError, NotFound
from aftersale.domain.reasons import CANCELLATION_REASONS, DISPUTE_REASONS, RETURN_REASONS
from aftersale.entrypoints.web import i18n
from aftersale.entrypoints.web.render import render
from aftersale.entrypoints.web.session import (
    PageError,
    WebUser,
    actor_of,
    flash,
    require_user,
    runtime_of,
    safe_next,
    verify_csrf,
)
from aftersale.services import (
    cancellation,
    disputes,
    evidence,
    messages,
    orders,
    reads,
    return_address,
    returns,
    staff,
)
from aftersale.services.common import read_order

router = APIRouter(prefix="/seller")
Seller = Annotated[WebUser, Depends(require_user("seller"))]
Csrf = Depends(verify_csrf)
Next = Annotated[str, Form(alias="next")]
REASONS = {"cancellation": CANCELLATION_REASONS, "return": RETURN_REASONS}
REASONS["dispute"] = DISPUTE_REASONS

# Refusals shown in words people use; anything else shows the rule's own explanation.
ERRORS = {
    "no_pending_cancellation": "There is no cancellation request waiting for an answer.",
    "cancellation_pending": "Answer the buyer's cancellation request before you ship.",
    "order_already_shipped": "The order has already shipped, so it can no longer be cancelled.",
    "order_already_cancelled": "The order is already cancelled.",
    "refund_exceeds_paid": "That amount is more than what can still be refunded on this order.",
    "concurrent_modification": "Someone changed this order at the same time. Please try again.",
    "not_found": "That order, return or dispute was not found.",
    "forbidden": "Your account may not do that.",
}


def error_text(request: Request, exc: DomainError) -> str:
    """A refusal as a sentence in the user's language."""
    loc = i18n.locale_of(request)
    if exc.code in ERRORS:
        return i18n.translate(ERRORS[exc.code], loc)
    if exc.code == "validation_error":
        return i18n.translate("Please check the form: %(detail)s", loc, detail=exc.detail)
    return i18n.translate("That is not possible now: %(detail)s", loc, detail=exc.detail)


def run_action(
    request: Request, call: Callable[[], object], *, done: str, back: str
) -> RedirectResponse:
    """Run a use case, flash its outcome and redirect (303) back; 404 when what it acts on is
    not there for this user (as the buyer's pages and the API answer)."""
    try:
        call()
    except NotFound as exc:
        raise PageError(404, i18n.translate("Page not found.", i18n.locale_of(request))) from exc
    except DomainError as exc:
        flash(request, error_text(request, exc), kind="error")
    else:
        flash(request, i18n.translate(done, i18n.locale_of(request)))
    return RedirectResponse(back, status_code=303)


def back_to(nxt: str, order_id: str | None = None) -> str:
    """Where to go after an action: `next` when it is a local path, else the order (or console)."""
    default = f"/seller/orders/{order_id}" if order_id else "/seller"
    return safe_next(nxt, default)


@router.get("", response_class=HTMLResponse)
def console(request: Request, user: Seller) -> HTMLResponse:
    """The seller's work queue, most urgent first, and the latest orders."""
    rt, actor = runtime_of(request), actor_of(user)
    queue = staff.seller_queue(rt, actor)
    recent = orders.list_orders(rt, actor, status=None, cursor=None, limit=20)["items"]
    inbox = reads.inbox(rt, actor)
    return render(
        request,
        "seller/console.html",
        queue=queue,
        recent=recent,
        inbox=inbox,
        unread={u["order_id"]: u["count"] for u in inbox},
        now=rt.clock.now(),
        reasons=REASONS,
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(request: Request, order_id: str, user: Seller) -> HTMLResponse:
    """One of the store's orders with its thread (another store's order is not found)."""
    rt, actor = runtime_of(request), actor_of(user)
    try:
        order = read_order(rt, actor, order_id)
        thread = messages.list_messages(rt, actor, order_id, cursor=None, limit=200)["items"]
        files = {d["id"]: evidence.list_evidence(rt, actor, d["id"]) for d in order["disputes"]}
        reads.mark_read(rt, actor, order_id)
    except NotFound as exc:
        raise PageError(404, i18n.translate("Order not found.", i18n.locale_of(request))) from exc
    return render(
        request,
        "seller/order.html",
        order=order,
        thread=thread,
        evidence=files,
        has_return_address=return_address.return_address_of(rt, actor.user_id) is not None,
        now=rt.clock.now(),
        reasons=REASONS,
    )


@router.post("/orders/{order_id}/pack", dependencies=[Csrf])
def pack(request: Request, order_id: str, user: Seller, nxt: Next = "") -> RedirectResponse:
    """Mark the order packed."""
    rt, actor = runtime_of(request), actor_of(user)
    return run_action(
        request,
        lambda: orders.pack(rt, actor, order_id),
        done="Order packed.",
        back=back_to(nxt, order_id),
    )


@router.post("/orders/{order_id}/ship", dependencies=[Csrf])
def ship(
    request: Request,
    order_id: str,
    user: Seller,
    carrier: Annotated[str, Form()] = "",
    tracking_number: Annotated[str, Form()] = "",
    nxt: Next = "",
) -> RedirectResponse:
    """Hand the order to the carrier."""
    rt, actor = runtime_of(request), actor_of(user)
    return run_action(
        request,
        lambda: orders.ship(
            rt, actor, order_id, carrier=carrier.strip(), tracking_number=tracking_number.strip()
        ),
        done="Order shipped.",
        back=back_to(nxt, order_id),
    )


@router.post("/orders/{order_id}/cancellation/accept", dependencies=[Csrf])
def accept_cancellation(
    request: Request, order_id: str, user: Seller, nxt: Next = ""
) -> RedirectResponse:
    """Accept the buyer's cancellation request (the order is cancelled and refunded)."""
    rt, actor = runtime_of(request), actor_of(user)
    return run_action(
        request,
        lambda: cancellation.accept_cancellation(rt, actor, order_id),
        done="Cancellation accepted: the order is cancelled and the buyer will be refunded.",
        back=back_to(nxt, order_id),
    )


@router.post("/orders/{order_id}/cancellation/reject", dependencies=[Csrf])
def reject_cancellation(
    request: Request,
    order_id: str,
    user: Seller,
    reason: Annotated[str, Form()] = "",
    nxt: Next = "",
) -> RedirectResponse:
    """Reject the buyer's cancellation request with a reason."""
    rt, actor = runtime_of(request), actor_of(user)
    return run_action(
        request,
        lambda: cancellation.reject_cancellation(rt, actor, order_id, reason=reason.strip()),
        done="Cancellation request rejected; the buyer sees your reason.",
        back=back_to(nxt, order_id),
    )


@router.post("/orders/{order_id}/cancel", dependencies=[Csrf])
def seller_cancel(
    request: Request,
    order_id: str,
    user: Seller,
    reason: Annotated[str, Form()] = "",
    nxt: Next = "",
) -> RedirectResponse:
    """Cancel an unshipped order with a reason."""
    rt, actor = runtime_of(request), actor_of(user)
    return run_action(
        request,
        lambda: cancellation.seller_cancel(rt, actor, order_id, reason=reason.strip()),
        done="Order cancelled; the buyer has been told and any payment will be refunded.",
        back=back_to(nxt, order_id),
    )


@router.post("/orders/{order_id}/messages", dependencies=[Csrf])
def post_message(
    request: Request, order_id: str, user: Seller, body: Annotated[str, Form()] = ""
) -> RedirectResponse:
    """Write to the buyer."""
    rt, actor = runtime_of(request), actor_of(user)
    return run_action(
        request,
        lambda: messages.post_message(rt, actor, order_id, body=body.strip()),
        done="Message sent.",
        back=f"/seller/orders/{order_id}#messages",
    )


@router.post("/returns/{return_id}/{action}", dependencies=[Csrf])
def return_action(
    request: Request,
    return_id: str,
    action: str,
    user: Seller,
    reason: Annotated[str, Form()] = "",
    condition: Annotated[str, Form()] = "",
    notes: Annotated[str, Form()] = "",
    nxt: Next = "",
) -> RedirectResponse:
    """Approve, reject or inspect a return."""
    rt, actor = runtime_of(request), actor_of(user)
    calls: dict[str, tuple[Callable[[], object], str]] = {
        "approve": (
            lambda: returns.approve_return(rt, actor, return_id),
            "Return approved; the buyer can ship the items back.",
        ),
        "reject": (
            lambda: returns.reject_return(rt, actor, return_id, reason=reason.strip()),
            "Return request rejected.",
        ),
        "receive": (
            lambda: returns.receive_return(
                rt,
                actor,
                return_id,
                condition_ok=_condition(condition),
                notes=notes.strip() or None,
            ),
            "Inspection recorded.",
        ),
    }
    if action not in calls:
        raise PageError(404, i18n.translate("Page not found.", i18n.locale_of(request)))
    call, done = calls[action]
    return run_action(request, call, done=done, back=back_to(nxt))


def _condition(value: str) -> object:
    """The inspection radio ("ok"/"not_ok") as the boolean the rule expects (else invalid)."""
    return {"ok": True, "not_ok": False}.get(value, value)


@router.post("/disputes/{dispute_id}/{action}", dependencies=[Csrf])
def dispute_action(
    request: Request,
    dispute_id: str,
    action: str,
    user: Seller,
    reason: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
    nxt: Next = "",
) -> RedirectResponse:
    """Accept, reject or counter a dispute."""
    rt, actor = runtime_of(request), actor_of(user)
    calls: dict[str, tuple[Callable[[], object], str]] = {
        "accept": (
            lambda: disputes.accept_dispute(rt, actor, dispute_id),
            "Dispute accepted; the buyer will be refunded the amount asked.",
        ),
        "reject": (
            lambda: disputes.reject_dispute(rt, actor, dispute_id, reason=reason.strip()),
            "Dispute rejected; the buyer can accept or escalate to the platform.",
        ),
        "propose": (
            lambda: disputes.propose_refund(rt, actor, dispute_id, amount=amount.strip()),
            "Your proposal was sent to the buyer.",
        ),
    }
    if action not in calls:
        raise PageError(404, i18n.translate("Page not found.", i18n.locale_of(request)))
    call, done = calls[action]
    return run_action(request, call, done=done, back=back_to(nxt))
