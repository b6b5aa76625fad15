"""The seller's own settings: the return address approved returns are sent back to."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from aftersale.domain.actors import Actor
from aftersale.entrypoints.api.deps import RtDep, role
from aftersale.entrypoints.api.schemas import Body
from aftersale.services import return_address, shapes

router = APIRouter(prefix="/api/v1", tags=["sellers"])
SellerDep = Depends(role("return_address"))


class ReturnAddressBody(Body):
    name: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    phone: str | None = None


@router.get("/sellers/me/return-address", response_model=shapes.ReturnAddress)
def get_return_address(rt: RtDep, actor: Actor = SellerDep) -> shapes.ReturnAddress:
    """The caller's return address (404 `return_address_missing` until one is set)."""
    return return_address.get_return_address(rt, actor)


@router.put("/sellers/me/return-address", response_model=shapes.ReturnAddress)
async def put_return_address(
    rt: RtDep, body: ReturnAddressBody, actor: Actor = SellerDep
) -> shapes.ReturnAddress:
    """Set the caller's return address; the same body again changes nothing."""
    data = body.model_dump()
    return await run_in_threadpool(return_address.put_return_address, rt, actor, data)
