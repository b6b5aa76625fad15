"""Evidence on the pages: the buyer and the seller add files to an open dispute, and both
download every file of their order's disputes (staff have /staff/evidence)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from aftersale.domain.errors import DomainError, NotFound
from aftersale.entrypoints.web import i18n
from aftersale.entrypoints.web.buyer import order_response as buyer_order_page
from aftersale.entrypoints.web.forms import FormState
from aftersale.entrypoints.web.seller import FormPage, Seller, refused_form, seller_page
from aftersale.entrypoints.web.session import (
    PageError,
    WebUser,
    actor_of,
    flash,
    require_user,
    runtime_of,
    verify_csrf,
)
from aftersale.services import evidence

router = APIRouter()
Party = Depends(require_user("buyer", "seller"))
Buyer = Depends(require_user("buyer"))


async def _attach(
    request: Request, user: WebUser, dispute_id: str, back: str, page: FormPage
) -> Response:
    """Read the form's file, attach it and go back with the outcome; a file refused shows the
    `page` again with the error beside the file field (413 too large, else 422)."""
    loc = i18n.locale_of(request)
    upload = (await request.form()).get("file")
    file = upload if isinstance(upload, UploadFile) and upload.filename else None
    if file is None:
        flash(request, i18n.translate("Choose a file to add.", loc), kind="error")
        return RedirectResponse(back, status_code=303)
    data = await file.read(evidence.MAX_BYTES + 1)  # one byte more tells "too large" apart
    try:
        await run_in_threadpool(
            evidence.attach_evidence,
            runtime_of(request),
            actor_of(user),
            dispute_id,
            filename=file.filename,
            content_type=file.content_type,
            data=data,
        )
    except NotFound as exc:
        raise PageError(404, i18n.translate("That dispute was not found.", loc)) from exc
    except DomainError as exc:
        again = refused_form(exc, loc, f"evidence-{dispute_id}", {}, page)
        if again is not None:
            return again
        detail = exc.detail if loc == i18n.DEFAULT else i18n.message_for(exc, loc)
        why = i18n.translate("The file was not added: %(why)s", loc, why=detail)
        flash(request, why, kind="error")
    else:
        flash(request, i18n.translate("The file was added to the dispute.", loc))
    return RedirectResponse(back, status_code=303)


@router.post(
    "/orders/{order_id}/disputes/{dispute_id}/evidence", dependencies=[Depends(verify_csrf)]
)
async def buyer_attach(
    request: Request, order_id: str, dispute_id: str, user: WebUser = Buyer
) -> Response:
    """The buyer adds a file to an open dispute (of this order)."""
    rt, actor = runtime_of(request), actor_of(user)
    try:  # what the buyer may not see is not found, whatever the form holds
        owner = await run_in_threadpool(evidence.order_of_dispute, rt, actor, dispute_id)
    except NotFound:
        owner = None
    if owner != order_id:
        loc = i18n.locale_of(request)
        raise PageError(404, i18n.translate("That dispute was not found.", loc))

    def page(state: FormState, status: int) -> Response:
        return buyer_order_page(request, user, order_id, status=status, form=state)

    back = f"/orders/{order_id}#evidence-{dispute_id}"
    return await _attach(request, user, dispute_id, back, page)


@router.post("/seller/disputes/{dispute_id}/evidence", dependencies=[Depends(verify_csrf)])
async def seller_attach(request: Request, dispute_id: str, user: Seller) -> Response:
    """The seller adds a file to an open dispute (a photo asked for, a proof of shipment)."""
    rt, actor = runtime_of(request), actor_of(user)
    try:
        order_id = await run_in_threadpool(evidence.order_of_dispute, rt, actor, dispute_id)
    except NotFound as exc:
        loc = i18n.locale_of(request)
        raise PageError(404, i18n.translate("That dispute was not found.", loc)) from exc
    back = f"/seller/orders/{order_id}#evidence-{dispute_id}"
    return await _attach(request, user, dispute_id, back, seller_page(request, user, back))


@router.get("/evidence/{evidence_id}")
def download(request: Request, evidence_id: str, user: WebUser = Party) -> Response:
    """A file of one of the party's disputes, as a download (never shown inline)."""
    try:
        record = evidence.evidence_content(runtime_of(request), actor_of(user), evidence_id)
    except DomainError as exc:
        raise PageError(404, i18n.translate("File not found.", i18n.locale_of(request))) from exc
    return Response(
        record.data,
        media_type=record.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(record.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
