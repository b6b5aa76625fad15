"""Domain errors: each carries a stable machine code and no HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused an action; `code` is stable and part of the public contract."""

    code = "invalid_state"

    def __init__(self, detail: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.field = field


class InvalidState(DomainError):
    """The current state forbids the action (a 409 at the API)."""

    code = "invalid_state"


class ValidationFailed(DomainError):
    """The input is malformed or out of range (a 422 at the API)."""

    code = "validation_error"


class NotFound(DomainError):
    """The object does not exist or the caller may not see it."""

    code = "not_found"


class Forbidden(DomainError):
    """The caller's role may never take this action."""

    code = "forbidden"


class ConcurrentModification(DomainError):
    """Another change to the same aggregate won the race; the caller may retry."""

    code = "concurrent_modification"
