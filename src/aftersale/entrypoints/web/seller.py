"""The seller console: work queue, order page with its thread, and every seller action.

Each form POSTs (with its CSRF token) to one use case and redirects back with a flash message
(Post/Redirect/Get). A refusal of a form's field comes back as the page again (422, or 413 for
a file too large) with that form open, filled as it was sent and the error in plain words beside
the field (the buyer's pages' FormState, forms.py); a refusal of the action itself becomes an
error flash, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from aftersale.domain.actors import Actor
from aftersale.domain.errors import DomainError, NotFound
from aftersale.domain.reasons import CANCELLATION_REASONS, DISPUTE_REASONS, RETURN_REASONS
from aftersale.entrypoints.web import i18n
from aftersale.entrypoints.web.forms import FormState, field_error, form_status, page_amount
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
from aftersale.services.runtime import Runtime

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


# What a refused field of the seller's and the staff's forms says, in plain words, by the field's
# name (the rule's; FORM_ALIASES renames the few a form calls differently). Translated in
# console.po; a field not listed here is a refusal of the action (a flash).
FORM_MESSAGES = {
    "carrier": "Enter the carrier's name (at most 100 characters).",
    "tracking_number": "Enter the tracking number (at most 100 characters).",
    "reason": "Write the reason in a few words (at most 500 characters).",
    "amount": "Enter an amount in figures, like 12.50 or 12,50.",
    "refund_amount": "Enter an amount in figures, like 12.50 or 12,50 (0 for no refund).",
    "refund_exceeds_paid": "That amount is more than what can still be refunded on this order.",
    "note": "Write a note to both parties (at most 2,000 characters).",
    "notes": "Keep the inspection notes to 2,000 characters at most.",
    "condition_ok": "Choose whether the items arrived in acceptable condition.",
    "body": "Write a message of at most 2,000 characters.",
    "items": "Choose how many of each item to cancel (at most what is left of each).",
    "days": "Enter a whole number of days from 1 to 30.",
    "file": "Choose a photo (PNG, JPEG, WebP or GIF) or a PDF of at most 5 MB.",
}
FORM_ALIASES = {"refund_amount": "amount", "condition_ok": "condition"}
# A page that shows a refused form again: (the form sent back, the status) -> the page.
FormPage = Callable[[FormState, int], Response]


def error_text(request: Request, exc: DomainError) -> str:
    """A refusal as a sentence in the user's language (in English with the rule's detail)."""
    loc = i18n.locale_of(request)
    if exc.code in ERRORS:
        return i18n.translate(ERRORS[exc.code], loc)
    if loc != i18n.DEFAULT:  # the rules' details are English: the code's words instead
        return i18n.message_for(exc, loc)
    if exc.code == "validation_error":
        return i18n.translate("Please check the form: %(detail)s", loc, detail=exc.detail)
    return i18n.translate("That is not possible now: %(detail)s", loc, detail=exc.detail)


def refused_form(
    exc: DomainError, locale: str, name: str, values: dict[str, str], page: FormPage
) -> Response | None:
    """The page again with form `name` open, filled with `values` and the refused field's
    error beside it (422; 413 for a file too large); None when the refusal is not a field's."""
    error = field_error(exc, locale, FORM_MESSAGES, FORM_ALIASES)
    if error["field"] is None:
        return None
    return page(FormState(name, values, error), form_status(exc))


def run_action(
    request: Request,
    call: Callable[[], object],
    *,
    done: str,
    back: str,
    form: tuple[str, dict[str, str]] | None = None,
    page: FormPage | None = None,
) -> Response:
    """Run a use case, flash its outcome and redirect (303) back; 404 when what it acts on is
    not there for this user (as the buyer's pages and the API answer). With `form` (its name
    and the values sent) and the `page` it came from, a refused field shows that page again
    with the form kept (refused_form)."""
    try:
        call()
    except NotFound as exc:
        raise PageError(404, i18n.translate("Page not found.", i18n.locale_of(request))) from exc
    except DomainError as exc:
        if form is not None and page is not None:
            again = refused_form(exc, i18n.locale_of(request), form[0], form[1], page)
            if again is not None:
                return again
        flash(request, error_text(request, exc), kind="error")
    else:
        flash(request, i18n.translate(done, i18n.locale_of(request)))
    return RedirectResponse(back, status_code=303)


def act(
    request: Request,
    user: WebUser,
    call: Callable[[], object],
    *,
    done: str,
    back: str,
    form: tuple[str, dict[str, str]],
) -> Response:
    """run_action for a seller's form sent from the page at `back` (shown again if refused)."""
    page = seller_page(request, user, back)
    return run_action(request, call, done=done, back=back, form=form, page=page)


def back_to(nxt: str, order_id: str | None = None) -> str:
    """Where to go after an action: `next` when it is a local path, else the order (or console)."""
    default = f"/seller/orders/{order_id}" if order_id else "/seller"
    return safe_next(nxt, default)


def order_thread_files(
    rt: Runtime, actor: Actor, order_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """An order as the seller's and the staff's order pages show it: the order, its message
    thread and each dispute's evidence files (NotFound: the actor may not see it)."""
    order = read_order(rt, actor, order_id)
    thread = messages.list_messages(rt, actor, order_id, cursor=None, limit=200)["items"]
    files = {d["id"]: evidence.list_evidence(rt, actor, d["id"]) for d in order["disputes"]}
    return order, thread, files


def console_response(
    request: Request, user: WebUser, *, state: FormState | None = None, status: int = 200
) -> HTMLResponse:
    """The seller's work queue, most urgent first, and the latest orders."""
    rt, actor = runtime_of(request), actor_of(user)
    queue = staff.seller_queue(rt, actor)
    recent = orders.list_orders(rt, actor, status=None, cursor=None, limit=20)["items"]
    inbox = reads.inbox(rt, actor)
    return render(
        request,
        "seller/console.html",
        status=status,
        queue=queue,
        recent=recent,
        inbox=inbox,
        unread={u["order_id"]: u["count"] for u in inbox},
        now=rt.clock.now(),
        reasons=REASONS,
        **(state or FormState()).context(),
    )


def order_response(
    request: Request,
    user: WebUser,
    order_id: str,
    *,
    state: FormState | None = None,
    status: int = 200,
) -> HTMLResponse:
    """One of the store's orders with its thread (another store's order is not found)."""
    rt, actor = runtime_of(request), actor_of(user)
    try:
        order, thread, files = order_thread_files(rt, actor, order_id)
        reads.mark_read(rt, actor, order_id)
    except NotFound as exc:
        raise PageError(404, i18n.translate("Order not found.", i18n.locale_of(request))) from exc
    return render(
        request,
        "seller/order.html",
        status=status,
        order=order,
        thread=thread,
        evidence=files,
        has_return_address=return_address.return_address_of(rt, actor.user_id) is not None,
        now=rt.clock.now(),
        reasons=REASONS,
        **(state or FormState()).context(),
    )


def seller_page(request: Request, user: WebUser, back: str) -> FormPage:
    """The page a seller's form was sent from (its `back`): an order page, else the console."""
    path = back.split("#", 1)[0].split("?", 1)[0]

    def show(state: FormState, status: int) -> Response:
        if path.startswith("/seller/orders/") and path.count("/") == 3:
            return order_response(request, user, path.rsplit("/", 1)[1], state=state, status=status)
        return console_response(request, user, state=state, status=status)

    return show


@router.get("", response_class=HTMLResponse)
def console(request: Request, user: Seller) -> HTMLResponse:
    """The seller's work queue, most urgent first, and the latest orders."""
    return console_response(request, user)


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(request: Request, order_id: str, user: Seller) -> HTMLResponse:
    """One of the store's orders with its thread (another store's order is not found)."""
    return order_response(request, user, order_id)


@router.post("/orders/{order_id}/pack", dependencies=[Csrf])
def pack(request: Request, order_id: str, user: Seller, nxt: Next = "") -> Response:
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
) -> Response:
    """Hand the order to the carrier."""
    rt, actor, back = runtime_of(request), actor_of(user), back_to(nxt, order_id)
    return act(
        request,
        user,
        lambda: orders.ship(
            rt, actor, order_id, carrier=carrier.strip(), tracking_number=tracking_number.strip()
        ),
        done="Order shipped.",
        back=back,
        form=(f"ship-{order_id}", {"carrier": carrier, "tracking_number": tracking_number}),
    )


@router.post("/orders/{order_id}/cancellation/accept", dependencies=[Csrf])
def accept_cancellation(request: Request, order_id: str, user: Seller, nxt: Next = "") -> Response:
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
) -> Response:
    """Reject the buyer's cancellation request with a reason."""
    rt, actor, back = runtime_of(request), actor_of(user), back_to(nxt, order_id)
    return act(
        request,
        user,
        lambda: cancellation.reject_cancellation(rt, actor, order_id, reason=reason.strip()),
        done="Cancellation request rejected; the buyer sees your reason.",
        back=back,
        form=(f"reject-cancel-{order_id}", {"reason": reason}),
    )


@router.post("/orders/{order_id}/cancel", dependencies=[Csrf])
def seller_cancel(
    request: Request,
    order_id: str,
    user: Seller,
    reason: Annotated[str, Form()] = "",
    nxt: Next = "",
) -> Response:
    """Cancel an unshipped order with a reason."""
    rt, actor, back = runtime_of(request), actor_of(user), back_to(nxt, order_id)
    return act(
        request,
        user,
        lambda: cancellation.seller_cancel(rt, actor, order_id, reason=reason.strip()),
        done="Order cancelled; the buyer has been told and any payment will be refunded.",
        back=back,
        form=("cancel", {"reason": reason}),
    )


@router.post("/orders/{order_id}/messages", dependencies=[Csrf])
def post_message(
    request: Request, order_id: str, user: Seller, body: Annotated[str, Form()] = ""
) -> Response:
    """Write to the buyer."""
    rt, actor, back = runtime_of(request), actor_of(user), f"/seller/orders/{order_id}#messages"
    return act(
        request,
        user,
        lambda: messages.post_message(rt, actor, order_id, body=body.strip()),
        done="Message sent.",
        back=back,
        form=("message", {"body": body}),
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
) -> Response:
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
    sent = {"reason": reason} if action == "reject" else {"condition": condition, "notes": notes}
    form = (f"{action}-return-{return_id}", sent)
    return act(request, user, call, done=done, back=back_to(nxt), form=form)


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
) -> Response:
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
            lambda: disputes.propose_refund(rt, actor, dispute_id, amount=page_amount(amount)),
            "Your proposal was sent to the buyer.",
        ),
    }
    if action not in calls:
        raise PageError(404, i18n.translate("Page not found.", i18n.locale_of(request)))
    call, done = calls[action]
    sent = {"amount": amount} if action == "propose" else {"reason": reason}
    form = (f"{action}-dispute-{dispute_id}", sent)
    return act(request, user, call, done=done, back=back_to(nxt), form=form)
