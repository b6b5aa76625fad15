"""Small input checks shared by the rules: text that can be stored, and the strict grammars
of whole numbers and page cursors."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from aftersale.domain.errors import ValidationFailed

# A sequence cursor (messages, webhook endpoints and deliveries, mail): ASCII digits that fit
# a signed 64-bit column. `str.isdigit` would also take "²" or "١٢".
SEQ_CURSOR = re.compile(r"[0-9]{1,18}")
MAX_SEQ = (1 << 63) - 1


class InvalidCursor(ValidationFailed):
    """A page cursor that was not made here (a 422 `validation_error`, reason `invalid_cursor`)."""

    reason = "invalid_cursor"

    def __init__(self, detail: str = "cursor is not valid") -> None:
        super().__init__(detail, field="cursor")


def storable(value: str) -> bool:
    """Whether text can be kept: encodable as UTF-8 (no lone surrogate) and without NUL
    (PostgreSQL refuses it in text)."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_storable(value: str, field: str) -> str:
    """The text itself, or a validation error naming the field."""
    if not storable(value):
        raise ValidationFailed(
            f"{field} holds a NUL byte or text that is not valid Unicode", field=field
        )
    return value


def first_unstorable(data: Any, path: str = "") -> str | None:
    """The path of the first string (key or value) in parsed JSON that cannot be kept, if any."""
    stack: list[tuple[str, Any]] = [(path, data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if not storable(value):
                return where or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and not storable(key):
                    return where or "body"
                stack.append((f"{where}.{key}" if where else str(key), item))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(value))
    return None


def text(value: object, field: str, *, max_len: int, min_len: int = 1) -> str:
    """A stripped string of min_len..max_len characters, else a validation error."""
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be a string", field=field)
    value = check_storable(value, field).strip()
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


def seq_cursor(cursor: str | None) -> int | None:
    """The sequence number a page cursor stands for (None: the first page)."""
    if not cursor:
        return None
    if not SEQ_CURSOR.fullmatch(cursor) or int(cursor) > MAX_SEQ:
        raise InvalidCursor()
    return int(cursor)


# An opaque cursor: unpadded URL-safe base64 of a small JSON value.
B64_CURSOR = re.compile(r"[A-Za-z0-9_-]+")
ISO_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?([+-][0-9]{2}:[0-9]{2})"
)


def _no_constant(name: str) -> object:
    raise ValueError(name)  # NaN, Infinity: no cursor made here holds them


def cursor_json(cursor: str, *, max_len: int = 1024) -> object:
    """The JSON value an opaque cursor carries, or InvalidCursor (a bounded length, so no
    deep nesting or huge numbers get as far as the parser; no NaN or Infinity)."""
    if len(cursor) > max_len or not B64_CURSOR.fullmatch(cursor):
        raise InvalidCursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError, binascii.Error):
        raise InvalidCursor() from None


def keyset_cursor(cursor: str) -> tuple[str, int]:
    """A keyset cursor `[ISO instant with its offset, sequence]`: its two parts, checked."""
    value = cursor_json(cursor, max_len=200)
    if not isinstance(value, list) or len(value) != 2:
        raise InvalidCursor()
    at, seq = value
    if not isinstance(at, str) or not ISO_INSTANT.fullmatch(at):
        raise InvalidCursor()
    if type(seq) is not int or not 0 <= seq <= MAX_SEQ:
        raise InvalidCursor()
    return at, seq
