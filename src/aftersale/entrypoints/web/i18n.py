"""Translations of the pages: gettext .po catalogs read at startup (no compile step).

Every .po file under locales/<lang>/LC_MESSAGES/ (web.po for the buyer pages and the
foundation, console.po for the seller console and staff pages) is merged into one catalog per
language. English is the source language: a message without a translation shows as written.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from fastapi import Request

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT = "en"
COOKIE = "lang"

current_locale: ContextVar[str] = ContextVar("aftersale_web_locale", default=DEFAULT)


class Catalog:
    """One language's messages: singular msgid -> text, plural msgid -> forms."""

    def __init__(self) -> None:
        self.singular: dict[str, str] = {}
        self.plural: dict[str, tuple[str, ...]] = {}

    def add_po(self, path: Path, locale: str) -> None:
        """Merge a .po file (entries without a translation or marked fuzzy are skipped)."""
        with path.open("rb") as fh:
            po = read_po(fh, locale=locale)
        for message in po:
            if not message.id or message.fuzzy:
                continue
            if isinstance(message.id, tuple | list):
                forms = tuple(message.string or ())
                if all(forms):
                    self.plural[str(message.id[0])] = forms
            elif message.string:
                self.singular[str(message.id)] = str(message.string)


@lru_cache
def catalog(locale: str) -> Catalog:
    """The merged catalog of a language (read once)."""
    cat = Catalog()
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    if folder.is_dir():
        for path in sorted(folder.glob("*.po")):
            cat.add_po(path, locale)
    return cat


def load_all() -> None:
    """Read every catalog now (at startup), so a broken .po file fails early."""
    for locale in LANGUAGES:
        catalog(locale)


def translate(message: str, locale: str | None = None, **params: Any) -> str:
    """The message in the locale (default: the current request's), with %(name)s filled in."""
    text = catalog(locale or current_locale.get()).singular.get(message, message)
    return text % params if params else text


def ntranslate(singular: str, plural: str, n: int, locale: str | None = None, **params: Any) -> str:
    """A message with a count; `n` is available as %(n)s / %(num)s."""
    loc = locale or current_locale.get()
    forms = catalog(loc).plural.get(singular)
    # English and Spanish both have two forms: one and other.
    text = forms[0 if n == 1 else -1] if forms else (singular if n == 1 else plural)
    return text % {"n": n, "num": n, **params}


def _accept_language(header: str) -> str | None:
    best: tuple[float, str] | None = None
    for part in header.split(","):
        lang, _, q = part.strip().partition(";q=")
        code = lang.strip().lower().split("-")[0]
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        if code in LANGUAGES and (best is None or weight > best[0]):
            best = (weight, code)
    return None if best is None else best[1]


def locale_of(request: Request) -> str:
    """The page language: the `lang` cookie, else Accept-Language, else English."""
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return str(chosen)
    return _accept_language(request.headers.get("accept-language", "")) or DEFAULT


# What a refused action means for the person on the page, by the error's stable code.
ERROR_MESSAGES = {
    "order_already_shipped": (
        "This order has already shipped, so it can no longer be cancelled. Once it arrives "
        "you can return items or open a dispute."
    ),
    "order_already_cancelled": "This order is already cancelled.",
    "cancellation_already_requested": "You have already asked to cancel this order.",
    "cancellation_already_rejected": (
        "The seller has already declined a cancellation of this order. You can message the seller."
    ),
    "order_not_delivered": "This order has not been delivered yet.",
    "order_not_shipped": "This order has not shipped yet.",
    "return_window_closed": "The time to return items of this order has passed.",
    "dispute_window_closed": "The time to open a dispute for this order has passed.",
    "dispute_already_open": "This order already has an open dispute.",
    "refund_exceeds_paid": "That amount is more than what can still be refunded for this order.",
    "dispute_rounds_exhausted": (
        "The seller has answered as many times as a dispute allows. You can accept an offer, "
        "escalate to the platform or withdraw."
    ),
    "dispute_limit_reached": "This order already has as many disputes as an order may have.",
    "concurrent_modification": "The order changed at the same moment. Please try again.",
    "forbidden": "Your account cannot do this.",
}


def message_for(exc: Exception, locale: str | None = None) -> str:
    """A clear, translated message for a refused action (the detail when no text is known)."""
    code = str(getattr(exc, "code", ""))
    if code in ERROR_MESSAGES:
        return translate(ERROR_MESSAGES[code], locale)
    detail = str(getattr(exc, "detail", exc))
    return translate("This could not be done: %(detail)s", locale, detail=detail)
