"""The operator's use cases behind `aftersale users ...` and `aftersale refunds retry`: list,
disable, enable, re-key users and set their passwords; retry a failed refund as the platform."""

from __future__ import annotations

import secrets
from typing import Any, cast

from aftersale.domain.actors import Actor, Role
from aftersale.domain.errors import NotFound
from aftersale.services import shapes
from aftersale.services.records import UserRecord
from aftersale.services.refunds import retry_refund
from aftersale.services.runtime import Runtime
from aftersale.services.users import change_password, hash_token

OPERATOR = Actor(user_id="operator", role=Role.ADMIN)  # the CLI acts as the platform


def list_users(rt: Runtime, *, limit: int = 1000) -> list[UserRecord]:
    """Users, oldest first."""
    with rt.uow(readonly=True) as uow:
        return cast(list[UserRecord], uow.users.listing(limit=limit))


def _find(uow: Any, who: str) -> UserRecord:
    """A user by id or email, else not_found."""
    user = uow.users.get(who) or uow.users.by_email(who)
    if user is None:
        raise NotFound(f"no user {who}")
    return cast(UserRecord, user)


def set_disabled(rt: Runtime, *, who: str, disabled: bool) -> UserRecord:
    """Disable a user (its API token, password and page sessions stop working) or enable it
    again."""
    with rt.uow() as uow:
        user = _find(uow, who)
        now = rt.clock.now()
        uow.users.set_disabled(user.id, now if disabled else None, now=now)
        if disabled:  # its page sessions end too (enabling it again revives none)
            uow.auth.delete_user_sessions(user.id)
        uow.commit()
    rt.token_cache.clear()  # (other processes within a second: entrypoints/token_watch.py)
    return user


def set_password(rt: Runtime, *, who: str, password: object) -> tuple[UserRecord, int]:
    """Give a user a new password; its page sessions end (how many did)."""
    with rt.uow(readonly=True) as uow:
        user = _find(uow, who)
    return user, change_password(rt, user.id, password)


def rotate_token(rt: Runtime, *, who: str) -> tuple[UserRecord, str]:
    """Give a user a new API token (the old one stops working); the token is shown once."""
    token = secrets.token_urlsafe(32)
    with rt.uow() as uow:
        user = _find(uow, who)
        uow.users.set_token_hash(user.id, hash_token(token), now=rt.clock.now())
        uow.commit()
    rt.token_cache.clear()
    return user, token


def retry_failed_refund(rt: Runtime, *, refund_id: str) -> shapes.Order:
    """Issue a failed refund again, as the platform (a new refund keyed on the failed one)."""
    return retry_refund(rt, OPERATOR, refund_id)
