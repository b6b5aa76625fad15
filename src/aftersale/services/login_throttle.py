"""The login rate limit, counted in the database so every process shares it (issue 17,
point 5): at most `attempts` tries per normalised email and client address in a window.

Each try is counted before the password is checked, in one atomic statement, so parallel
guesses cannot slip past the count; a good login forgets the tries.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from aftersale.services.runtime import Runtime
from aftersale.services.users import normal_email


@dataclass(frozen=True, slots=True)
class LoginLimit:
    """How many tries in how long."""

    attempts: int = 5
    window: timedelta = timedelta(minutes=15)


def attempt_key(email: str, address: str) -> str:
    """The stored key of an email and client address (a hash: no email kept in the table)."""
    return hashlib.sha256(f"{normal_email(email)}\0{address}".encode()).hexdigest()


def try_login(rt: Runtime, email: str, address: str, limit: LoginLimit) -> int | None:
    """Count a try: None if it may go on, else the seconds until the window ends."""
    now = rt.wall_now()
    with rt.uow() as uow:
        found: tuple[int, datetime] = uow.auth.count_attempt(
            attempt_key(email, address), now=now, window_start_after=now - limit.window
        )
        uow.commit()
    count, start = found
    if count <= limit.attempts:
        return None
    # (a try that read the clock just before a parallel one opened the window sees that window
    # start a moment after its own now: its wait is still at most the window)
    left = math.ceil((start + limit.window - now).total_seconds())
    return min(max(1, left), math.ceil(limit.window.total_seconds()))


def logged_in(rt: Runtime, email: str, address: str, limit: LoginLimit) -> None:
    """A good login: forget this key's tries (and sweep the windows that have ended)."""
    now = rt.wall_now()
    with rt.uow() as uow:
        uow.auth.clear_attempts(attempt_key(email, address))
        uow.auth.purge_attempts(now - limit.window)
        uow.commit()
