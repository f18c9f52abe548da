"""Quiet hours: when a marketing SMS may reach a contact, in the contact's local time.

Pure. The federal window (TCPA, 47 CFR 64.1200(c)(1)) is 08:00-21:00 local; several
states are stricter on the hour, the day of the week, or both, and the stricter rule
always wins. Days are walked in the local calendar, so DST changes (a 23- or 25-hour
day) and zones without DST (Phoenix, Honolulu) need no special case.

State holidays (Alabama, Louisiana, Rhode Island...) are not modelled: each state's list
moves every year. The table is a summary for engineering, not legal advice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FALLBACK_ZONE = "America/New_York"


@dataclass(frozen=True, slots=True)
class Window:
    start: dt.time
    end: dt.time  # exclusive


def _w(start: int, end: int) -> Window:
    return Window(dt.time(start), dt.time(end))


FEDERAL = _w(8, 21)
MON_SAT = tuple(range(6))  # Monday=0 ... Saturday=5
SUNDAY = 6

# state -> one window per weekday (Monday first); None means no marketing that day.
# Sources (checked 2025-11): the statutes named beside each row, cross-read with the
# state tables of dropcowboy.com/state-compliance (updated 2025-11-01) and
# blog.clickpointsoftware.com/telemarketing-calling-hours-by-state (reviewed 2025-07).
STATE_WINDOWS: dict[str, tuple[Window | None, ...]] = {
    "AL": (_w(8, 20),) * 6 + (None,),  # Ala. Code 8-19C: no Sundays
    "CT": (_w(9, 20),) * 7,  # Conn. Gen. Stat. 42-288a (PA 23-98, 2023)
    "FL": (_w(8, 20),) * 7,  # Fla. Stat. 501.616(6)(a) (FTSA, 2021)
    "KY": (_w(10, 21),) * 7,  # KRS 367.46955(15)
    "LA": (_w(8, 20),) * 6 + (None,),  # La. R.S. 45:844.14: no Sundays
    "MA": (_w(8, 20),) * 7,  # 201 CMR 12.02
    "MD": (_w(8, 20),) * 7,  # Md. Com. Law 14-4503 (Stop the Spam Calls Act, 2023)
    "MI": (_w(9, 21),) * 7,  # MCL 445.111b
    "MN": (_w(9, 21),) * 7,  # Minn. Stat. 325E.27
    "MS": (_w(8, 20),) * 6 + (None,),  # Miss. Code 77-3-725: no Sundays
    "NJ": (_w(8, 20),) * 7,  # N.J.S.A. 56:8-128 (2024 amendment)
    "NM": (_w(9, 21),) * 7,  # N.M. Stat. 57-12-22
    "NV": (_w(9, 20),) * 7,  # NRS 228.590
    "OK": (_w(8, 20),) * 7,  # Okla. Stat. tit. 15, 775C.4 (OTSA, 2022)
    "RI": (_w(9, 18),) * 5 + (_w(10, 17), None),  # R.I. Gen. Laws 5-61-3.4
    "TX": (_w(9, 21),) * 6 + (_w(12, 21),),  # Tex. Bus. & Com. Code 301.051
    "UT": (_w(8, 21),) * 6 + (None,),  # Utah Code 13-25a-103: no Sundays
    "WA": (_w(8, 20),) * 7,  # RCW 80.36.390
}


def window_for(state: str | None, weekday: int) -> Window | None:
    """The allowed window on ``weekday`` (Monday=0) for a contact in ``state``."""
    rule = STATE_WINDOWS.get((state or "").upper())
    if rule is None:
        return FEDERAL
    day = rule[weekday]
    if day is None:
        return None
    return Window(max(day.start, FEDERAL.start), min(day.end, FEDERAL.end))


@lru_cache(maxsize=512)
def zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def resolve_zone(*candidates: str | None) -> ZoneInfo:
    """The first usable zone name (contact, then account default), else New York."""
    for name in candidates:
        found = zone(name)
        if found is not None:
            return found
    return ZoneInfo(FALLBACK_ZONE)


def _as_zone(tz: ZoneInfo | str | None) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    return resolve_zone(tz)


def _next_in_zone(now: dt.datetime, tz: ZoneInfo, state: str | None) -> dt.datetime:
    local = now.astimezone(tz)
    for offset in range(8):
        day = local.date() + dt.timedelta(days=offset)
        window = window_for(state, day.weekday())
        if window is None:
            continue
        start = dt.datetime.combine(day, window.start, tzinfo=tz)
        end = dt.datetime.combine(day, window.end, tzinfo=tz)
        if offset == 0 and start <= local < end:
            return now
        if local < start:
            return start.astimezone(dt.UTC)
    raise AssertionError("every state allows some day of the week")  # pragma: no cover


def next_allowed(now: dt.datetime, tz: ZoneInfo | str | Sequence[ZoneInfo | str] | None,
                 state: str | None = None) -> dt.datetime:
    """``now`` when a marketing message may go out now, else the first instant it may
    (aware UTC). ``tz`` may list several zones (an area code that spans zones): the
    answer is then allowed in all of them."""
    if now.tzinfo is None:
        raise ValueError("next_allowed needs an aware datetime")
    zones = _zones(tz)
    when = now
    for _ in range(16):  # adjacent zones converge in two rounds; far-apart ones never do
        moved = max(_next_in_zone(when, z, state) for z in zones)
        if moved == when:
            return when
        when = moved
    return when


def is_allowed(now: dt.datetime, tz: ZoneInfo | str | Sequence[ZoneInfo | str] | None,
               state: str | None = None) -> bool:
    return next_allowed(now, tz, state) == now


def _zones(tz: ZoneInfo | str | Sequence[ZoneInfo | str] | None) -> list[ZoneInfo]:
    if tz is None or isinstance(tz, ZoneInfo | str):
        return [_as_zone(tz)]
    found = [_as_zone(t) for t in _iter(tz)]
    return found or [ZoneInfo(FALLBACK_ZONE)]


def _iter(values: Iterable[ZoneInfo | str]) -> Iterable[ZoneInfo | str]:
    return (v for v in values if v)
