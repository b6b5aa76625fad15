"""Staff pages of what aftersale tells others: webhook endpoints (create with the secret shown
once, rotate, disable), each endpoint's deliveries (redeliver), and the outgoing mail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from aftersale.domain.errors import DomainError, NotFound
from aftersale.entrypoints.web import i18n
from aftersale.entrypoints.web.render import render
from aftersale.entrypoints.web.seller import error_text, run_action
from aftersale.entrypoints.web.session import (
    PageError,
    WebUser,
    actor_of,
    flash,
    require_user,
    runtime_of,
    verify_csrf,
)
from aftersale.services import deliveries, mail, webhooks

router = APIRouter(prefix="/staff")
Staff = Annotated[WebUser, Depends(require_user("admin"))]
Csrf = Depends(verify_csrf)


def _allow_private(request: Request) -> bool:
    return bool(request.app.state.settings.webhook_allow_private)


@router.get("/webhooks", response_class=HTMLResponse)
def endpoints_page(request: Request, user: Staff) -> HTMLResponse:
    """Every endpoint, and a form to add one."""
    rt, actor = runtime_of(request), actor_of(user)
    items = webhooks.list_endpoints(rt, actor, limit=200)["items"]
    return render(request, "staff/webhooks.html", endpoints=items)


@router.post("/webhooks", dependencies=[Csrf], response_model=None)
def create(
    request: Request,
    user: Staff,
    url: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """Add an endpoint; the page shows its secret this once."""
    rt, actor = runtime_of(request), actor_of(user)
    try:
        made = webhooks.create_endpoint(
            rt,
            actor,
            url=url,
            description=description.strip() or None,
            allow_private=_allow_private(request),
        )
    except DomainError as exc:
        flash(request, error_text(request, exc), kind="error")
        return RedirectResponse("/staff/webhooks", status_code=303)
    return render(request, "staff/webhook_secret.html", endpoint=made)


@router.post("/webhooks/{endpoint_id}/rotate", dependencies=[Csrf])
def rotate(request: Request, endpoint_id: str, user: Staff) -> HTMLResponse:
    """A new secret, shown this once (the old one still signs for 24 h)."""
    try:
        made = webhooks.rotate_secret(runtime_of(request), actor_of(user), endpoint_id)
    except NotFound as exc:
        raise PageError(404, i18n.translate("Webhook endpoint not found.")) from exc
    return render(request, "staff/webhook_secret.html", endpoint=made, rotated=True)


@router.post("/webhooks/{endpoint_id}/status", dependencies=[Csrf])
def set_status(
    request: Request, endpoint_id: str, user: Staff, status: Annotated[str, Form()] = ""
) -> RedirectResponse:
    """Enable or disable an endpoint."""
    rt, actor = runtime_of(request), actor_of(user)
    return run_action(
        request,
        lambda: webhooks.update_endpoint(rt, actor, endpoint_id, changes={"status": status}),
        done="Webhook endpoint updated.",
        back="/staff/webhooks",
    )


@router.get("/webhooks/{endpoint_id}", response_class=HTMLResponse)
def deliveries_page(
    request: Request, endpoint_id: str, user: Staff, status: str | None = None
) -> HTMLResponse:
    """An endpoint's deliveries, newest first, with status, attempts and the last answer."""
    rt, actor = runtime_of(request), actor_of(user)
    try:
        endpoint = webhooks.get_endpoint(rt, actor, endpoint_id)
        log = deliveries.list_deliveries(rt, actor, endpoint_id, status=status or None, limit=200)
    except NotFound as exc:
        raise PageError(404, i18n.translate("Webhook endpoint not found.")) from exc
    return render(request, "staff/webhook.html", endpoint=endpoint, deliveries=log["items"])


@router.post("/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver", dependencies=[Csrf])
def redeliver(
    request: Request, endpoint_id: str, delivery_id: str, user: Staff
) -> RedirectResponse:
    """Attempt a delivery again at once (same webhook-id)."""
    rt, actor = runtime_of(request), actor_of(user)
    return run_action(
        request,
        lambda: deliveries.redeliver(rt, actor, delivery_id),
        done="The delivery will be attempted again within seconds.",
        back=f"/staff/webhooks/{endpoint_id}",
    )


@router.get("/mail", response_class=HTMLResponse)
def mail_page(request: Request, user: Staff, cursor: str | None = None) -> HTMLResponse:
    """The outgoing mail, newest first (with no SMTP server set, this is where it lands)."""
    rows, nxt = mail.mailbox(runtime_of(request), actor_of(user), cursor=cursor, limit=50)
    return render(request, "staff/mail.html", mails=rows, next_cursor=nxt)
