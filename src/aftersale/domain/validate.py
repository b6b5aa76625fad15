"""Small input checks shared by the rules."""

from __future__ import annotations

from aftersale.domain.errors import ValidationFailed


def text(value: object, field: str, *, max_len: int, min_len: int = 1) -> str:
    """A stripped string of min_len..max_len characters, else a validation error."""
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be a string", field=field)
    value = value.strip()
    if not min_len <= len(value) <= max_len:
        raise ValidationFailed(
            f"{field} must be {min_len} to {max_len} characters long", field=field
        )
    return value


def optional_text(value: object, field: str, *, max_len: int) -> str | None:
    """Like `text`, but None and blank strings mean absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return text(value, field, max_len=max_len)
