"""The public help center: how to cancel, return, get a refund and dispute.

Every number on it comes from the live policy (runtime.policy), the same object the engine
enforces, so the help text cannot disagree with what happens to an order.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from aftersale.domain.reasons import CANCELLATION_REASONS
from aftersale.entrypoints.web.render import render
from aftersale.entrypoints.web.session import runtime_of

router = APIRouter()


@router.get("/help", response_class=HTMLResponse)
def help_center(request: Request) -> HTMLResponse:
    """The help center, stating the live policy numbers."""
    policy = runtime_of(request).policy
    return render(request, "help.html", policy=policy, cancellation_reasons=CANCELLATION_REASONS)
