"""The seller's settings page: the return address buyers send approved returns to."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from aftersale.domain.countries import ISO_3166_ALPHA2
from aftersale.domain.errors import DomainError, NotFound
from aftersale.entrypoints.web import i18n
from aftersale.entrypoints.web.forms import form_fields
from aftersale.entrypoints.web.render import render
from aftersale.entrypoints.web.seller import Seller
from aftersale.entrypoints.web.session import actor_of, flash, runtime_of, verify_csrf
from aftersale.services import return_address

router = APIRouter(prefix="/seller")
FIELDS = [name for name, _, _ in return_address.FIELDS]
# What each refusal says beside its field, in words people use.
WHY = {
    "required": "Please fill this in.",
    "too_long": "This is too long.",
    "invalid_country": "Choose a country from the list.",
    "invalid_postal_code": "Use only letters, digits, spaces and hyphens.",
    "invalid_phone": "Use only digits, spaces and + - ( ) .",
}


def _page(
    request: Request, values: dict[str, str], *, errors: dict[str, str], status: int
) -> HTMLResponse:
    """The settings page with the form's values and any error beside its field."""
    return render(
        request,
        "seller/settings.html",
        status=status,
        values=values,
        errors=errors,
        countries=sorted(ISO_3166_ALPHA2),
        inspection_days=runtime_of(request).policy.return_receive_days,
    )


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, user: Seller) -> HTMLResponse:
    """The return address form, filled with the address already set."""
    try:
        current = return_address.get_return_address(runtime_of(request), actor_of(user))
    except NotFound:
        current = {}
    values = {k: str(current.get(k) or "") for k in FIELDS}
    return _page(request, values, errors={}, status=200)


@router.post("/settings/return-address", dependencies=[Depends(verify_csrf)])
async def save_return_address(request: Request, user: Seller) -> Response:
    """Save the return address; a refused field comes back beside it, the form still filled."""
    form = await form_fields(request)
    values = {k: form.get(k, "") for k in FIELDS}
    try:
        await run_in_threadpool(
            return_address.put_return_address, runtime_of(request), actor_of(user), dict(values)
        )
    except DomainError as exc:
        loc = i18n.locale_of(request)
        why = WHY.get(str(getattr(exc, "reason", "")), "")
        text = i18n.translate(why, loc) if why else exc.detail
        return _page(request, values, errors={exc.field or "name": text}, status=422)
    flash(request, i18n.translate("Return address saved.", i18n.locale_of(request)))
    return RedirectResponse("/seller/settings", status_code=303)
