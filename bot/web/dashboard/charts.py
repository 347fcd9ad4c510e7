"""Price charts drawn on the server as SVG: no script, no library, no internet needed.

One line per market (reference prices over time) and the sellers' listing prices as dots
beside them, on shared axes; the SVG scales to the page width (viewBox).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

from markupsafe import Markup, escape

from conversations.i18n import format_money

WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 78, 12, 16, 56
#: Colours people with the common colour-vision deficiencies can still tell apart.
PALETTE = ("#0b6e4f", "#c84c09", "#3d5a98", "#8e3b8e", "#6b6b00", "#00838f")


def price_chart(series: dict, translate: Callable[[str], str]) -> Markup | None:
    """The chart for `desk.price_series(...)`, or None when there is nothing to draw."""
    markets = {market: [(_seconds(t), p) for t, p in line] for market, line in series["markets"].items()}
    listed = [(_seconds(t), p) for t, p in series["listings"]]
    points = [point for line in markets.values() for point in line] + listed
    if not points:
        return None
    times = [t for t, _ in points]
    values = [p for _, p in points]
    t0, t1 = min(times), max(times)
    low, high = min(values), max(values)
    if t1 == t0:
        t0, t1 = t0 - 3600, t1 + 3600
    pad = max((high - low) * 0.1, high * 0.05, 1)
    low, high = max(low - pad, 0), high + pad

    def x(seconds: float) -> float:
        return LEFT + (seconds - t0) / (t1 - t0) * (WIDTH - LEFT - RIGHT)

    def y(price: float) -> float:
        return TOP + (high - price) / (high - low) * (HEIGHT - TOP - BOTTOM)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="chart" '
             f'role="img" aria-label="{escape(translate("Grafik harga"))}">']
    for i in range(5):
        price = low + (high - low) * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(price):.1f}" y2="{y(price):.1f}" '
                     'stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(price) + 4:.1f}" text-anchor="end" font-size="12">'
                     f'{escape(_money(int(round(price))))}</text>')
    for moment, anchor in ((t0, "start"), (t1, "end")):
        label = from_db_time_label(moment)
        parts.append(f'<text x="{LEFT if anchor == "start" else WIDTH - RIGHT}" y="{HEIGHT - BOTTOM + 18}" '
                     f'text-anchor="{anchor}" font-size="12">{escape(label)}</text>')
    legend_y = HEIGHT - 12
    legend_x = LEFT
    for index, (market, line) in enumerate(sorted(markets.items())):
        colour = PALETTE[index % len(PALETTE)]
        coords = " ".join(f"{x(t):.1f},{y(p):.1f}" for t, p in line)
        parts.append(f'<polyline class="market" data-market="{escape(market)}" fill="none" stroke="{colour}" '
                     f'stroke-width="2.5" points="{coords}"/>')
        for t, p in line:
            parts.append(f'<circle cx="{x(t):.1f}" cy="{y(p):.1f}" r="3.5" fill="{colour}">'
                         f'<title>{escape(market)}: {escape(_money(p))}</title></circle>')
        parts.append(f'<rect x="{legend_x}" y="{legend_y - 10}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{legend_x + 16}" y="{legend_y}" font-size="12">{escape(market)}</text>')
        legend_x += 24 + 7 * len(market)
    listing_label = escape(translate("Harga iklan"))
    for t, p in listed:
        parts.append(f'<rect class="listing" x="{x(t) - 3:.1f}" y="{y(p) - 3:.1f}" width="6" '
                     f'height="6" fill="none" stroke="#555"><title>{listing_label}: '
                     f'{escape(_money(p))}</title></rect>')
    if listed:
        parts.append(f'<rect x="{legend_x}" y="{legend_y - 10}" width="10" height="10" fill="none" '
                     f'stroke="#555"/><text x="{legend_x + 16}" y="{legend_y}" font-size="12">'
                     f'{escape(translate("Harga iklan penjual"))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _seconds(stamp: str) -> float:
    """A stored time as seconds since the epoch (fromisoformat: ten times strptime's speed)."""
    return datetime.fromisoformat(stamp).timestamp()


@lru_cache(maxsize=4096)
def _money(amount: int) -> str:
    return format_money(amount)


def from_db_time_label(timestamp: float) -> str:
    """An axis label: the day, `28/11/2026`."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%d/%m/%Y")
