"""Security headers on every answer, pages and API alike (issue 17, point 8).

- Content-Security-Policy: the pages run only scripts served from /static (htmx and app.js
  are files; no inline script or `on*=` handler in the templates), styles from /static plus
  inline `style=` attributes, nothing from elsewhere, no plugins, forms posted only here, and
  never framed (`frame-ancestors 'none'`, with `X-Frame-Options: DENY` for old browsers).
  The API's answers are data, never documents: `default-src 'none'`.
- /docs (api/docs.py) is one of the pages: Swagger UI's files and its starter script are
  served from here, so the pages' policy covers it.
- Referrer-Policy, X-Content-Type-Options: nosniff, Permissions-Policy (no camera,
  microphone, geolocation, payment, USB ...), and with secure cookies (HTTPS) HSTS.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGES_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
COMMON: list[tuple[bytes, bytes]] = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (
        b"permissions-policy",
        b"camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    ),
    (b"cross-origin-opener-policy", b"same-origin"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    """The ASGI layer (see the module's text); `hsts` when served over HTTPS."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app, self.hsts = app, hsts

    def _headers(self, path: str) -> list[tuple[bytes, bytes]]:
        csp = API_CSP if path.startswith("/api/") else PAGES_CSP
        extra = [HSTS] if self.hsts else []
        return [*COMMON, *extra, (b"content-security-policy", csp.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ours = self._headers(scope["path"])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _merged(message.get("headers", []), ours)}
            await send(message)

        await self.app(scope, receive, with_headers)


def _merged(
    headers: list[tuple[bytes, bytes]], ours: list[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """The response's headers plus ours (a header the response set itself is kept)."""
    present = {name.lower() for name, _ in headers}
    return [*headers, *((n, v) for n, v in ours if n not in present)]
