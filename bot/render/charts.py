"""Report charts as PNG bytes: matplotlib's object API (``Figure`` on an Agg canvas, never
pyplot, whose global figure registry keeps every figure alive). matplotlib is not
thread-safe, so the bot renders every chart in one worker thread (bot.charts)."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

TOP = 10  # groups shown for a dimension other than day
SENDS, REVENUE, CLICKS, CONVERSIONS = "#2F80ED", "#27AE60", "#E67E22", "#8E44AD"


@dataclass(frozen=True)
class ChartData:
    """Plain numbers for the worker thread (no ORM objects cross into it)."""

    title: str
    dimension: str  # "Day", "Creative", ...
    labels: list[str]
    sends: list[int]
    revenue: list[float]
    click_rate: list[float]  # percent
    conversion_rate: list[float]  # percent


def chart_data(title: str, grouping: str, rows: list[dict[str, Any]],
               days: list[str] | None = None) -> ChartData:
    """The report's rows in chart order: days in order (every one of ``days``, a day
    without messages at zero), other groups by revenue (then sends), the top ten."""
    if grouping == "day" and days:
        # core.reports keys days in UTC: a key outside the local days is kept too.
        by_key = {r["key"]: r for r in rows}
        rows = [by_key.get(day) or _empty(day)
                for day in sorted(set(days) | (set(by_key) - {None}))]
    elif grouping != "day":
        rows = sorted(rows, key=lambda r: (Decimal(r["revenue"]), r["sends"]),
                      reverse=True)[:TOP]
    labels = [_label(r, grouping) for r in rows]
    return ChartData(
        title=title, dimension=grouping.capitalize(), labels=labels,
        sends=[int(r["sends"]) for r in rows],
        revenue=[float(r["revenue"]) for r in rows],
        click_rate=[float(r["click_rate"]) * 100 for r in rows],
        conversion_rate=[float(r["conversion_rate"]) * 100 for r in rows])


def _empty(day: str) -> dict[str, Any]:
    return {"key": day, "name": day, "sends": 0, "revenue": "0", "click_rate": "0",
            "conversion_rate": "0"}


def _label(row: dict[str, Any], grouping: str) -> str:
    if grouping == "day" and row["key"]:
        return str(row["key"])[5:]  # MM-DD
    name = row.get("name") or row.get("key")
    text = str(name) if name not in (None, "") else "(none)"
    return text if len(text) <= 18 else text[:17] + "…"


def render_png(data: ChartData) -> bytes:
    """Two panels: sends (bars) and revenue per group; click and conversion rates per
    group. Days are a series (lines); other groups are categories (bars and markers, no
    line between unrelated creatives). Axes labelled, values on the bars when few."""
    fig = Figure(figsize=(10, 7.5), dpi=100)
    FigureCanvasAgg(fig)
    x = list(range(len(data.labels)))
    series = data.dimension == "Day"
    rotate = 45 if len(data.labels) > 7 else 0
    # Fixed margins: the figure's size never changes, and a constrained layout would
    # measure every label first (nearly half the drawing time).
    slant = 0.05 if rotate else 0.0
    top, bottom = fig.subplots(2, 1, gridspec_kw={
        "left": 0.085, "right": 0.905, "top": 0.9, "bottom": 0.08 + slant,
        "hspace": 0.42 + slant * 3})
    fig.suptitle(data.title, fontsize=13, fontweight="bold")

    bars = top.bar(x, data.sends, color=SENDS, alpha=0.85, label="Sends")
    top.set_ylabel("Sends")
    top.set_xlabel(data.dimension)
    top.yaxis.set_major_locator(MaxNLocator(integer=True))
    top.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    top.set_ylim(0, _headroom(data.sends, 1))
    if len(x) <= 12:
        top.bar_label(bars, fmt="{:,.0f}", fontsize=8, padding=2)
    money = top.twinx()
    money.plot(x, data.revenue, color=REVENUE, marker="o" if series else "D",
               markersize=6 if series else 9, linewidth=2 if series else 0,
               label="Revenue")
    money.set_ylabel("Revenue (USD)")
    money.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v:,.0f}"))
    money.set_ylim(min(0.0, *data.revenue) * 1.3 if data.revenue else 0,
                   _headroom(data.revenue, 10))
    top.set_title("Sends and revenue")
    handles = [bars, *money.get_lines()]
    top.legend(handles, [str(h.get_label()) for h in handles], loc="upper left")

    if series:
        bottom.plot(x, data.click_rate, color=CLICKS, marker="o", linewidth=2,
                    label="Click rate")
        bottom.plot(x, data.conversion_rate, color=CONVERSIONS, marker="s", linewidth=2,
                    label="Conversion rate")
    else:
        width = 0.38
        bottom.bar([i - width / 2 for i in x], data.click_rate, width, color=CLICKS,
                   label="Click rate")
        bottom.bar([i + width / 2 for i in x], data.conversion_rate, width,
                   color=CONVERSIONS, label="Conversion rate")
    bottom.set_ylabel("Rate (%)")
    bottom.set_xlabel(data.dimension)
    bottom.yaxis.set_major_formatter(FuncFormatter(_percent))
    bottom.set_ylim(0, _headroom(data.click_rate + data.conversion_rate, 5))
    bottom.set_title("Click rate (of delivered) and conversion rate (of clicks)")
    bottom.legend(loc="upper left")
    for axes in (top, bottom):
        axes.set_xticks(x, data.labels, rotation=rotate, ha="right" if rotate else "center")
        axes.grid(axis="y", alpha=0.3)
    if not x:
        top.text(0.5, 0.5, "No messages in this period", transform=top.transAxes,
                 ha="center", va="center", fontsize=12)
    out = io.BytesIO()
    with warnings.catch_warnings():  # one thread draws: the filter change is its own
        # A name in a script the font lacks draws as boxes; that is no reason to fail.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        fig.savefig(out, format="png")
    return out.getvalue()


def _percent(value: float, _pos: object) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") + "%"


def _headroom(values: list[int] | list[float], least: float) -> float:
    """The axis top: room above the highest value for its label and the legend."""
    return max([least, *values]) * 1.35
