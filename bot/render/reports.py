"""What /report and the daily summary show: the key numbers, and the chart attached."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import discord

from bot.render import COLOUR
from bot.render.charts import ChartData, chart_data
from core.reports.periods import Period
from core.reports.service import Performance

CHART = "report.png"


def _pct(rate: str) -> str:
    return f"{float(rate) * 100:.1f}%"


def _usd(amount: str) -> str:
    value = float(amount)
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def report_embed(period: Period, report: Performance, grouping: str, *,
                 title: str = "Report") -> discord.Embed:
    t = report.totals
    embed = discord.Embed(title=f"{title} · {period.label}", colour=COLOUR,
                          description=f"By {grouping}; {len(report.rows)} group(s).")
    numbers: list[tuple[str, str]] = [
        ("Sends", f"{t['sends']:,}"),
        ("Delivered", f"{t['delivered']:,} ({_pct(t['delivery_rate'])})"),
        ("Failed", f"{t['failed']:,} ({_pct(t['failure_rate'])})"),
        ("Clicks", f"{t['unique_clicks']:,} unique ({_pct(t['click_rate'])}); "
                   f"{t['bot_clicks']:,} bots"),
        ("Conversions", f"{t['conversions']:,} ({_pct(t['conversion_rate'])})"),
        ("Revenue", _usd(t["revenue"])),
        ("Cost", _usd(t["cost"])),
        ("Profit", _usd(t["profit"])),
        ("EPC", _usd(t["epc"])),
        ("Opt-outs", f"{t['opt_outs']:,} ({_pct(t['opt_out_rate'])})"),
    ]
    for name, value in numbers:
        embed.add_field(name=name, value=value)
    top = _top(report.rows, grouping)
    if top:
        embed.add_field(name=f"Top by revenue ({grouping})", value=top, inline=False)
    embed.set_image(url=f"attachment://{CHART}")
    return embed


def _top(rows: list[dict[str, Any]], grouping: str) -> str:
    if grouping == "day":
        return ""
    best = sorted(rows, key=lambda r: float(r["revenue"]), reverse=True)[:5]
    return "\n".join(f"{i}. {_name(r)} · {_usd(r['revenue'])} · {r['sends']:,} sends"
                     for i, r in enumerate(best, 1))


def _name(row: dict[str, Any]) -> str:
    """A group's name for a field (at most 1,024 characters for all five lines)."""
    text = str(row["name"] or row["key"] or "(none)")
    text = text if len(text) <= 60 else text[:59] + "…"
    return discord.utils.escape_markdown(text)


def chart_of(period: Period, report: Performance, grouping: str) -> ChartData:
    return chart_data(f"Trackly · {period.label}", grouping, report.rows,
                      days=_days(period) if grouping == "day" else None)


def _days(period: Period) -> list[str]:
    """The period's days, so a day without messages shows as zero."""
    first, last = period.first_day, period.last_day
    return [(first + dt.timedelta(days=i)).isoformat()
            for i in range((last - first).days + 1)]


def chart_file(png: bytes) -> discord.File:
    return discord.File(io.BytesIO(png), filename=CHART)
