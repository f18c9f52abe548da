"""Named report periods (today, yesterday, 7d, 30d, custom) in the account's timezone:
a day starts at local midnight, so "yesterday" is the day the operator lived through."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import ValidationError

PERIODS = ("today", "yesterday", "7d", "30d", "custom")
# Discord's groupings as operators name them -> the report's dimension.
GROUPINGS = {"day": "day", "list": "list", "campaign": "schedule", "creative": "creative",
             "offer": "offer", "journey": "journey", "carrier": "carrier"}


@dataclass(frozen=True)
class Period:
    name: str
    since: dt.datetime  # UTC, inclusive
    until: dt.datetime  # UTC, exclusive
    label: str  # "7d: 2026-02-25 to 2026-03-03 (America/New_York)"
    first_day: dt.date  # local
    last_day: dt.date  # local, included


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _midnight(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)


def parse_day(text: str | None, field: str) -> dt.date:
    if not text:
        raise ValidationError(f"A custom period needs {field} (YYYY-MM-DD).",
                              code=f"invalid_{field}", field=field)
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"{field} must be a date like 2026-03-01.",
                              code=f"invalid_{field}", field=field) from None
    if not 2000 <= day.year < 2200:
        raise ValidationError(f"{field} must be between 2000 and 2200.",
                              code=f"invalid_{field}", field=field)
    return day


def period(name: str, now: dt.datetime, tz_name: str, *, since: str | None = None,
           until: str | None = None) -> Period:
    """The UTC bounds of a named period; ``custom`` takes local dates, ``until``
    included."""
    if name not in PERIODS:
        raise ValidationError(f"period must be one of {', '.join(PERIODS)}.",
                              code="invalid_period", field="period")
    tz = zone(tz_name)
    today = now.astimezone(tz).date()
    if name == "today":
        first, last = today, today
    elif name == "yesterday":
        first = last = today - dt.timedelta(days=1)
    elif name in ("7d", "30d"):
        first, last = today - dt.timedelta(days=int(name[:-1]) - 1), today
    else:
        first, last = parse_day(since, "since"), parse_day(until, "until")
        if last < first:
            raise ValidationError("since must be on or before until.", code="invalid_since",
                                  field="since")
    start = _midnight(first, tz)
    end = min(_midnight(last + dt.timedelta(days=1), tz), max(now, start +
                                                               dt.timedelta(seconds=1)))
    span = first.isoformat() if first == last else f"{first} to {last}"
    return Period(name, start, end, f"{name}: {span} ({tz.key})", first, last)
