"""Support hours: weekdays 09:00-21:00 and Saturday 10:00-18:00 in New York; Sunday closed.

Pure functions of an aware datetime; daylight saving time is the zone's business."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SUPPORT_TZ = ZoneInfo("America/New_York")
TZ_LABEL = "ET"

# weekday (Monday = 0) -> (opens, closes), local time
WEEKLY_HOURS: dict[int, tuple[dt.time, dt.time]] = {
    **{day: (dt.time(9), dt.time(21)) for day in range(5)},
    5: (dt.time(10), dt.time(18)),
}


def _local(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None:
        raise ValueError("support hours need an aware datetime")
    return at.astimezone(SUPPORT_TZ)


def is_open(at: dt.datetime) -> bool:
    local = _local(at)
    hours = WEEKLY_HOURS.get(local.weekday())
    return hours is not None and hours[0] <= local.time() < hours[1]


def next_opening(at: dt.datetime) -> dt.datetime:
    """When support is next open: ``at`` itself if open now, else the next opening (UTC)."""
    if is_open(at):
        return at.astimezone(dt.UTC)
    local = _local(at)
    for days_ahead in range(8):
        day = local.date() + dt.timedelta(days=days_ahead)
        hours = WEEKLY_HOURS.get(day.weekday())
        if hours is None:
            continue
        opens = dt.datetime.combine(day, hours[0], tzinfo=SUPPORT_TZ)
        if opens > local:
            return opens.astimezone(dt.UTC)
    raise AssertionError("support opens at least once a week")  # pragma: no cover


def describe(at: dt.datetime, *, now: dt.datetime) -> str:
    """``today 09:00 ET``, ``tomorrow 09:00 ET`` or ``Monday 09:00 ET``."""
    local, today = _local(at), _local(now).date()
    if local.date() == today:
        day = "today"
    elif local.date() == today + dt.timedelta(days=1):
        day = "tomorrow"
    else:
        day = local.strftime("%A")
    return f"{day} {local:%H:%M} {TZ_LABEL}"
