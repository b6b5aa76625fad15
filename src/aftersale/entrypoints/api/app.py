"""The FastAPI application: API routers, pages, problem handlers, idempotency, worker."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from aftersale.adapters import metrics
from aftersale.adapters.db.engine import is_sqlite
from aftersale.bootstrap import build_runtime
from aftersale.entrypoints import observe, web
from aftersale.entrypoints.api import (
    contract,
    docs,
    problems,
    routes_admin,
    routes_after,
    routes_evidence,
    routes_gateways,
    routes_ops,
    routes_orders,
    routes_sellers,
    routes_webhooks,
)
from aftersale.entrypoints.api.hot_routes import HotRoutes
from aftersale.entrypoints.api.idempotency import IdempotencyMiddleware
from aftersale.entrypoints.api.limits import InputLimits
from aftersale.entrypoints.api.outage import DatabaseOutage
from aftersale.entrypoints.api.rate_limit import ApiLimits
from aftersale.entrypoints.api.served_by import install as install_served_by
from aftersale.entrypoints.dispatcher import Dispatcher, start_thread
from aftersale.entrypoints.security_headers import SecurityHeaders
from aftersale.entrypoints.token_watch import TokenWatch
from aftersale.entrypoints.worker import Worker
from aftersale.services.runtime import Runtime
from aftersale.services.users import ensure_admin_token
from aftersale.settings import Settings, get_settings


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the app (migrating the database unless a runtime is handed in)."""
    settings = settings or get_settings()
    rt = runtime or build_runtime(settings)
    if settings.admin_token:
        ensure_admin_token(rt, settings.admin_token)
    embedded = settings.embedded_worker
    if embedded is None:
        embedded = is_sqlite(settings.url)
    worker = (
        Worker(rt, interval=settings.worker_interval, counted=settings.observability)
        if embedded
        else None
    )
    dispatcher = Dispatcher(rt, settings) if embedded else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        tokens = TokenWatch(rt).start()
        thread = None
        if worker is not None:
            thread = threading.Thread(target=worker.run, name="deadline-worker", daemon=True)
            thread.start()
        sending = start_thread(dispatcher) if dispatcher is not None else None
        yield
        tokens.stop()
        if dispatcher is not None and sending is not None:
            dispatcher.stop()
            sending.join(timeout=20)
        if worker is not None and thread is not None:
            worker.stop()
            thread.join(timeout=10)

    app = FastAPI(
        title="aftersale",
        version="1.0.0",
        lifespan=lifespan,
        description="Order cancellation, return, refund and dispute engine.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = rt
    app.state.settings = settings
    app.state.api_limits = ApiLimits(  # per process, in memory (api/rate_limit.py)
        rate=settings.api_rate,
        failed_tokens=settings.api_failed_tokens,
        trusted=settings.trusted_networks,
    )
    problems.install(app)
    app.include_router(routes_admin.router)
    app.include_router(routes_orders.router)
    app.include_router(routes_after.router)
    app.include_router(routes_evidence.router)
    app.include_router(routes_gateways.router)
    app.include_router(routes_ops.router)
    app.include_router(routes_sellers.router)
    app.state.metrics_registry = metrics.registry(routes_ops.ops_collector(rt))
    app.include_router(routes_webhooks.router)
    if settings.test_clock:
        app.include_router(routes_admin.clock_router)
    web.mount(app)
    docs.install(app)
    contract.install(app)
    app.add_middleware(IdempotencyMiddleware)
    if settings.hot_routes:
        app.add_middleware(HotRoutes)
    app.add_middleware(DatabaseOutage)  # (outside the layers above: their calls fail first)
    app.add_middleware(InputLimits, max_body=settings.max_body_bytes)  # before all the above
    app.add_middleware(SecurityHeaders, hsts=settings.secure_cookies)
    install_served_by(app, enabled=settings.test_clock)
    observe.install(app, record=settings.observability)
    return app
