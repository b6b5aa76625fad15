"""The buyer's pages: My Orders and the order page, whose forms call the same services as the API.

Every form POSTs with its CSRF token, runs one use case and redirects back (Post/Redirect/Get)
with a flash message; a refused action (DomainError) comes back as a message, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from aftersale.domain.errors import DomainError, NotFound
from aftersale.entrypoints.web.forms import (
    FormState,
    field_error,
    form_fields,
    form_status,
    page_amount,
    quantities,
)
from aftersale.entrypoints.web.i18n import locale_of, message_for, translate
from aftersale.entrypoints.web.render import dt, render
from aftersale.entrypoints.web.session import (
    PageError,
    WebUser,
    actor_of,
    flash,
    require_user,
    runtime_of,
    verify_csrf,
)
from aftersale.services import (
    cancellation,
    disputes,
    evidence,
    messages,
    orders,
    reads,
    returns,
)
from aftersale.services.pages import (
    AFTERSALE_TAB,
    ORDER_TABS,
    list_aftersale,
    list_orders_in,
    order_page,
    store_names,
)

router = APIRouter()
Buyer = Annotated[WebUser, Depends(require_user("buyer"))]
PAGE_SIZE = 10
TABS = [
    ("all", "All"),
    ("awaiting_payment", "Awaiting payment"),
    ("awaiting_shipment", "Awaiting shipment"),
    ("shipped", "Shipped"),
    ("delivered", "Delivered"),
    ("completed", "Completed"),
    ("cancelled", "Cancelled"),
    (AFTERSALE_TAB, "Refunds & disputes"),
]


def _not_found() -> PageError:
    return PageError(404, "We could not find this order in your account.")


@router.get("/orders", response_class=HTMLResponse)
def my_orders(request: Request, user: Buyer, tab: str = "all", cursor: str = "") -> HTMLResponse:
    """My Orders: the buyer's orders by status tab, newest first, a page at a time."""
    if tab not in ORDER_TABS and tab != AFTERSALE_TAB:
        tab = "all"
    rt, actor = runtime_of(request), actor_of(user)

    def listing(at: str | None) -> dict[str, Any]:
        if tab == AFTERSALE_TAB:
            return list_aftersale(rt, actor, cursor=at, limit=PAGE_SIZE)
        return list_orders_in(rt, actor, statuses=ORDER_TABS[tab], cursor=at, limit=PAGE_SIZE)

    try:
        page = listing(cursor or None)
    except DomainError:  # a link that was not made here (or is out of date): the first page
        cursor = ""
        page = listing(None)
        flash(request, translate("That page link is out of date; here is the first page."))
    return render(
        request,
        "buyer/orders.html",
        tabs=TABS,
        tab=tab,
        page=page,
        first=not cursor,
        stores=store_names(rt, [o["seller_id"] for o in page["items"]]),
        unread=reads.unread_counts(rt, actor),
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_detail(request: Request, user: Buyer, order_id: str, cancel: str = "") -> HTMLResponse:
    """The order page: items, totals, status, timeline, refunds, returns, disputes, messages."""
    return order_response(request, user, order_id, open_cancel=bool(cancel))


def order_response(
    request: Request,
    user: WebUser,
    order_id: str,
    *,
    status: int = 200,
    open_cancel: bool = False,
    form: FormState | None = None,
) -> HTMLResponse:
    """The order page, with a form that was refused still open, filled and its error shown."""
    try:
        data = order_page(runtime_of(request), actor_of(user), order_id)
        reads.mark_read(runtime_of(request), actor_of(user), order_id)
    except NotFound as exc:
        raise _not_found() from exc
    state = form or FormState()
    return render(
        request,
        "buyer/order.html",
        status=status,
        open_cancel=open_cancel or state.name == "cancel",
        **state.context(),
        **data,
    )


async def _act(
    request: Request,
    user: WebUser,
    order_id: str,
    action: Callable[[], Any],
    done: Callable[[Any], str],
    *,
    form_name: str = "",
    form: dict[str, str] | None = None,
) -> Response:
    """Run a use case, flash its outcome and go back to the order page (Post/Redirect/Get).

    A refusal of a form's input shows the order page again with that form open, filled as
    it was sent and the error in plain words beside its field (a refusal of the action
    itself is a message at the top of the order page)."""
    try:
        result = await run_in_threadpool(action)
    except NotFound as exc:
        raise _not_found() from exc
    except DomainError as exc:
        locale = locale_of(request)
        error = field_error(exc, locale) if form_name else {"field": None}
        if error["field"] is None:  # the action itself was refused: a message, and back
            flash(request, message_for(exc, locale), kind="error")
            return RedirectResponse(f"/orders/{order_id}", status_code=303)
        state = FormState(form_name, form or {}, error)
        return order_response(request, user, order_id, status=form_status(exc), form=state)
    else:
        text = done(result)
        if text:
            flash(request, text)
    return RedirectResponse(f"/orders/{order_id}", status_code=303)


def _opt(value: str | None) -> str | None:
    return value or None


@router.post("/orders/{order_id}/cancel", dependencies=[Depends(verify_csrf)])
async def cancel_order(request: Request, user: Buyer, order_id: str) -> Response:
    """Cancel Order (unpaid: at once) or Request Order Cancellation (paid, not shipped)."""
    form, rt, locale = await form_fields(request), runtime_of(request), locale_of(request)

    def done(result: tuple[bool, dict[str, Any]]) -> str:
        cancelled, order = result
        if cancelled:
            return translate("Your order has been cancelled.", locale)
        respond_by = (order.get("cancellation") or {}).get("respond_by")
        return translate(
            "Your cancellation request was sent. The seller has until %(date)s to answer.",
            locale,
            date=dt(respond_by, locale=locale),
        )

    return await _act(
        request,
        user,
        order_id,
        lambda: cancellation.cancel(
            rt,
            actor_of(user),
            order_id,
            reason=_opt(form.get("reason")),
            comment=_opt(form.get("comment")),
        ),
        done,
        form_name="cancel",
        form=form,
    )


@router.post("/orders/{order_id}/confirm-receipt", dependencies=[Depends(verify_csrf)])
async def confirm_receipt(request: Request, user: Buyer, order_id: str) -> Response:
    """The buyer confirms the order arrived."""
    rt, locale = runtime_of(request), locale_of(request)
    return await _act(
        request,
        user,
        order_id,
        lambda: orders.confirm_receipt(rt, actor_of(user), order_id),
        lambda _: translate("Thank you. The order is marked as delivered.", locale),
    )


@router.post("/orders/{order_id}/returns", dependencies=[Depends(verify_csrf)])
async def open_return(request: Request, user: Buyer, order_id: str) -> Response:
    """Ask to return some items: which ones and how many, why, and in what condition."""
    form, rt, locale = await form_fields(request), runtime_of(request), locale_of(request)
    return await _act(
        request,
        user,
        order_id,
        lambda: returns.open_return(
            rt,
            actor_of(user),
            order_id,
            reason=_opt(form.get("reason")),
            items=quantities(form),
            condition=_opt(form.get("condition")),
            description=_opt(form.get("description")),
        ),
        lambda _: translate("Your return request was sent to the seller.", locale),
        form_name="return",
        form=form,
    )


@router.post("/orders/{order_id}/disputes", dependencies=[Depends(verify_csrf)])
async def open_dispute(request: Request, user: Buyer, order_id: str) -> Response:
    """Open a dispute for a full or partial refund, with an optional evidence file."""
    form, rt, locale = await form_fields(request), runtime_of(request), locale_of(request)
    actor = actor_of(user)
    upload = (await request.form()).get("evidence")  # (spooled to disk past 1 MiB)
    file = upload if isinstance(upload, UploadFile) and upload.filename else None
    # one byte more than the limit tells "too large" apart, and no more is read into memory
    data = await file.read(evidence.MAX_BYTES + 1) if file is not None else b""
    refund_type = form.get("refund_type", "full")
    if file is not None:  # a file that would be refused opens nothing
        try:
            evidence.check_file(data, file.content_type, file.filename)
        except DomainError as exc:
            why = field_error(exc, locale)["message"]
            text = translate("The dispute was not opened: %(why)s", locale, why=why)
            error = {"field": "evidence", "message": text}
            state = FormState("dispute", form, error)
            return order_response(request, user, order_id, status=form_status(exc), form=state)

    def run() -> str | None:
        opened = disputes.open_dispute(
            rt,
            actor,
            order_id,
            reason=_opt(form.get("reason")),
            refund_type=refund_type,
            amount=page_amount(form.get("amount")) if refund_type == "partial" else None,
            description=_opt(form.get("description")),
        )
        if file is None:
            return None
        try:
            evidence.attach_evidence(
                rt,
                actor,
                opened["id"],
                filename=file.filename,
                content_type=file.content_type,
                data=data,
            )
        except DomainError as exc:
            return translate("The file was not attached: %(why)s", locale, why=exc.detail)
        return None

    def done(problem: str | None) -> str:
        text = translate("Your dispute is open. The seller has been asked to answer.", locale)
        return f"{text} {problem}" if problem else text

    return await _act(request, user, order_id, run, done, form_name="dispute", form=form)


@router.post("/orders/{order_id}/returns/{return_id}/ship", dependencies=[Depends(verify_csrf)])
async def ship_return(request: Request, user: Buyer, order_id: str, return_id: str) -> Response:
    """Tell the seller the items are on their way back (carrier and tracking number)."""
    form, rt, locale = await form_fields(request), runtime_of(request), locale_of(request)
    return await _act(
        request,
        user,
        order_id,
        lambda: returns.ship_return(
            rt,
            actor_of(user),
            return_id,
            carrier=_opt(form.get("carrier")),
            tracking_number=_opt(form.get("tracking_number")),
        ),
        lambda _: translate("Thank you. The seller will inspect the items on arrival.", locale),
        form_name=f"ship-{return_id}",
        form=form,
    )


# The buyer's moves on a dispute: (use case, what the page says when it is done).
DISPUTE_STEPS: dict[str, tuple[Callable[..., Any], str]] = {
    "accept-proposal": (
        disputes.accept_proposal,
        "You accepted the seller's offer. Your refund is on its way.",
    ),
    "escalate": (
        disputes.escalate,
        "The dispute was escalated. The platform will review it and decide.",
    ),
    "withdraw": (disputes.withdraw, "You withdrew the dispute. It is closed with no refund."),
    "modify": (disputes.modify, "Your new request was sent. The seller has been asked to answer."),
}


@router.post("/orders/{order_id}/disputes/{dispute_id}/{step}", dependencies=[Depends(verify_csrf)])
async def dispute_step(
    request: Request, user: Buyer, order_id: str, dispute_id: str, step: str
) -> Response:
    """Accept the seller's proposal, modify the request, escalate, or withdraw the dispute."""
    if step not in DISPUTE_STEPS:
        raise _not_found()
    form, rt, locale, actor = (
        await form_fields(request),
        runtime_of(request),
        locale_of(request),
        actor_of(user),
    )
    call, text = DISPUTE_STEPS[step]
    kw: dict[str, Any] = {}
    if step == "modify":
        refund_type = form.get("refund_type", "full")
        kw = {
            "refund_type": refund_type,
            "amount": page_amount(form.get("amount")) if refund_type == "partial" else None,
            "description": _opt(form.get("description")),
        }
    return await _act(
        request,
        user,
        order_id,
        lambda: call(rt, actor, dispute_id, **kw),
        lambda _: translate(text, locale),
        form_name=f"modify-{dispute_id}" if step == "modify" else "",
        form=form,
    )


@router.post("/orders/{order_id}/messages", dependencies=[Depends(verify_csrf)])
async def post_message(request: Request, user: Buyer, order_id: str) -> Response:
    """Write to the seller about this order."""
    form, rt, locale = await form_fields(request), runtime_of(request), locale_of(request)
    return await _act(
        request,
        user,
        order_id,
        lambda: messages.post_message(rt, actor_of(user), order_id, body=form.get("body", "")),
        lambda _: "" if request.headers.get("hx-request") else translate("Message sent.", locale),
        form_name="" if request.headers.get("hx-request") else "message",
        form=form,
    )
