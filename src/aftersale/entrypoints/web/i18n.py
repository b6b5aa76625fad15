"""Translations of the pages: gettext .po catalogs read at startup, compiled in memory.

Every .po file under locales/<lang>/LC_MESSAGES/ (web.po for the buyer pages and the
foundation, console.po for the seller console and staff pages, ...) is merged into one
catalog per language and compiled into Babel's `Translations`, whose `ngettext` picks the
plural form by the catalog's own Plural-Forms rule (web.po's header, else the CLDR rule of
the language): a language with three or more forms is one .po file away. English is the
source language: a message without a translation shows as written.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog as PoCatalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from fastapi import Request

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT = "en"
COOKIE = "lang"
MAIN_PO = "web.po"  # whose header (Plural-Forms) the merged catalog keeps

current_locale: ContextVar[str] = ContextVar("aftersale_web_locale", default=DEFAULT)


class Catalog:
    """One language's messages, merged from its .po files, and their compiled Translations."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.singular: dict[str, str] = {}
        self.plural: dict[str, tuple[str, ...]] = {}
        self._merged = PoCatalog(locale=locale)
        self._headers_from: str | None = None
        self.translations = Translations()

    def add_po(self, path: Path) -> None:
        """Merge a .po file (entries without a translation or marked fuzzy are skipped)."""
        with path.open("rb") as fh:
            po = read_po(fh, locale=self.locale)
        if self._headers_from is None or path.name == MAIN_PO:
            self._merged.mime_headers = po.mime_headers
            self._headers_from = path.name
        for message in po:
            if not message.id or message.fuzzy:
                continue
            if isinstance(message.id, tuple | list):
                forms = tuple(str(f) for f in (message.string or ()))
                if forms and all(forms):
                    self.plural[str(message.id[0])] = forms
                    self._merged.add(tuple(message.id), forms)
            elif message.string:
                self.singular[str(message.id)] = str(message.string)
                self._merged.add(message.id, message.string)

    def compile(self) -> None:
        """Build the Translations from everything merged (short plural lists padded)."""
        wanted = self._merged.num_plurals
        for message in self._merged:
            if message.id and message.pluralizable:
                forms = list(message.string)
                message.string = tuple(forms + forms[-1:] * (wanted - len(forms)))
        buffer = BytesIO()
        write_mo(buffer, self._merged)
        buffer.seek(0)
        self.translations = Translations(buffer)


def read_catalog(locale: str, folder: Path) -> Catalog:
    """The merged, compiled catalog of a language from a locales folder."""
    cat = Catalog(locale)
    where = folder / locale / "LC_MESSAGES"
    if where.is_dir():
        for path in sorted(where.glob("*.po")):
            cat.add_po(path)
    cat.compile()
    return cat


@lru_cache
def catalog(locale: str) -> Catalog:
    """The merged catalog of a language (read once)."""
    return read_catalog(locale, LOCALES_DIR)


def load_all() -> None:
    """Read every catalog now (at startup), so a broken .po file fails early."""
    for locale in LANGUAGES:
        catalog(locale)


def translate(message: str, locale: str | None = None, **params: Any) -> str:
    """The message in the locale (default: the current request's), with %(name)s filled in."""
    text = catalog(locale or current_locale.get()).translations.gettext(message) if message else ""
    return text % params if params else text


def ntranslate(singular: str, plural: str, n: int, locale: str | None = None, **params: Any) -> str:
    """A message with a count, in the form the language's plural rule picks for `n`;
    `n` is available as %(n)s / %(num)s."""
    translations = catalog(locale or current_locale.get()).translations
    text = translations.ngettext(singular, plural, n)
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
    "invalid_state": (
        "This is no longer possible: the order has moved on since the page was shown. The "
        "page now shows where it stands."
    ),
    "no_pending_cancellation": "There is no cancellation request waiting for an answer.",
    "cancellation_pending": "The cancellation request must be answered first.",
    "payload_too_large": "The file is too large: at most 5 MB.",
}


def detail_in(detail: str, locale: str | None = None) -> str:
    """A rule's own detail inside a sentence of the page: as written in English; in another
    language, a plain sentence in that language instead (the details are English)."""
    if (locale or current_locale.get()) == DEFAULT:
        return translate("This could not be done: %(detail)s", locale, detail=detail)
    return translate("This could not be done. Please check what you entered and try again.", locale)


def message_for(exc: Exception, locale: str | None = None) -> str:
    """A clear, translated message for a refused action (the detail when no text is known)."""
    code = str(getattr(exc, "code", ""))
    if code in ERROR_MESSAGES:
        return translate(ERROR_MESSAGES[code], locale)
    return detail_in(str(getattr(exc, "detail", exc)), locale)
