"""When a schedule runs: the next occurrence of a one-time or weekly schedule in the
schedule's timezone, and the instant a local-time wave reaches a contact's zone.

Pure, on ``zoneinfo``. APScheduler only ticks: its 3.11 CronTrigger skips a day around
DST changes (apscheduler issue 529) and fires a 01:30 job twice on the night clocks fall
back. Here each occurrence is a local calendar day plus a wall time, turned into one
instant:

- a wall time that does not exist that day (02:30 when clocks spring forward from 02:00
  to 03:00) runs at the first instant after the gap (03:00 local);
- a wall time that happens twice (01:30 when clocks fall back) runs once, at its first
  occurrence (the earlier instant, still on summer time).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from core.compliance.quiet_hours import resolve_zone

DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class OneTime:
    """Once, on ``send_date`` at ``send_time`` in ``timezone``."""

    send_date: dt.date
    send_time: dt.time
    timezone: str


@dataclass(frozen=True, slots=True)
class Weekly:
    """At ``send_time`` in ``timezone`` on ``days_of_week`` (Monday is 0), from
    ``start_date`` to ``end_date`` inclusive, either of them open."""

    send_time: dt.time
    days_of_week: frozenset[int]
    timezone: str
    start_date: dt.date | None = None
    end_date: dt.date | None = None


Rule = OneTime | Weekly


@dataclass(frozen=True, slots=True)
class Occurrence:
    day: dt.date  # the local calendar day in the schedule's zone
    at: dt.datetime  # aware UTC


def local_instant(day: dt.date, wall: dt.time, tz: ZoneInfo) -> dt.datetime:
    """``wall`` on ``day`` in ``tz`` as an aware UTC instant (see the module docstring for
    times that do not exist or happen twice)."""
    if wall.tzinfo is not None:
        raise ValueError("a send time is a wall-clock time without a zone")
    naive = dt.datetime.combine(day, wall)
    first = naive.replace(tzinfo=tz, fold=0)  # fold=0: the earlier of two, if ambiguous
    utc = first.astimezone(dt.UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == naive:
        return utc
    # In a gap. fold=0 read it with the offset before the change, fold=1 with the one
    # after: the change itself lies between the two instants.
    return _transition(naive.replace(tzinfo=tz, fold=1).astimezone(dt.UTC), utc, tz)


def _transition(low: dt.datetime, high: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The first instant in (low, high] with ``high``'s UTC offset: when the clocks
    jumped. Offsets change on whole seconds."""
    target = high.astimezone(tz).utcoffset()
    low_s, high_s = int(low.timestamp()), int(high.timestamp())
    while high_s - low_s > 1:
        mid = (low_s + high_s) // 2
        if dt.datetime.fromtimestamp(mid, dt.UTC).astimezone(tz).utcoffset() == target:
            high_s = mid
        else:
            low_s = mid
    return dt.datetime.fromtimestamp(high_s, dt.UTC)


def next_occurrence(rule: Rule, after: dt.datetime) -> Occurrence | None:
    """The first occurrence strictly after ``after`` (aware), or None when there is no
    more (a one-time schedule whose time has passed, a weekly one past its end date or
    with no day selected)."""
    if after.tzinfo is None:
        raise ValueError("after must be an aware datetime")
    tz = resolve_zone(rule.timezone)
    if isinstance(rule, OneTime):
        at = local_instant(rule.send_date, rule.send_time, tz)
        return Occurrence(rule.send_date, at) if at > after else None
    if not rule.days_of_week:
        return None
    # The local day of ``after`` is at most one day either side of any occurrence that
    # can follow it, whatever the offset; start the walk a day early to be sure.
    day = after.astimezone(tz).date() - DAY
    if rule.start_date is not None and rule.start_date > day:
        day = rule.start_date
    for _ in range(9):  # every weekday is met within 7 days, plus the day of slack
        if rule.end_date is not None and day > rule.end_date:
            return None
        if day.weekday() in rule.days_of_week:
            at = local_instant(day, rule.send_time, tz)
            if at > after:
                return Occurrence(day, at)
        day += DAY
    return None


def occurrences(rule: Rule, after: dt.datetime, until: dt.datetime) -> Iterator[Occurrence]:
    """Every occurrence in (after, until], in order."""
    found = next_occurrence(rule, after)
    while found is not None and found.at <= until:
        yield found
        found = next_occurrence(rule, found.at)


def wave_instant(day: dt.date, send_time: dt.time, contact_zone: str | None,
                 fallback_zone: str | None) -> dt.datetime:
    """With ``use_local_time``: when the run of ``day`` reaches a contact, ``send_time``
    on that day in the contact's own zone (the fallback, normally the schedule's zone,
    when the contact's is unknown). A national blast rolls from east to west."""
    return local_instant(day, send_time, resolve_zone(contact_zone, fallback_zone))


def waves(day: dt.date, send_time: dt.time, zones: Iterable[str | None],
          fallback_zone: str | None) -> list[tuple[dt.datetime, str | None]]:
    """Each zone's wave instant for the run of ``day``, earliest first: the first is when
    the run must start."""
    return sorted(((wave_instant(day, send_time, z, fallback_zone), z) for z in set(zones)),
                  key=lambda pair: (pair[0], pair[1] or ""))
