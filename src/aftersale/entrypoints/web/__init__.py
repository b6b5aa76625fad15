"""The web pages: server-rendered Jinja2 + htmx, on the same services as the API.

`mount(app)` adds the session middleware, /static, the error pages and every page router.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from aftersale.entrypoints.web import (
    auth,
    buyer,
    evidence_pages,
    help,
    i18n,
    seller,
    seller_lines,
    seller_settings,
    staff,
    staff_notify,
)
from aftersale.entrypoints.web.render import render
from aftersale.entrypoints.web.session import COOKIE, LoginRequired, PageError

STATIC_DIR = Path(__file__).parent / "static"


class PageSessions(SessionMiddleware):
    """The session cookie for the pages only: API calls (bearer tokens) skip its work."""

    def __init__(self, app: ASGIApp, **options: object) -> None:
        super().__init__(app, **options)  # type: ignore[arg-type]
        self.inner = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await self.inner(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def _error_page(request: Request, exc: PageError) -> HTMLResponse:
    title = exc.title or {403: "Not allowed", 404: "Page not found", 429: "Too many attempts"}.get(
        exc.status, "Something went wrong"
    )
    return render(
        request,
        "errors/error.html",
        status=exc.status,
        title=title,
        message=exc.message,
        status_code=exc.status,
    )


def mount(app: FastAPI) -> None:
    """Add the pages, their static files, sessions and error pages to the app."""
    settings = app.state.settings
    i18n.load_all()
    app.add_middleware(
        PageSessions,
        secret_key=settings.session_secret(),
        session_cookie=COOKIE,
        max_age=settings.session_max_hours * 3600,  # (the session row ends it sooner)
        same_site="lax",
        https_only=settings.secure_cookies,  # AFTERSALE_COOKIE_SECURE (default: https URL)
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": exc.next_url})
        return RedirectResponse(exc.next_url, status_code=303)

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> Response:
        return await run_in_threadpool(_error_page, request, exc)

    # evidence_pages first: its paths would otherwise match buyer's and seller's /{step}
    for module in (
        auth,
        evidence_pages,
        buyer,
        help,
        seller,
        seller_lines,
        seller_settings,
        staff,
        staff_notify,
    ):
        app.include_router(module.router, include_in_schema=False)
