"""Turning core results into what Discord users see. No core calls here."""

from __future__ import annotations

import datetime as dt
import math

import discord

COLOUR = discord.Colour(0x2F80ED)
WARNING = discord.Colour(0xE67E22)
DANGER = discord.Colour(0xE74C3C)


def when(at: dt.datetime, style: str = "f") -> str:
    """A Discord timestamp: every reader sees it in their own timezone and language."""
    return discord.utils.format_dt(at, style)  # type: ignore[arg-type]


def duration(delta: dt.timedelta | None) -> str:
    if delta is None:
        return "-"
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{seconds}s"


def milliseconds(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds) or math.isinf(seconds):
        return "not measured yet"
    return f"{seconds * 1000:.0f} ms"
