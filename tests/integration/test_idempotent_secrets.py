"""Secrets at rest (issue 17, point 7): `POST /users` with an Idempotency-Key stored the new
user's plaintext API token in idempotency_keys.body, and a repeat showed the "shown once"
token again. Now only a hash is kept and a repeat answers 409
`idempotency_secret_not_replayable`, doing nothing again; the same for a webhook endpoint's
signing secret (create and rotate-secret)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from aftersale.adapters.db import tables as t
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings
from tests import conftest
from tests.client import Api


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return conftest.test_settings(db_url, tmp_path, webhook_allow_private=True)


def stored_bodies(rt: Runtime) -> list[bytes]:
    with rt.uow(readonly=True) as uow:
        conn = uow.conn  # type: ignore[attr-defined]
        return [bytes(b or b"") for b in conn.execute(select(t.idempotency_keys.c.body)).scalars()]


def count(rt: Runtime, table: object) -> int:
    with rt.uow(readonly=True) as uow:
        conn = uow.conn  # type: ignore[attr-defined]
        return len(conn.execute(select(table)).all())  # type: ignore[call-overload]


def test_a_new_users_token_is_not_kept_and_a_repeat_is_refused(api: Api, rt: Runtime) -> None:
    body = {"email": "once@example.test", "name": "Once", "role": "buyer"}
    first = api.ok(api.post("/users", body, as_=api.admin, key="user-1"), 201)
    token = first["token"]
    assert all(token.encode() not in stored for stored in stored_bodies(rt))
    users = count(rt, t.users)
    again = api.post("/users", body, as_=api.admin, key="user-1")
    problem = api.problem(again, 409, "idempotency_secret_not_replayable")
    assert token not in again.text and "token" not in problem
    assert count(rt, t.users) == users  # nothing done again
    # the token works, and another body under the key is still "reused"
    me = api.http.get("/api/v1/orders", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    api.problem(
        api.post("/users", {**body, "name": "Other"}, as_=api.admin, key="user-1"),
        422,
        "idempotency_key_reused",
    )


def test_a_refused_user_creation_is_replayed_as_before(api: Api) -> None:
    body = {"email": "not-an-email", "name": "X", "role": "buyer"}
    first = api.problem(
        api.post("/users", body, as_=api.admin, key="bad-1"), 422, "validation_error"
    )
    again = api.post("/users", body, as_=api.admin, key="bad-1")
    assert again.status_code == 422 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first


def test_a_webhook_secret_is_not_kept_on_create_or_rotate(api: Api, rt: Runtime) -> None:
    made = api.post(
        "/webhook-endpoints", {"url": "http://127.0.0.1:9/hook"}, as_=api.admin, key="wh-1"
    )
    endpoint = api.ok(made, 201)
    secret = endpoint["secret"]
    rotated = api.ok(
        api.post(f"/webhook-endpoints/{endpoint['id']}/rotate-secret", as_=api.admin, key="wh-2")
    )
    assert rotated["secret"] != secret
    for stored in stored_bodies(rt):
        assert secret.encode() not in stored and rotated["secret"].encode() not in stored
    again = api.post(
        "/webhook-endpoints", {"url": "http://127.0.0.1:9/hook"}, as_=api.admin, key="wh-1"
    )
    api.problem(again, 409, "idempotency_secret_not_replayable")
    assert secret not in again.text
    listed = api.ok(api.get("/webhook-endpoints", as_=api.admin))["items"]
    assert len(listed) == 1  # not registered twice
    repeat = api.post(
        f"/webhook-endpoints/{endpoint['id']}/rotate-secret", as_=api.admin, key="wh-2"
    )
    api.problem(repeat, 409, "idempotency_secret_not_replayable")
    assert rotated["secret"] not in repeat.text
