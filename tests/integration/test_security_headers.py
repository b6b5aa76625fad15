"""Security headers (issue 17, point 8): none of CSP, frame-ancestors / X-Frame-Options,
Referrer-Policy, X-Content-Type-Options or Permissions-Policy were sent, and the session
cookie lacked Secure. Now on pages and API alike; the pages' CSP allows no inline script;
Secure cookies and HSTS are a setting, on by default behind an https public URL."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from aftersale.entrypoints.api.app import create_app
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings
from tests import conftest
from tests.client import Api

COMMON = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
}


def directives(policy: str) -> dict[str, list[str]]:
    found = {}
    for part in filter(None, (p.strip() for p in policy.split(";"))):
        name, *values = part.split()
        found[name] = values
    return found


def assert_hardened(headers: object) -> dict[str, list[str]]:
    h = dict(headers)  # type: ignore[call-overload]
    for name, value in COMMON.items():
        assert h[name] == value, (name, h)
    assert "camera=()" in h["permissions-policy"]
    csp = directives(h["content-security-policy"])
    assert csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in csp.get("script-src", csp.get("default-src", []))
    return csp


def test_pages_and_api_answers_carry_the_headers(api: Api) -> None:
    page = api.http.get("/login")
    csp = assert_hardened(page.headers)
    assert csp["script-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert "strict-transport-security" not in page.headers  # http: no HSTS
    assert "secure" not in page.headers.get("set-cookie", "").lower()
    for answer in (api.get("/orders", as_=api.admin), api.get("/orders", as_=None)):  # a 401 too
        assert assert_hardened(answer.headers)["default-src"] == ["'none'"]
    for answer in (api.http.get("/healthz"), api.http.get("/openapi.json")):
        assert_hardened(answer.headers)
    assert api.http.get("/static/app.js").headers["x-content-type-options"] == "nosniff"


def test_no_template_has_an_inline_script_or_handler() -> None:
    templates = Path(conftest.ROOT, "src/aftersale/entrypoints/web/templates")
    for path in templates.rglob("*.html"):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag, (path, tag)
        assert not re.search(r"\son[a-z]+\s*=", text), path
        assert "javascript:" not in text and "hx-on" not in text, path


def test_the_docs_page_is_served_whole_from_here_under_the_pages_policy(api: Api) -> None:
    page = api.http.get("/docs")
    assert page.status_code == 200
    csp = assert_hardened(page.headers)
    assert csp["script-src"] == ["'self'"]
    assert not re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), "an inline script"
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources), sources  # nothing from elsewhere
    for source in sources:
        asset = api.http.get(source)
        assert asset.status_code == 200, source
    bundle = api.http.get("/docs/assets/swagger-ui-bundle.js")
    assert "javascript" in bundle.headers["content-type"] and len(bundle.content) > 100_000
    moved = api.http.get("/redoc", follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (308, "/docs")


def test_an_https_public_url_makes_the_cookie_secure_and_sends_hsts(
    db_url: str, tmp_path: Path, rt: Runtime
) -> None:
    settings = conftest.test_settings(db_url, tmp_path, public_url="https://shop.example")
    assert isinstance(settings, Settings) and settings.secure_cookies
    with TestClient(create_app(settings, runtime=rt), base_url="https://testserver") as http:
        page = http.get("/login")
        assert "max-age=" in page.headers["strict-transport-security"]
        cookie = page.headers["set-cookie"].lower()
        assert "aftersale_session=" in cookie and "; secure" in cookie and "httponly" in cookie
        api_answer = http.get("/api/v1/orders")
        assert "max-age=" in api_answer.headers["strict-transport-security"]
    off = conftest.test_settings(
        db_url, tmp_path, public_url="https://shop.example", cookie_secure=False
    )
    assert not off.secure_cookies
