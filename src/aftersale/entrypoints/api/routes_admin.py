"""Health, users and the test clock."""

from fastapi import APIRouter, Depends

from aftersale.domain.actors import Actor
from aftersale.entrypoints.api import schemas as s
from aftersale.entrypoints.api.deps import RtDep, role
from aftersale.entrypoints.api.responses import JSONResponse
from aftersale.services import deadlines, shapes, users
from aftersale.services.views import iso

router = APIRouter()
clock_router = APIRouter(prefix="/api/v1", tags=["test clock"])


@router.get("/healthz", tags=["health"], response_model=shapes.Health)
def healthz() -> shapes.Health:
    """Liveness."""
    return {"status": "ok"}


@router.post("/api/v1/users", status_code=201, tags=["users"], response_model=shapes.User)
def create_user(
    rt: RtDep, body: s.NewUser, actor: Actor = Depends(role("create_user"))
) -> JSONResponse:
    """Create a buyer, seller or admin; the token is shown once."""
    return JSONResponse(users.create_user(rt, actor, **body.model_dump()), status_code=201)


@clock_router.get("/test-clock", response_model=shapes.Clock)
def get_clock(rt: RtDep, actor: Actor = Depends(role("test_clock"))) -> shapes.Clock:
    """The test clock's time."""
    return {"now": iso(rt.clock.now())}


@clock_router.post("/test-clock/advance", response_model=shapes.Clock)
def advance(rt: RtDep, body: s.Advance, actor: Actor = Depends(role("test_clock"))) -> shapes.Clock:
    """Move time forward, firing every deadline that falls due on the way."""
    return {"now": iso(deadlines.advance_test_clock(rt, body.seconds))}
