"""Next occurrences of schedules across DST changes, and local-time waves.

Expected instants are written out from the US rules (2026: summer time from 8 March,
02:00, to 1 November, 02:00), not computed with zoneinfo, so the test does not share the
code's reading of the tz database."""

from __future__ import annotations

import datetime as dt

import pytest

from core.campaigns.recurrence import (
    OneTime,
    Rule,
    Weekly,
    local_instant,
    next_occurrence,
    occurrences,
    wave_instant,
    waves,
)
from core.clock import FakeClock

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
SPRING_FORWARD = dt.date(2026, 3, 8)
FALL_BACK = dt.date(2026, 11, 1)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def tick(rule: Rule, clock: FakeClock, until: dt.datetime) -> list[dt.datetime]:
    """What a scheduler ticking every minute on ``clock`` would fire: each due occurrence
    once, then the next one after it."""
    fired: list[dt.datetime] = []
    due = next_occurrence(rule, clock.now())
    while clock.now() < until:
        clock.advance(minutes=1)
        while due is not None and due.at <= clock.now():
            fired.append(due.at)
            due = next_occurrence(rule, due.at)
    return fired


def summer_time(day: dt.date) -> bool:
    return SPRING_FORWARD <= day < FALL_BACK


@pytest.mark.parametrize("first_monday", [dt.date(2026, 2, 16), dt.date(2026, 10, 5)],
                         ids=["spring-forward", "fall-back"])
def test_mon_wed_fri_in_chicago_fires_at_10_local_for_eight_weeks(first_monday):
    rule = Weekly(send_time=dt.time(10, 0), days_of_week=frozenset({MON, WED, FRI}),
                  timezone="America/Chicago")
    start = dt.datetime.combine(first_monday, dt.time(0, 0), tzinfo=dt.UTC)
    clock = FakeClock(start)

    fired = tick(rule, clock, until=start + dt.timedelta(weeks=8))

    days = [first_monday + dt.timedelta(days=n) for n in range(56)]
    # Chicago is UTC-5 on summer time, UTC-6 otherwise.
    expected = [utc(d.year, d.month, d.day, 15 if summer_time(d) else 16)
                for d in days if d.weekday() in (MON, WED, FRI)]
    assert len(expected) == 24
    assert fired == expected
    hours = {f.hour for f in fired}
    assert hours == {15, 16}  # both sides of the change were crossed


def test_weekdays_at_midnight_asked_on_friday_answers_monday():
    # APScheduler issue 529: mon-fri 00:00 in New York, asked on Friday 6 March 2026,
    # answered Tuesday. Monday 9 March 00:00 is already summer time (UTC-4).
    rule = Weekly(send_time=dt.time(0, 0), days_of_week=frozenset(range(5)),
                  timezone="America/New_York")
    asked = utc(2026, 3, 6, 17, 0)  # Friday noon in New York
    found = next_occurrence(rule, asked)
    assert found is not None
    assert found.day == dt.date(2026, 3, 9)
    assert found.at == utc(2026, 3, 9, 4, 0)


def test_0230_on_spring_forward_day_runs_once_when_the_gap_ends():
    # 02:30 does not exist in New York on 8 March 2026: clocks go from 02:00 to 03:00.
    rule = OneTime(send_date=SPRING_FORWARD, send_time=dt.time(2, 30),
                   timezone="America/New_York")
    clock = FakeClock(utc(2026, 3, 7, 12, 0))
    fired = tick(rule, clock, until=utc(2026, 3, 9, 12, 0))
    assert fired == [utc(2026, 3, 8, 7, 0)]  # 03:00 EDT, the first instant after the gap


def test_daily_0230_runs_once_a_day_across_spring_forward():
    rule = Weekly(send_time=dt.time(2, 30), days_of_week=frozenset(range(7)),
                  timezone="America/New_York")
    clock = FakeClock(utc(2026, 3, 6, 12, 0))
    fired = tick(rule, clock, until=utc(2026, 3, 10, 12, 0))
    assert fired == [utc(2026, 3, 7, 7, 30),  # 02:30 EST
                     utc(2026, 3, 8, 7, 0),  # no 02:30 that day: 03:00 EDT
                     utc(2026, 3, 9, 6, 30),  # 02:30 EDT
                     utc(2026, 3, 10, 6, 30)]


def test_0130_on_fall_back_day_runs_once_at_its_first_occurrence():
    # 01:30 happens twice in New York on 1 November 2026: at 05:30 UTC (EDT) and again
    # at 06:30 UTC (EST).
    rule = OneTime(send_date=FALL_BACK, send_time=dt.time(1, 30),
                   timezone="America/New_York")
    clock = FakeClock(utc(2026, 10, 31, 12, 0))
    assert tick(rule, clock, until=utc(2026, 11, 2, 12, 0)) == [utc(2026, 11, 1, 5, 30)]


def test_daily_0130_runs_once_a_day_across_fall_back():
    rule = Weekly(send_time=dt.time(1, 30), days_of_week=frozenset(range(7)),
                  timezone="America/New_York")
    clock = FakeClock(utc(2026, 10, 30, 12, 0))
    fired = tick(rule, clock, until=utc(2026, 11, 3, 12, 0))
    assert fired == [utc(2026, 10, 31, 5, 30),
                     utc(2026, 11, 1, 5, 30),  # once, not again at 06:30
                     utc(2026, 11, 2, 6, 30),
                     utc(2026, 11, 3, 6, 30)]


@pytest.mark.parametrize(("day", "offsets"), [
    # zone: hours behind UTC on that day (Phoenix keeps standard time all year)
    (dt.date(2026, 7, 15), {"America/New_York": 4, "America/Chicago": 5,
                            "America/Denver": 6, "America/Phoenix": 7,
                            "America/Los_Angeles": 7}),
    (dt.date(2026, 1, 14), {"America/New_York": 5, "America/Chicago": 6,
                            "America/Denver": 7, "America/Phoenix": 7,
                            "America/Los_Angeles": 8}),
], ids=["summer", "winter"])
def test_use_local_time_reaches_each_zone_at_10_its_time(day, offsets):
    for zone, behind in offsets.items():
        at = wave_instant(day, dt.time(10, 0), zone, fallback_zone="America/Chicago")
        assert at == utc(day.year, day.month, day.day, 10 + behind), zone

    rolled = waves(day, dt.time(10, 0), list(offsets), fallback_zone="America/Chicago")
    assert [zone for _, zone in rolled][:3] == ["America/New_York", "America/Chicago",
                                                "America/Denver"]
    assert rolled[0][0] == utc(day.year, day.month, day.day, 10 + offsets["America/New_York"])
    assert rolled[-1][1] in ("America/Los_Angeles", "America/Phoenix")


def test_a_contact_without_a_known_zone_gets_the_schedules_zone():
    day = dt.date(2026, 7, 15)
    for unknown in (None, "", "Mars/Olympus_Mons"):
        assert wave_instant(day, dt.time(10, 0), unknown, "America/Denver") == \
            utc(2026, 7, 15, 16, 0)


def test_start_and_end_dates_bound_a_weekly_schedule():
    rule = Weekly(send_time=dt.time(9, 0), days_of_week=frozenset({TUE}),
                  timezone="America/New_York", start_date=dt.date(2026, 5, 5),
                  end_date=dt.date(2026, 5, 19))
    found = list(occurrences(rule, utc(2026, 1, 1), utc(2027, 1, 1)))
    assert [o.day for o in found] == [dt.date(2026, 5, 5), dt.date(2026, 5, 12),
                                      dt.date(2026, 5, 19)]
    assert next_occurrence(rule, utc(2026, 5, 19, 13, 0)) is None  # its last run is due


def test_a_past_one_time_schedule_has_no_next_occurrence():
    rule = OneTime(send_date=dt.date(2026, 12, 5), send_time=dt.time(10, 0),
                   timezone="America/Chicago")
    assert next_occurrence(rule, utc(2026, 12, 5, 15, 59)).at == utc(2026, 12, 5, 16, 0)
    assert next_occurrence(rule, utc(2026, 12, 5, 16, 0)) is None


def test_no_day_selected_never_runs():
    rule = Weekly(send_time=dt.time(9, 0), days_of_week=frozenset(),
                  timezone="America/New_York")
    assert next_occurrence(rule, utc(2026, 1, 1)) is None


def test_a_30_minute_dst_gap_ends_on_the_half_hour():
    # Lord Howe Island moves its clocks by 30 minutes (02:00 -> 02:30 on 4 October 2026).
    from zoneinfo import ZoneInfo

    at = local_instant(dt.date(2026, 10, 4), dt.time(2, 15), ZoneInfo("Australia/Lord_Howe"))
    assert at.astimezone(ZoneInfo("Australia/Lord_Howe")).time() == dt.time(2, 30)


def test_naive_times_are_refused():
    rule = OneTime(send_date=dt.date(2026, 12, 5), send_time=dt.time(10, 0),
                   timezone="America/Chicago")
    with pytest.raises(ValueError):
        next_occurrence(rule, dt.datetime(2026, 12, 5))
