"""Probes and metrics for the operator: /readyz and /metrics (API.md, "Operations")."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response

from aftersale.adapters import metrics
from aftersale.adapters.db import ops_repo
from aftersale.domain.order import ORDER_DEADLINES
from aftersale.entrypoints.api.deps import bearer_token, runtime_of
from aftersale.entrypoints.api.problems import ApiProblem, problem
from aftersale.entrypoints.api.responses import JSONResponse
from aftersale.services import shapes
from aftersale.services.deadlines import REFUND_DEADLINES
from aftersale.services.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/readyz", response_model=shapes.Ready)
def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers and its schema is at the latest migration."""
    ready, why = ops_repo.schema_state(runtime_of(request).engine)  # type: ignore[attr-defined]
    if not ready:
        return problem("not_ready", why, status=503)
    return JSONResponse({"status": "ready"})


@router.get("/metrics", include_in_schema=False)
def metrics_text(request: Request) -> Response:
    """Prometheus's text format (behind AFTERSALE_METRICS_TOKEN when it is set)."""
    wanted = request.app.state.settings.metrics_token
    if wanted:
        given = bearer_token(request.headers.get("authorization", "")) or ""
        if not hmac.compare_digest(given.encode(), wanted.encode()):
            raise ApiProblem("unauthorized", "the metrics need their bearer token")
    registry = request.app.state.metrics_registry
    return Response(metrics.exposition(registry), media_type=metrics.CONTENT_TYPE)


def ops_collector(rt: Runtime) -> metrics.OpsCollector:
    """The database's gauges for this runtime (and every counter shown from the start)."""
    metrics.declare_deadline_kinds(sorted(ORDER_DEADLINES | REFUND_DEADLINES))
    metrics.declare_outcomes()
    engine = rt.engine  # type: ignore[attr-defined]
    metrics.set_webhook_backlog(lambda: ops_repo.webhook_backlog(engine))

    def figures() -> dict[str, float]:
        now = rt.clock.now()
        f = ops_repo.figures(rt.engine, now)  # type: ignore[attr-defined]
        return {
            "deadlines_due": f.deadlines_due,
            "deadline_lag_seconds": f.lag_seconds(now),
            "refunds_overdue": f.refunds_overdue,
            "disputes_escalated_overdue": f.disputes_escalated_overdue,
        }

    return metrics.OpsCollector(figures)
