"""Logging in to the pages over an in-process client (the login form, its CSRF token)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from aftersale.bootstrap import build_runtime
from aftersale.entrypoints.api.app import create_app
from aftersale.entrypoints.web.session import COOKIE
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings
from tests.client import Api
from tests.conftest import test_settings

__all__ = ["COOKIE", "app_client", "csrf", "post_login", "settings_for"]


def csrf(http: httpx.Client) -> str:
    """The CSRF token the login form carries (and the session cookie it sets)."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text)
    assert found is not None
    return found[1]


def post_login(
    http: httpx.Client,
    email: str,
    password: str,
    headers: dict[str, str] | None = None,
    *,
    token: str | None = None,
) -> httpx.Response:
    """Submit the login form once (no redirect followed; `token`: a CSRF token already read)."""
    data = {"email": email, "password": password, "csrf_token": token or csrf(http)}
    return http.post("/login", data=data, headers=headers, follow_redirects=False)


def settings_for(db_url: str, tmp_path: Path, **kw: object) -> Settings:
    """The test settings with some of this task's settings changed."""
    return test_settings(db_url, tmp_path, **kw)


@contextmanager
def app_client(
    settings: Settings, rt: Runtime | None = None, *, peer: str = "testclient"
) -> Iterator[tuple[TestClient, Api, Runtime]]:
    """An app (on its own runtime unless one is given) and a client from a peer address."""
    own = rt is None
    runtime = rt if rt is not None else build_runtime(settings)
    try:
        with TestClient(create_app(settings, runtime=runtime), client=(peer, 50000)) as http:
            yield http, Api(http), runtime  # type: ignore[arg-type]
    finally:
        if own:
            runtime.close()
