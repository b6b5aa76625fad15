"""Charts as inline SVG drawn on the server: no JavaScript, no CDN, readable by screen readers.

Each chart is an <svg role="img"> with a <title> and <desc>; the pages put a data table
next to it with the same numbers, for anyone who cannot see the drawing.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from babel.numbers import format_decimal
from markupsafe import Markup, escape

from aftersale.entrypoints.web import render

PALETTE = ["#e8590c", "#2453d6", "#18794e", "#9a5b00", "#7c3aed", "#b42318"]
FONT = 'font-family="system-ui, sans-serif"'
_ids = itertools.count()


def _frame(title: str, desc: str, width: int, height: int, body: list[str]) -> Markup:
    n = next(_ids)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-t{n} chart-d{n}" preserveAspectRatio="xMidYMid meet">'
        f'<title id="chart-t{n}">{escape(title)}</title><desc id="chart-d{n}">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _number(value: float, percent: bool, locale: str, digits: int = 1) -> str:
    """A value (a percentage when `percent`: 40 -> "40.0%") in the locale's format."""
    if percent:
        return render.percent(value / 100, locale, digits=digits)
    return format_decimal(
        value, format="#,##0." + "0" * digits if digits else "#,##0", locale=locale
    )


def _text(x: float, y: float, label: str, *, anchor: str = "middle", size: int = 12) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" {FONT} '
        f'fill="#5d6778">{escape(label)}</text>'
    )


def _nice_max(value: float) -> float:
    """A round top for an axis (1, 2, 2.5, 5 × 10^k) at or above the value."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 0.1
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(value)


def line_chart(
    *,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    percent: bool = True,
    locale: str = "en",
) -> Markup:
    """Lines over categories (weeks), with a y axis in percent, points and a legend; numbers
    in the locale's formats."""
    width, height, left, right, top, bottom = 560, 290, 50, 20, 40, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((v for _, vals in series for v in vals), default=0) or 1)
    step = plot_w / max(len(labels) - 1, 1)
    body: list[str] = []
    for i in range(5):
        value = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e1e5ec"/>'
        )
        shown = _number(value, percent, locale, digits=0 if float(value).is_integer() else 1)
        body.append(_text(left - 6, y + 4, shown, anchor="end", size=13))
    for i, label in enumerate(labels):
        if len(labels) <= 6 or (len(labels) - 1 - i) % 2 == 0:  # thin out, keep the latest
            body.append(_text(left + i * step, height - bottom + 20, label, size=12))
    for k, (name, values) in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        points = [
            (left + i * step, top + plot_h - plot_h * (v / top_value)) for i, v in enumerate(values)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.5"/>')
        for (x, y), v in zip(points, values, strict=True):
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}">'
                f"<title>{escape(name)}: {escape(_number(v, percent, locale))}</title></circle>"
            )
        lx = left + k * 140
        body.append(f'<rect x="{lx}" y="10" width="14" height="4" rx="2" fill="{color}"/>')
        body.append(_text(lx + 20, 18, name, anchor="start", size=14))
    return _frame(title, desc, width, height, body)


def bar_chart(
    *, title: str, desc: str, bars: Sequence[tuple[str, int]], color: str = PALETTE[1]
) -> Markup:
    """Horizontal bars, one per label, with the count at the end of each bar."""
    row, width, right = 46, 360, 40
    height = max(len(bars), 1) * row + 8
    top_value = max((v for _, v in bars), default=0) or 1
    body: list[str] = []
    for i, (label, value) in enumerate(bars):
        y = 4 + i * row
        w = (width - right) * value / top_value
        body.append(_text(0, y + 14, label, anchor="start", size=14))
        body.append(
            f'<rect x="0" y="{y + 21}" width="{max(w, 2):.1f}" height="16" rx="4" fill="{color}"/>'
        )
        body.append(_text(w + 6, y + 34, str(value), anchor="start", size=14))
    if not bars:
        body.append(_text(width / 2, 24, "—", size=14))
    return _frame(title, desc, width, height, body)


def histogram(
    *,
    title: str,
    desc: str,
    bins: Sequence[tuple[str, int]],
    marker_after: str | None,
    marker_label: str,
) -> Markup:
    """Vertical bars per bin, with a dashed line after one bin (the promise)."""
    width, height, left, right, top, bottom = 560, 290, 40, 16, 40, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((v for _, v in bins), default=0) or 1)
    slot = plot_w / max(len(bins), 1)
    body: list[str] = []
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e1e5ec"/>'
        )
        body.append(_text(left - 6, y + 4, f"{top_value * i / 4:g}", anchor="end", size=13))
    for i, (label, value) in enumerate(bins):
        h = plot_h * value / top_value
        x = left + i * slot + slot * 0.15
        late = marker_after is not None and i > [b for b, _ in bins].index(marker_after)
        fill = PALETTE[5] if late else PALETTE[2]
        body.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}" rx="3" fill="{fill}"><title>{escape(label)}: {value}</title></rect>'
        )
        body.append(_text(x + slot * 0.35, top + plot_h - h - 5, str(value), size=13))
        body.append(_text(x + slot * 0.35, height - bottom + 20, label, size=13))
        if label == marker_after:
            mx = left + (i + 1) * slot
            body.append(
                f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{top - 8}" y2="{top + plot_h}" '
                'stroke="#1c2330" stroke-width="1.5" stroke-dasharray="5 4"/>'
            )
            body.append(_text(mx - 6, top - 14, marker_label, anchor="end", size=14))
    return _frame(title, desc, width, height, body)
