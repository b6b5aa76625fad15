"""RFC 9457 problem details with a stable `code`; the one table from domain codes to statuses."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from aftersale.domain.errors import DomainError
from aftersale.entrypoints.api import outage
from aftersale.entrypoints.api.outage import is_outage
from aftersale.entrypoints.api.responses import JSONResponse

BODY_UNPARSED = "There was an error parsing the body"  # FastAPI's detail (routing.py)
STATUS: dict[str, int] = {
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "validation_error": 422,
    "payment_amount_mismatch": 422,
    "payment_not_found": 422,
    "invalid_signature": 400,
    "not_ready": 503,
    "refund_exceeds_paid": 422,
    "idempotency_key_reused": 422,
    "payload_too_large": 413,
    "rate_limited": 429,
    "database_unavailable": 503,
    "return_address_missing": 404,
}
TITLES: dict[int, str] = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def status_of(code: str) -> int:
    """The HTTP status for a domain error code (every state refusal is a 409)."""
    return STATUS.get(code, 409)


def problem(
    code: str,
    detail: str,
    *,
    status: int | None = None,
    extra: dict[str, Any] | None = None,
    retry_after: int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    status = status or status_of(code)
    body = {
        "type": f"/problems/{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        **(extra or {}),
    }
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def domain_problem(exc: DomainError) -> JSONResponse:
    """The problem+json answer to a rule's refusal (503 when it was the database going away,
    e.g. a change whose every retry met a dropped connection)."""
    if is_outage(exc):
        return problem(
            "database_unavailable", outage.DETAIL, status=503, retry_after=outage.RETRY_AFTER
        )
    extra: dict[str, Any] = {"field": exc.field} if exc.field else {}
    reason = getattr(exc, "reason", None)  # e.g. invalid_cursor: why the input was refused
    if reason:
        extra["errors"] = [{"loc": [exc.field], "msg": exc.detail, "code": reason}]
    return problem(exc.code, exc.detail, extra=extra or None)


class ApiProblem(Exception):
    """Raised by the HTTP layer itself (auth, malformed headers)."""

    def __init__(self, code: str, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.code, self.detail, self.retry_after = code, detail, retry_after


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed(request: Request) -> str:
    """The methods some route takes at the request's path (its `Allow` header): each method
    tried against the route table, included routers and all."""
    routes = request.app.router.routes
    return ", ".join(
        m
        for m in METHODS
        if any(r.matches({**request.scope, "method": m})[0] == Match.FULL for r in routes)
    )


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return domain_problem(exc)

    @app.exception_handler(ApiProblem)
    async def _api(_: Request, exc: ApiProblem) -> JSONResponse:
        return problem(exc.code, exc.detail, retry_after=exc.retry_after)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", "")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(first['loc'][1:]) or 'request'}: {first['msg']}"
        if exc.errors() and exc.errors()[0].get("type") == "json_invalid":
            # ("10: JSON decode error" said nothing to a person)
            at = first["loc"][-1] if len(first["loc"]) > 1 else "?"
            detail = f"the body is not valid JSON (the error is at character {at})"
        return problem("validation_error", detail, extra={"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == BODY_UNPARSED:
            # FastAPI's answer to a JSON body its parser gave up on (too deep, a number too
            # long, bytes that are not UTF-8): a body that fails validation, as API.md says
            return problem("validation_error", "the body is not valid JSON", status=422)
        code = {
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
        }.get(exc.status_code, "http_error")
        headers = exc.headers
        if exc.status_code == 405:  # every method the path takes, not only its first route's
            headers = {**(headers or {}), "Allow": _allowed(request) or "GET"}
        return problem(code, str(exc.detail), status=exc.status_code, headers=headers)
