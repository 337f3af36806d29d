"""Charts of 统计指标 drawn on the server as inline SVG: no JavaScript, no CDN, printable as-is.

Each chart is a horizontal bar chart (or columns, for a time series) with its numbers written on
the bars; the page shows the same numbers in a table beside it. Colours are SVG presentation
attributes and CSS classes (webapp/static/css/ledger.css), never style="" (the CSP forbids it).
"""
from __future__ import annotations

from markupsafe import Markup, escape

from engine.trends import Series

WIDTH = 640
ROW = 26
LABEL_W = 190


def _number(value: float) -> str:
    return f"{value:,.2f}" if value != int(value) else f"{int(value):,}"


def bars(series: Series, chart_id: str) -> Markup:
    """Horizontal bars, one row per bar, label left, value right of the bar."""
    if not series.bars:
        return Markup("")
    top = max(b.value for b in series.bars) or 1
    span = WIDTH - LABEL_W - 90
    height = ROW * len(series.bars) + 8
    out = [f'<svg class="chart chart-bars" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" '
           f'width="100%" role="img" aria-labelledby="{escape(chart_id)}-title" xmlns="http://www.w3.org/2000/svg">',
           f'<title id="{escape(chart_id)}-title">{escape(series.title)}</title>']
    for i, b in enumerate(series.bars):
        y = 4 + i * ROW
        w = max(1.0, b.value / top * span) if b.value else 0
        out.append(f'<g class="chart-bar"><text x="{LABEL_W - 8}" y="{y + 17}" text-anchor="end" '
                   f'class="chart-label">{escape(_clip(b.label))}</text>'
                   f'<rect x="{LABEL_W}" y="{y + 3}" width="{w:.1f}" height="{ROW - 8}" '
                   f'class="chart-fill" fill="#2b6cb0"/>'
                   f'<text x="{LABEL_W + w + 6:.1f}" y="{y + 17}" class="chart-value">'
                   f'{_number(b.value)} {escape(series.unit)}</text></g>')
    out.append("</svg>")
    return Markup("".join(out))


def columns(series: Series, chart_id: str) -> Markup:
    """Vertical columns for a time series (months left to right), values above the columns."""
    if not series.bars:
        return Markup("")
    top = max(b.value for b in series.bars) or 1
    height, base, plot = 240, 200, 160
    step = (WIDTH - 40) / len(series.bars)
    out = [f'<svg class="chart chart-columns" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" '
           f'width="100%" role="img" aria-labelledby="{escape(chart_id)}-title" xmlns="http://www.w3.org/2000/svg">',
           f'<title id="{escape(chart_id)}-title">{escape(series.title)}</title>',
           f'<line x1="20" y1="{base}" x2="{WIDTH - 20}" y2="{base}" stroke="#999"/>']
    for i, b in enumerate(series.bars):
        x = 20 + i * step
        h = b.value / top * plot
        cx = x + step / 2
        out.append(f'<g class="chart-bar"><rect x="{x + step * 0.15:.1f}" y="{base - h:.1f}" width="{step * 0.7:.1f}" '
                   f'height="{h:.1f}" class="chart-fill" fill="#2b6cb0"/>'
                   f'<text x="{cx:.1f}" y="{base - h - 4:.1f}" text-anchor="middle" class="chart-value">'
                   f'{_number(b.value)}</text>'
                   f'<text x="{cx:.1f}" y="{base + 18}" text-anchor="middle" class="chart-label">'
                   f'{escape(_clip(b.label, 8))}</text></g>')
    out.append("</svg>")
    return Markup("".join(out))


def _clip(text: str, n: int = 13) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
