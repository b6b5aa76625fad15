"""Logging in and out, the home redirect and the language switcher."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from aftersale.entrypoints.web import i18n
from aftersale.entrypoints.web.render import render
from aftersale.entrypoints.web.session import (
    WebUser,
    address_of,
    current_user,
    flash,
    log_in,
    log_out,
    login_limit,
    runtime_of,
    safe_next,
    verify_csrf,
)
from aftersale.services.login_throttle import logged_in, try_login
from aftersale.services.users import login as check_password

router = APIRouter()
HOMES = {"buyer": "/orders", "seller": "/seller", "admin": "/staff"}


def home_of(user: WebUser | None) -> str:
    """Where a user lands: their role's home page, or the login page."""
    return "/login" if user is None else HOMES.get(user.role, "/help")


def _demo_accounts() -> tuple[list[tuple[str, str, str]], str]:
    from aftersale.entrypoints.demo import PASSWORD, PEOPLE

    return [(email, name, role) for email, name, role, _ in PEOPLE], PASSWORD


@router.get("/")
def home(request: Request) -> RedirectResponse:
    """Send the visitor to their home page (or to log in)."""
    return RedirectResponse(home_of(current_user(request)), status_code=303)


def _login_page(
    request: Request, *, status: int = 200, error: str | None = None, email: str = ""
) -> HTMLResponse:
    demo = None
    if request.app.state.settings.demo:
        accounts, password = _demo_accounts()
        demo = {"accounts": accounts, "password": password}
    nxt = safe_next(request.query_params.get("next"), "")
    return render(
        request, "login.html", status=status, error=error, email=email, next=nxt, demo_login=demo
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    """The login page (or home, if already logged in)."""
    user = current_user(request)
    if user is not None:
        return RedirectResponse(home_of(user), status_code=303)
    return _login_page(request)


@router.post("/login", dependencies=[Depends(verify_csrf)])
def login_submit(
    request: Request,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Check the email and password; start a session or say what went wrong.

    Every try is counted first (in the database, on the normalised email and the client
    address): past the limit the form answers 429 with Retry-After, whatever the password."""
    rt, address, limit = runtime_of(request), address_of(request), login_limit(request)
    wait = try_login(rt, email, address, limit)
    if wait is not None:
        message = i18n.translate(
            "Too many failed attempts. Wait %(minutes)s minutes and try again.",
            i18n.locale_of(request),
            minutes=math.ceil(wait / 60),
        )
        page = _login_page(request, status=429, error=message, email=email)
        page.headers["Retry-After"] = str(wait)
        return page
    record = check_password(rt, email=email, password=password)
    if record is None:
        message = i18n.translate("The email or password is not right.", i18n.locale_of(request))
        return _login_page(request, status=401, error=message, email=email)
    logged_in(rt, email, address, limit)
    user = WebUser(record.id, record.role, record.name, record.email, record.locale)
    log_in(request, user)
    return RedirectResponse(safe_next(next, home_of(user)), status_code=303)


@router.post("/logout", dependencies=[Depends(verify_csrf)])
def logout(request: Request) -> RedirectResponse:
    """End the session."""
    log_out(request)
    flash(request, i18n.translate("You have logged out.", i18n.locale_of(request)))
    return RedirectResponse("/login", status_code=303)


@router.get("/lang/{code}")
def switch_language(request: Request, code: str) -> RedirectResponse:
    """Remember the chosen language in a cookie and go back to the page."""
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    if code in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE,
            code,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.secure_cookies,
        )
    return response
