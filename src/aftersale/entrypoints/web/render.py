"""Rendering pages: the Jinja2 environment, its filters (translations, money, dates), render()."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from aftersale.entrypoints.web import i18n, order_words, timeline_text
from aftersale.entrypoints.web.session import csrf_token, current_user, pop_flashes

TEMPLATES_DIR = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
_request: ContextVar[Request | None] = ContextVar("aftersale_web_request", default=None)


def money(value: Any, currency: str | None = None, locale: str | None = None) -> str:
    """Money ({"amount", "currency"} or a Decimal with its currency) in the user's locale."""
    if value is None:
        return ""
    if isinstance(value, dict):
        currency = currency or str(value.get("currency", ""))
        value = value.get("amount")
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return format_currency(amount, currency or "USD", locale=locale or i18n.current_locale.get())


def line_total(unit_price: dict[str, str], quantity: int) -> dict[str, str]:
    """An order line's price times its quantity, as money."""
    amount = Decimal(unit_price["amount"]) * quantity
    return {"amount": str(amount), "currency": unit_price["currency"]}


def _as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def dt(value: Any, fmt: str = "medium", locale: str | None = None) -> str:
    """A date and time in the user's locale: one format on every page, the locale's medium
    format with the time zone (UTC). (`fmt` is kept for old callers and ignored.)"""
    moment = _as_datetime(value)
    if moment is None:
        return ""
    where = locale or i18n.current_locale.get()
    return f"{format_datetime(moment, 'medium', tzinfo=UTC, locale=where)} UTC"


NAMED_WIDTHS = frozenset({"short", "medium", "long", "full"})


def date(value: Any, fmt: str = "medium", locale: str | None = None) -> str:
    """A moment as the pages write every date (the same format as dt); an explicit CLDR
    pattern ("d MMM", for a chart's axis) is a short label in the user's locale."""
    if fmt in NAMED_WIDTHS:
        return dt(value, locale=locale)
    moment = _as_datetime(value)
    where = locale or i18n.current_locale.get()
    return "" if moment is None else format_date(moment, fmt, locale=where)


def number(value: Any, locale: str | None = None) -> str:
    """A number in the user's locale (1,234.5 / 1.234,5)."""
    if value is None or value == "":
        return ""
    return format_decimal(Decimal(str(value)), locale=locale or i18n.current_locale.get())


def percent(value: Any, locale: str | None = None, digits: int = 1) -> str:
    """A fraction (0.25) as a percentage in the user's locale (25 % / 25%)."""
    if value is None or value == "":
        return ""
    where = locale or i18n.current_locale.get()
    # the locale's own pattern ("#,##0%", "#,##0 %"), with a fixed number of decimals
    pattern = Locale.parse(where).percent_formats[None].pattern
    fixed = pattern.replace("#,##0", "#,##0" + ("." + "0" * digits if digits else ""), 1)
    return format_percent(Decimal(str(value)), fixed, locale=where)


def iso(value: Any) -> str:
    """An ISO 8601 timestamp for <time datetime=...> and scripts."""
    moment = _as_datetime(value)
    return "" if moment is None else moment.isoformat().replace("+00:00", "Z")


def seconds_left(due: object, now: object) -> float:
    """Seconds from now until a due time (ISO strings or datetimes); never negative."""
    moment, start = _as_datetime(due), _as_datetime(now)
    if moment is None or start is None:
        return 0.0
    return max(0.0, (moment - start).total_seconds())


def fmt_left(seconds: float) -> str:
    """Time left as the live countdown shows it: "2d 03:04:05"."""
    left = int(seconds)
    days, rest = divmod(left, 86400)
    clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}{i18n.translate('d')} {clock}" if days else clock


def item_title(order: dict[str, Any], sku: str) -> str:
    """The product name of an order line, by its SKU (the SKU if the order has no such line)."""
    return next((str(i["title"]) for i in order.get("items", []) if i["sku"] == sku), sku)


def item_rows(order: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of the items table the seller's and the staff's order pages share
    (_items.html): each line's product, SKU, quantity ordered and cancelled, and unit price."""
    return [
        {
            "sku": item["sku"],
            "title": item["title"],
            "quantity": item["quantity"],
            "cancelled": item.get("cancelled_quantity") or 0,
            "unit_price": item["unit_price"],
        }
        for item in order.get("items", [])
    ]


def csrf_input() -> Markup:
    """The hidden CSRF field every POST form carries."""
    request = _request.get()
    token = csrf_token(request) if request is not None else ""
    return Markup(f'<input type="hidden" name="csrf_token" value="{escape(token)}">')


# Codes whose words are not the code itself: a paid order not shipped yet is "Awaiting
# shipment" on every page (badge and tab alike), whether packed or not.
LABELS = {"awaiting_fulfillment": "Awaiting shipment"}


def label(code: Any) -> str:
    """A machine code shown as words (awaiting_payment -> Awaiting payment), translated."""
    key = str(code or "")
    if key in LABELS:
        return i18n.translate(LABELS[key])
    text = key.replace("_", " ").strip()
    return i18n.translate(text[:1].upper() + text[1:]) if text else ""


env = templates.env
env.globals.update(
    _=i18n.translate,
    gettext=i18n.translate,
    ngettext=i18n.ntranslate,
    money=money,
    dt=dt,
    date=date,
    iso=iso,
    csrf_input=csrf_input,
    label=label,
    line_total=line_total,
    item_title=item_title,
    item_rows=item_rows,
    seconds_left=seconds_left,
    fmt_left=fmt_left,
    number=number,
    percent=percent,
    event_title=timeline_text.event_title,
    detail_text=timeline_text.detail_text,
    actor_name=timeline_text.actor_name,
    refund_reason=timeline_text.refund_reason,
    known_words=timeline_text.known_words,
    resolved_how=timeline_text.resolved_how,
    dispute_outcome=timeline_text.dispute_outcome,
    order_banner=order_words.banner,
    order_headline=order_words.headline,
    main_actions=order_words.main_actions,
    net_paid=order_words.net_paid,
    fully_refunded=order_words.fully_refunded,
    LANGUAGES=i18n.LANGUAGES,
)
env.filters.update(
    money=money, dt=dt, date=date, iso=iso, label=label, number=number, percent=percent
)


def render(request: Request, template_name: str, *, status: int = 200, **ctx: Any) -> HTMLResponse:
    """Render a page with the user, locale, CSRF token, flashes and demo flag in its context."""
    locale = i18n.locale_of(request)
    token_locale = i18n.current_locale.set(locale)
    token_request = _request.set(request)
    try:
        settings = request.app.state.settings
        context = {
            "request": request,
            "user": current_user(request),
            "locale": locale,
            "csrf": csrf_token(request),
            "demo": bool(getattr(settings, "demo", False)),
            "flashes": pop_flashes(request),
            "path": request.url.path,
            **ctx,
        }
        response: HTMLResponse = templates.TemplateResponse(
            request, template_name, context, status_code=status
        )
        response.headers.setdefault("Content-Language", locale)
        return response
    finally:
        _request.reset(token_request)
        i18n.current_locale.reset(token_locale)
