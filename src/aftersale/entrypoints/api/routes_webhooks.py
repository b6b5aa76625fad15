"""Webhook endpoints, event types and deliveries (admin only; API.md "Webhooks (admin)")."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from aftersale.domain.actors import Actor
from aftersale.entrypoints.api.deps import RtDep, role
from aftersale.entrypoints.api.responses import JSONResponse
from aftersale.entrypoints.api.schemas import Body
from aftersale.services import deliveries, shapes, webhooks

router = APIRouter(prefix="/api/v1", tags=["webhooks"])
Admin = Depends(role("staff"))
Page = Annotated[int, Query(ge=1, le=200, description="page size, at most 200")]


class NewEndpoint(Body):
    url: str
    events: list[str] | None = None
    description: str | None = None


class EndpointChange(Body):
    url: str | None = None
    events: list[str] | None = None
    description: str | None = None
    status: Literal["enabled", "disabled"] | None = None


def _allow_private(request: Request) -> bool:
    return bool(request.app.state.settings.webhook_allow_private)


@router.post(
    "/webhook-endpoints",
    status_code=201,
    response_model=shapes.Endpoint,
)
def create_endpoint(
    rt: RtDep, request: Request, body: NewEndpoint, actor: Actor = Admin
) -> JSONResponse:
    """Register an endpoint; its secret is shown only in this answer (and on rotate)."""
    made = webhooks.create_endpoint(
        rt, actor, **body.model_dump(), allow_private=_allow_private(request)
    )
    return JSONResponse(made, status_code=201)


@router.get("/webhook-endpoints", response_model=shapes.EndpointPage)
def list_endpoints(
    rt: RtDep, cursor: str | None = None, limit: Page = 50, actor: Actor = Admin
) -> shapes.EndpointPage:
    """Endpoints, oldest first."""
    return webhooks.list_endpoints(rt, actor, cursor=cursor, limit=max(1, min(limit, 200)))


@router.get("/webhook-endpoints/{endpoint_id}", response_model=shapes.Endpoint)
def get_endpoint(rt: RtDep, endpoint_id: str, actor: Actor = Admin) -> shapes.Endpoint:
    """One endpoint (no secret)."""
    return webhooks.get_endpoint(rt, actor, endpoint_id)


@router.patch("/webhook-endpoints/{endpoint_id}", response_model=shapes.Endpoint)
def update_endpoint(
    rt: RtDep, request: Request, endpoint_id: str, body: EndpointChange, actor: Actor = Admin
) -> shapes.Endpoint:
    """Change url, events, description or status."""
    changes = body.model_dump(exclude_unset=True)
    return webhooks.update_endpoint(
        rt, actor, endpoint_id, changes=changes, allow_private=_allow_private(request)
    )


@router.delete("/webhook-endpoints/{endpoint_id}", status_code=204)
def delete_endpoint(rt: RtDep, endpoint_id: str, actor: Actor = Admin) -> Response:
    """Delete an endpoint: no further deliveries."""
    webhooks.delete_endpoint(rt, actor, endpoint_id)
    return Response(status_code=204)


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    response_model=shapes.Endpoint,
)
def rotate_secret(rt: RtDep, endpoint_id: str, actor: Actor = Admin) -> shapes.Endpoint:
    """A new secret; deliveries are signed with both secrets for 24 h."""
    return webhooks.rotate_secret(rt, actor, endpoint_id)


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    response_model=shapes.DeliveryPage,
)
def list_deliveries(
    rt: RtDep,
    endpoint_id: str,
    status: str | None = None,
    cursor: str | None = None,
    limit: Page = 50,
    actor: Actor = Admin,
) -> shapes.DeliveryPage:
    """The endpoint's deliveries, newest first."""
    return deliveries.list_deliveries(
        rt, actor, endpoint_id, status=status, cursor=cursor, limit=max(1, min(limit, 200))
    )


@router.post(
    "/webhook-deliveries/{delivery_id}/redeliver", status_code=202, response_model=shapes.Delivery
)
def redeliver(rt: RtDep, delivery_id: str, actor: Actor = Admin) -> JSONResponse:
    """A new attempt at once, with the same webhook-id."""
    return JSONResponse(deliveries.redeliver(rt, actor, delivery_id), status_code=202)


@router.get("/webhook-event-types", response_model=shapes.EventTypes)
def event_types(actor: Actor = Admin) -> shapes.EventTypes:
    """Every event type."""
    return webhooks.event_types(actor)
