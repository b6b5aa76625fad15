"""Use cases of users: create, authenticate by API token or by password."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from aftersale.domain.actions import require_role
from aftersale.domain.actors import Actor, Role
from aftersale.domain.countries import is_country
from aftersale.domain.entities import new_id
from aftersale.domain.errors import DomainError, NotFound, ValidationFailed
from aftersale.domain.validate import text
from aftersale.services import shapes
from aftersale.services.records import UserRecord
from aftersale.services.runtime import Runtime

_hasher = PasswordHasher()
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ROLES = ("buyer", "seller", "admin")
LANGUAGES = ("en", "es")  # the languages of the mail catalogs (entrypoints/web/locales)


def hash_token(token: str) -> str:
    """API tokens are stored only as their SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def user_view(user: UserRecord, token: str | None = None) -> shapes.User:
    """A user (with the token only when it is first issued)."""
    view: shapes.User = {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": cast(shapes.RoleName, user.role),  # (one of ROLES: create_user checks it)
        "country": user.country,
        "language": user.locale,
    }
    if token is not None:
        view["token"] = token
    return view


def create_user(
    rt: Runtime,
    actor: Actor | None,
    *,
    email: object,
    name: object,
    role: object,
    password: object = None,
    country: object = None,
    language: object = None,
    token: str | None = None,
    user_id: str | None = None,
) -> shapes.User:
    """Create a user and issue its API token (actor None: the system itself, e.g. the CLI)."""
    if actor is not None:
        require_role(actor, "create_user")
    mail = text(email, "email", max_len=320).lower()
    if not EMAIL.match(mail):
        raise ValidationFailed("email is not an email address", field="email")
    display = text(name, "name", max_len=200)
    if role not in ROLES:
        raise ValidationFailed("role must be buyer, seller or admin", field="role")
    land = "US" if country is None else text(country, "country", max_len=2, min_len=2).upper()
    if not is_country(land):
        raise ValidationFailed("country is an ISO 3166-1 alpha-2 code", field="country")
    pw_hash = None
    if password is not None:
        pw_hash = _hasher.hash(text(password, "password", max_len=200, min_len=8))
    token = token or secrets.token_urlsafe(32)
    user = UserRecord(
        id=user_id or new_id("usr"),
        email=mail,
        name=display,
        role=str(role),
        password_hash=pw_hash,
        token_hash=hash_token(token),
        country=land,
        locale=_language(language),
        created_at=rt.clock.now(),
    )
    with rt.uow() as uow:
        if uow.users.by_email(mail) is not None:
            raise DomainError("a user with this email exists", code="email_taken")
        uow.users.add(user)
        uow.commit()
    return user_view(user, token)


def _language(value: object) -> str:
    """The language mail is written in (stored as the user's locale)."""
    if value is None:
        return "en"
    if value not in LANGUAGES:
        raise ValidationFailed("language must be en or es", field="language")
    return str(value)


TOKEN_TTL = 30.0  # seconds a known token is trusted without asking the database again
TOKEN_CACHE_SIZE = 10_000


def cached_actor(rt: Runtime, token: str) -> Actor | None:
    """The actor of a token seen in the last 30 s, from memory only (no I/O), else None."""
    hit = rt.token_cache.get(hash_token(token))
    return hit[0] if hit is not None and hit[1] > time.monotonic() else None


def actor_for_token(rt: Runtime, token: str) -> Actor | None:
    """The actor an API token belongs to, if any (known tokens are cached for 30 s; unknown
    ones are always looked up, so a new user's token works at once)."""
    cached = cached_actor(rt, token)
    if cached is not None:
        return cached
    digest = hash_token(token)
    now = time.monotonic()
    with rt.uow(readonly=True) as uow:
        user = uow.users.by_token_hash(digest)
    if user is None or user.disabled_at is not None:
        rt.token_cache.pop(digest, None)
        return None
    actor = Actor(user_id=user.id, role=Role(user.role))
    if len(rt.token_cache) >= TOKEN_CACHE_SIZE:
        rt.token_cache.clear()
    rt.token_cache[digest] = (actor, now + TOKEN_TTL)
    return actor


def ensure_admin_token(rt: Runtime, token: str) -> None:
    """At start: make sure an admin with this API token exists."""
    if actor_for_token(rt, token) is not None:
        return
    with rt.uow() as uow:
        existing = uow.users.by_email("admin@aftersale.local")
        if existing is not None:
            uow.users.set_token_hash(existing.id, hash_token(token))
            uow.commit()
            rt.token_cache.clear()
            return
    create_user(
        rt, None, email="admin@aftersale.local", name="Platform admin", role="admin", token=token
    )


def normal_email(email: str) -> str:
    """An email as login looks it up (and the login rate limit counts it): stripped and
    lower-cased."""
    return email.strip().lower()


def login(rt: Runtime, *, email: str, password: str) -> UserRecord | None:
    """The user whose email and password match, else None."""
    with rt.uow(readonly=True) as uow:
        user = cast(UserRecord | None, uow.users.by_email(normal_email(email)))
    if user is None or user.password_hash is None or user.disabled_at is not None:
        _hasher.hash(password or "x")  # same cost whether or not the user exists
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return user


def change_password(rt: Runtime, user_id: str, password: object) -> int:
    """Give a user a new password and end every session it has open (how many ended)."""
    pw_hash = _hasher.hash(text(password, "password", max_len=200, min_len=8))
    with rt.uow() as uow:
        if uow.users.get(user_id) is None:
            raise NotFound(f"no user {user_id}")
        uow.users.set_password_hash(user_id, pw_hash)
        ended = int(uow.auth.delete_user_sessions(user_id))
        uow.commit()
    return ended


def get_user(rt: Runtime, user_id: str) -> UserRecord | None:
    """A user by id."""
    with rt.uow(readonly=True) as uow:
        return cast(UserRecord | None, uow.users.get(user_id))
