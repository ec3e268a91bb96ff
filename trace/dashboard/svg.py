"""Server-drawn SVG charts: lines, stacked bars and the district tile map. No scripts.

Colours are SVG presentation attributes (the CSP forbids inline styles); every label is
escaped; each mark has a ``<title>`` so hovering or a screen reader gives its number.
"""

from __future__ import annotations

import math

from markupsafe import Markup, escape

from trace.dashboard.charts import Chart, ChartData
from trace.dashboard.districts import DISTRICTS

PALETTE = ("#1f7a3a", "#d97706", "#1a73e8", "#b3261e", "#7b1fa2", "#5f6368")
SCALE = ("#f1f3f4", "#d4ecd9", "#a3d4ae", "#5fae72", "#2b8a48", "#145c2b")
WIDTH, HEIGHT = 480, 240  # small enough that labels stay legible on a phone
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 34
TILE, GAP = 84, 4


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def render(chart: Chart, data: ChartData) -> Markup:
    """The chart as an ``<svg>`` element sized by its viewBox (it scales to its box)."""
    draw = {"lines": line_chart, "bars": bar_chart, "tiles": tile_map}[chart.kind]
    return draw(data, str(chart.title))


def nice_ceiling(value: int) -> tuple[int, int]:
    """A round axis maximum at or above ``value`` and its tick step (1, 2 or 5 x 10^k)."""
    if value <= 0:
        return 4, 1
    raw = value / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(int(step), 1)
    return step * math.ceil(value / step), step


def _open(title: str, width: int, height: int) -> list[str]:
    return [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]


def _axes(top_value: int, step: int) -> list[str]:
    parts = []
    plot_height = HEIGHT - TOP - BOTTOM
    for tick in range(0, top_value + 1, step):
        y = TOP + plot_height - plot_height * tick / top_value
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#dadce0" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="13" '
            f'fill="#5f6368">{tick:,}</text>'
        )
    return parts


def _x_labels(data: ChartData, centres: list[float]) -> list[str]:
    every = max(1, math.ceil(len(centres) / 6))
    parts = []
    for index, (x, centre) in enumerate(zip(data.x_keys, centres, strict=True)):
        if index % every == 0:
            parts.append(
                f'<text x="{centre:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" '
                f'font-size="13" fill="#1c1c1c">{escape(_short(data.label(x)))}</text>'
            )
    return parts


def _short(label: str) -> str:
    """``2025-03`` becomes ``03/25``; other labels stay as they are."""
    if len(label) == 7 and label[4] == "-" and label[:4].isdigit():
        return f"{label[5:]}/{label[2:4]}"
    return label


def _centres(count: int) -> list[float]:
    band = (WIDTH - LEFT - RIGHT) / max(count, 1)
    return [LEFT + band * (index + 0.5) for index in range(count)]


def _y(value: float, top_value: int) -> float:
    plot_height = HEIGHT - TOP - BOTTOM
    return TOP + plot_height - plot_height * value / top_value


def line_chart(data: ChartData, title: str) -> Markup:
    """One line per series over the x values (months)."""
    top_value, step = nice_ceiling(
        max((max(v, default=0) for v in data.values.values()), default=0)
    )
    centres = _centres(len(data.x_keys))
    parts = _open(title, WIDTH, HEIGHT) + _axes(top_value, step) + _x_labels(data, centres)
    for index, (key, label) in enumerate(data.series):
        points = [(c, _y(v, top_value)) for c, v in zip(centres, data.values[key], strict=True)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour(index)}" stroke-width="2.5"/>'
        )
        for (x, y), x_key, value in zip(points, data.x_keys, data.values[key], strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour(index)}">'
                f"<title>{escape(label)} · {escape(data.label(x_key))}: {value:,}</title></circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(data: ChartData, title: str) -> Markup:
    """One bar per x value, its series stacked."""
    totals = [sum(data.values[key][i] for key, _ in data.series) for i in range(len(data.x_keys))]
    top_value, step = nice_ceiling(max(totals, default=0))
    centres = _centres(len(data.x_keys))
    band = (WIDTH - LEFT - RIGHT) / max(len(data.x_keys), 1)
    bar = min(band * 0.7, 56)
    parts = _open(title, WIDTH, HEIGHT) + _axes(top_value, step) + _x_labels(data, centres)
    for i, (x_key, centre) in enumerate(zip(data.x_keys, centres, strict=True)):
        base = 0
        for index, (key, label) in enumerate(data.series):
            value = data.values[key][i]
            if value:
                y_top, y_base = _y(base + value, top_value), _y(base, top_value)
                parts.append(
                    f'<rect x="{centre - bar / 2:.1f}" y="{y_top:.1f}" width="{bar:.1f}" '
                    f'height="{y_base - y_top:.1f}" fill="{colour(index)}">'
                    f"<title>{escape(label)} · {escape(data.label(x_key))}: {value:,}</title>"
                    "</rect>"
                )
            base += value
    parts.append("</svg>")
    return Markup("".join(parts))


def shade(value: int, highest: int) -> int:
    """Index into ``SCALE``: 0 for nothing, then five equal steps up to the highest value."""
    if value <= 0 or highest <= 0:
        return 0
    return min(len(SCALE) - 1, 1 + (len(SCALE) - 1) * (value - 1) // highest)


def tile_map(data: ChartData, title: str) -> Markup:
    """Long An's districts as tiles placed roughly geographically, shaded by value."""
    key = data.series[0][0]
    values = dict(zip(data.x_keys, data.values[key], strict=True))
    highest = max((values.get(d.key, 0) for d in DISTRICTS), default=0)
    columns = 1 + max(d.column for d in DISTRICTS)
    rows = 1 + max(d.row for d in DISTRICTS)
    parts = _open(title, columns * (TILE + GAP), rows * (TILE + GAP))
    for district in DISTRICTS:
        value = values.get(district.key, 0)
        level = shade(value, highest)
        x, y = district.column * (TILE + GAP), district.row * (TILE + GAP)
        ink = "#ffffff" if level >= 3 else "#1c1c1c"
        parts.append(
            f'<g class="tile"><rect x="{x}" y="{y}" width="{TILE}" height="{TILE}" rx="6" '
            f'fill="{SCALE[level]}" stroke="#ffffff" stroke-width="1">'
            f"<title>{escape(district.name)}: {value:,}</title></rect>"
            f'<text x="{x + TILE / 2}" y="{y + 34}" text-anchor="middle" font-size="14" '
            f'fill="{ink}">{escape(district.name)}</text>'
            f'<text x="{x + TILE / 2}" y="{y + 58}" text-anchor="middle" font-size="18" '
            f'font-weight="700" fill="{ink}">{value:,}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
