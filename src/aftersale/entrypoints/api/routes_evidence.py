"""Dispute evidence: multipart uploads by the buyer and seller, listing and download."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from aftersale.domain.actors import Actor
from aftersale.entrypoints.api.deps import ActorDep, RtDep, role
from aftersale.entrypoints.api.responses import JSONResponse
from aftersale.services import evidence, shapes

router = APIRouter(prefix="/api/v1", tags=["disputes"])


@router.post("/disputes/{dispute_id}/evidence", status_code=201, response_model=shapes.Evidence)
async def attach_evidence(
    rt: RtDep,
    dispute_id: str,
    file: UploadFile = File(description="PNG, JPEG, WebP, GIF or PDF, at most 5 MiB"),
    actor: Actor = Depends(role("attach_evidence")),
) -> JSONResponse:
    """The order's buyer or seller attaches a file to an open dispute."""
    data = await file.read(evidence.MAX_BYTES + 1)  # one byte more tells "too large" apart
    view = await run_in_threadpool(
        lambda: evidence.attach_evidence(
            rt,
            actor,
            dispute_id,
            filename=file.filename,
            content_type=file.content_type,
            data=data,
        )
    )
    return JSONResponse(view, status_code=201)


@router.get("/disputes/{dispute_id}/evidence", response_model=list[shapes.Evidence])
def list_evidence(rt: RtDep, actor: ActorDep, dispute_id: str) -> JSONResponse:
    """The files attached to a dispute, oldest first."""
    return JSONResponse(evidence.list_evidence(rt, actor, dispute_id))


@router.get(
    "/evidence/{evidence_id}/content",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def evidence_content(rt: RtDep, actor: ActorDep, evidence_id: str) -> Response:
    """The file's bytes, with the content type found in them."""
    record = evidence.evidence_content(rt, actor, evidence_id)
    name = quote(record.filename)
    return Response(
        content=record.data,
        media_type=record.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "ETag": f'"{record.sha256}"',
        },
    )
