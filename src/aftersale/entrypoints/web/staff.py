"""The staff pages: escalated disputes to decide, overdue refunds, order search, an order, the
dashboard."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from aftersale.domain.errors import DomainError, NotFound
from aftersale.domain.reasons import CANCELLATION_REASONS, DISPUTE_REASONS, RETURN_REASONS
from aftersale.entrypoints.web import charts, i18n
from aftersale.entrypoints.web.forms import FormState, page_amount
from aftersale.entrypoints.web.render import date, render, seconds_left
from aftersale.entrypoints.web.seller import REASONS, order_thread_files, run_action
from aftersale.entrypoints.web.session import (
    PageError,
    WebUser,
    actor_of,
    require_user,
    runtime_of,
    verify_csrf,
)
from aftersale.services import disputes, refunds, staff

router = APIRouter(prefix="/staff")
Staff = Annotated[WebUser, Depends(require_user("admin"))]
EXTRA_CAUSES = {
    "by_seller": "Cancelled by the seller",
    "by_system": "Closed unpaid",
    "by_platform": "Cancelled by the platform",
}


def _t(request: Request, message: str, **params: Any) -> str:
    return i18n.translate(message, i18n.locale_of(request), **params)


def home_response(
    request: Request, user: WebUser, state: FormState | None = None, status: int = 200
) -> HTMLResponse:
    """The staff desk; `state`: a decision form sent back refused, still open and filled."""
    rt, actor = runtime_of(request), actor_of(user)
    cases, now = staff.escalated_disputes(rt, actor), rt.clock.now()
    return render(
        request,
        "staff/home.html",
        status=status,
        **(state or FormState()).context(),
        cases=cases,
        # overdue: the time from decide_by until now is positive
        late=[c for c in cases if seconds_left(now, c["dispute"]["decide_by"]) > 0],
        overdue=staff.overdue_refunds(rt, actor),
        now=now,
        reasons=REASONS,
    )


@router.get("", response_class=HTMLResponse)
def home(request: Request, user: Staff) -> HTMLResponse:
    """Escalated disputes to decide and refunds past their expected-by date."""
    return home_response(request, user)


@router.post("/disputes/{dispute_id}/resolve", dependencies=[Depends(verify_csrf)])
def resolve(
    request: Request,
    dispute_id: str,
    user: Staff,
    refund_amount: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """Decide an escalated dispute: a refund amount (0 for none) and a note to both sides."""
    rt, actor = runtime_of(request), actor_of(user)
    return run_action(
        request,
        lambda: disputes.resolve(
            rt, actor, dispute_id, refund_amount=page_amount(refund_amount), note=note.strip()
        ),
        done="Dispute resolved; both parties have been told.",
        back=f"/staff#dispute-{dispute_id}",
        form=(f"resolve-{dispute_id}", {"amount": refund_amount, "note": note}),
        page=lambda state, status: home_response(request, user, state, status),
    )


@router.post("/orders/{order_id}/refunds", dependencies=[Depends(verify_csrf)])
def goodwill_refund(
    request: Request,
    order_id: str,
    user: Staff,
    amount: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Refund part of an order as a goodwill gesture, with the reason (rule 14)."""
    rt, actor = runtime_of(request), actor_of(user)
    return run_action(
        request,
        lambda: refunds.goodwill_refund(
            rt, actor, order_id, amount=page_amount(amount), reason=reason.strip()
        ),
        done="Goodwill refund created; the buyer has been told.",
        back=f"/staff/orders/{order_id}",
        form=("goodwill", {"amount": amount, "reason": reason}),
        page=lambda state, status: order_response(request, user, order_id, state, status),
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(request: Request, order_id: str, user: Staff) -> HTMLResponse:
    """Any order, with its refunds, timeline and message thread."""
    return order_response(request, user, order_id)


def order_response(
    request: Request, user: WebUser, order_id: str, state: FormState | None = None, code: int = 200
) -> HTMLResponse:
    """Any order's page; `state`: the goodwill form sent back refused, still open and filled."""
    rt, actor = runtime_of(request), actor_of(user)
    try:
        order, thread, files = order_thread_files(rt, actor, order_id)
    except NotFound as exc:
        raise PageError(404, _t(request, "Order not found.")) from exc
    people = staff.names_of(rt, actor, [order["buyer_id"], order["seller_id"]])
    return render(
        request,
        "staff/order.html",
        status=code,
        **(state or FormState()).context(),
        order=order,
        thread=thread,
        evidence=files,
        buyer=people[order["buyer_id"]],
        seller=people[order["seller_id"]],
        reasons=REASONS,
    )


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, user: Staff, q: str = "") -> Response:
    """Orders by id, or by their buyer's or seller's email (an id found opens its order)."""
    rt, actor = runtime_of(request), actor_of(user)
    found = staff.search_orders(rt, actor, q)
    if len(found) == 1 and found[0]["id"] == q.strip():
        return RedirectResponse(f"/staff/orders/{found[0]['id']}", status_code=303)
    ids = [o["buyer_id"] for o in found] + [o["seller_id"] for o in found]
    return render(
        request,
        "staff/search.html",
        q=q.strip(),
        found=found,
        people=staff.names_of(rt, actor, ids),
    )


@router.get("/evidence/{evidence_id}")
def evidence(request: Request, evidence_id: str, user: Staff) -> Response:
    """A dispute's evidence file, downloaded (never rendered inline, so it cannot run script)."""
    try:
        meta, data = staff.evidence_content(runtime_of(request), actor_of(user), evidence_id)
    except DomainError as exc:
        raise PageError(404, _t(request, "File not found.")) from exc
    name = "".join(c for c in meta.filename if c.isalnum() or c in "._- ") or "evidence"
    return Response(
        data,
        media_type=meta.content_type or "application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )


def _pct(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _reason_label(request: Request, kind: str, code: str) -> str:
    table = {
        "cancellation": CANCELLATION_REASONS,
        "return": RETURN_REASONS,
        "dispute": DISPUTE_REASONS,
    }[kind]
    return _t(request, table.get(code) or EXTRA_CAUSES.get(code, code.replace("_", " ")))


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, user: Staff) -> HTMLResponse:
    """Rates per week, reasons and refund times, drawn as SVG with data tables beside."""
    rt, actor = runtime_of(request), actor_of(user)
    board = staff.dashboard(rt, actor)
    weeks = [
        {
            "start": w.week_start,
            "label": date(w.week_start, "d MMM", locale=i18n.locale_of(request)),
            "orders": w.orders,
            "cancelled": w.cancelled,
            "returned": w.returned,
            "disputed": w.disputed,
            "rates": [_pct(n, w.orders) for n in (w.cancelled, w.returned, w.disputed)],
        }
        for w in board.weeks
    ]
    names = [_t(request, n) for n in ("Cancelled", "Returned", "Disputed")]
    rates_svg = charts.line_chart(
        title=_t(request, "Cancellation, return and dispute rates per week"),
        desc=_t(
            request,
            "Share of the orders placed each week that were later cancelled, returned or "
            "disputed, over the last %(n)s weeks. The table below has the same numbers.",
            n=len(weeks),
        ),
        labels=[w["label"] for w in weeks],
        series=[(names[k], [w["rates"][k] for w in weeks]) for k in range(3)],
        locale=i18n.locale_of(request),
    )
    reasons: dict[str, dict[str, Any]] = {}
    titles = {
        "cancellation": "Why orders were cancelled",
        "return": "Why items were returned",
        "dispute": "Why disputes were opened",
    }
    for kind, rows in board.reasons.items():
        bars = [(_reason_label(request, kind, code), n) for code, n in rows]
        reasons[kind] = {
            "title": _t(request, titles[kind]),
            "bars": bars,
            "svg": charts.bar_chart(
                title=_t(request, titles[kind]),
                desc=_t(request, "Number of times each reason was given, most frequent first."),
                bars=bars,
                color=charts.PALETTE[{"cancellation": 0, "return": 1, "dispute": 3}[kind]],
            ),
        }
    promise = _t(request, "Promise: %(n)s working days", n=board.promise_days)
    refund_svg: Markup = charts.histogram(
        title=_t(request, "Days from refund to credit"),
        desc=_t(
            request,
            "How many refunds were credited after how many calendar days, against the promise "
            "of %(n)s working days (about 28 calendar days, the dashed line).",
            n=board.promise_days,
        ),
        bins=board.refund_bins,
        marker_after="21–28",
        marker_label=promise,
    )
    return render(
        request,
        "staff/dashboard.html",
        board=board,
        weeks=weeks,
        rates_svg=rates_svg,
        reasons=reasons,
        refund_svg=refund_svg,
        on_time_pct=_pct(board.refunds_on_time, board.refunds_total),
        total_rates=[
            _pct(board.totals[k], board.totals["orders"])
            for k in ("cancelled", "returned", "disputed")
        ],
    )
