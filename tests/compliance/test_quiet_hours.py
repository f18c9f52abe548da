"""Quiet hours: 08:00-21:00 local, stricter states, across DST and in zones without it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.compliance.quiet_hours import (
    STATE_WINDOWS,
    is_allowed,
    next_allowed,
    resolve_zone,
    window_for,
)

UTC = dt.UTC
NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")


def local(zone: str, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def test_inside_the_window_is_now():
    now = local("America/New_York", 2026, 3, 3, 10, 0)
    assert next_allowed(now, "America/New_York") == now
    assert is_allowed(now, "America/New_York")


def test_window_edges():
    at_eight = local("America/Chicago", 2026, 3, 3, 8, 0)
    assert next_allowed(at_eight, "America/Chicago") == at_eight
    before = at_eight - dt.timedelta(seconds=1)
    assert next_allowed(before, "America/Chicago") == at_eight
    at_nine_pm = local("America/Chicago", 2026, 3, 3, 21, 0)
    assert next_allowed(at_nine_pm, "America/Chicago") == local("America/Chicago",
                                                                2026, 3, 4, 8, 0)
    last_second = at_nine_pm - dt.timedelta(seconds=1)
    assert is_allowed(last_second, "America/Chicago")


def test_new_york_spring_forward():
    # Saturday 2026-03-07 21:30 EST; the clocks jump at 02:00 on Sunday the 8th.
    late = local("America/New_York", 2026, 3, 7, 21, 30)
    assert late == dt.datetime(2026, 3, 8, 2, 30, tzinfo=UTC)
    expected = dt.datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT (UTC-4)
    assert next_allowed(late, "America/New_York") == expected
    assert expected.astimezone(NY).hour == 8
    # At 03:30 EDT (just after the jump) the answer is the same.
    assert next_allowed(dt.datetime(2026, 3, 8, 7, 30, tzinfo=UTC), NY) == expected


def test_new_york_fall_back():
    # Saturday 2026-10-31 22:00 EDT; at 02:00 on Sunday the clocks go back to 01:00.
    late = local("America/New_York", 2026, 10, 31, 22, 0)
    expected = dt.datetime(2026, 11, 1, 13, 0, tzinfo=UTC)  # 08:00 EST (UTC-5)
    assert next_allowed(late, NY) == expected
    # During the repeated hour (01:30 EST, second time round) it is still night.
    repeated = dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert repeated.astimezone(NY).hour == 1
    assert next_allowed(repeated, NY) == expected


def test_los_angeles_dst_boundaries():
    spring = local("America/Los_Angeles", 2026, 3, 7, 23, 0)
    assert next_allowed(spring, LA) == dt.datetime(2026, 3, 8, 15, 0, tzinfo=UTC)  # 08 PDT
    fall = local("America/Los_Angeles", 2026, 10, 31, 21, 15)
    assert next_allowed(fall, LA) == dt.datetime(2026, 11, 1, 16, 0, tzinfo=UTC)  # 08 PST
    # 20:59 PDT on the Saturday is still allowed; 21:00 is not.
    assert is_allowed(local("America/Los_Angeles", 2026, 10, 31, 20, 59), LA)
    assert not is_allowed(local("America/Los_Angeles", 2026, 10, 31, 21, 0), LA)


def test_phoenix_has_no_dst():
    # Phoenix is UTC-7 all year: 08:00 is 15:00 UTC in January and in July.
    for month in (1, 7):
        night = dt.datetime(2026, month, 15, 5, 0, tzinfo=UTC)  # 22:00 the day before
        assert next_allowed(night, "America/Phoenix") == dt.datetime(2026, month, 15, 15, 0,
                                                                     tzinfo=UTC)
    # On the US spring-forward night Phoenix does not move.
    assert next_allowed(dt.datetime(2026, 3, 8, 9, 0, tzinfo=UTC), "America/Phoenix") == \
        dt.datetime(2026, 3, 8, 15, 0, tzinfo=UTC)


def test_honolulu():
    # UTC-10 all year. 07:00 HST = 17:00 UTC -> 08:00 HST = 18:00 UTC.
    assert next_allowed(dt.datetime(2026, 6, 1, 17, 0, tzinfo=UTC), "Pacific/Honolulu") == \
        dt.datetime(2026, 6, 1, 18, 0, tzinfo=UTC)
    # 21:00 New York (allowed there until now) is only 16:00 in Honolulu: allowed.
    assert is_allowed(dt.datetime(2026, 6, 2, 2, 0, tzinfo=UTC) - dt.timedelta(hours=1),
                      "Pacific/Honolulu")


def test_alaska():
    # Anchorage is UTC-9 in winter: 21:30 AKST -> 08:00 AKST = 17:00 UTC next day.
    late = local("America/Anchorage", 2026, 1, 10, 21, 30)
    assert next_allowed(late, "America/Anchorage") == dt.datetime(2026, 1, 11, 17, 0,
                                                                  tzinfo=UTC)
    # An area code spanning Adak and Anchorage must wait for 08:00 in both.
    both = next_allowed(local("America/Anchorage", 2026, 1, 11, 7, 0),
                        ["America/Anchorage", "America/Adak"])
    assert both.astimezone(ZoneInfo("America/Adak")).hour == 8
    assert both.astimezone(ZoneInfo("America/Anchorage")).hour == 9


def test_florida_number_at_half_past_eight_in_the_evening():
    evening = local("America/New_York", 2026, 3, 3, 20, 30)
    assert is_allowed(evening, NY)  # the federal window would allow it...
    expected = local("America/New_York", 2026, 3, 4, 8, 0)
    assert next_allowed(evening, NY, "FL") == expected  # ...Florida stops at 20:00
    assert is_allowed(local("America/New_York", 2026, 3, 3, 19, 59), NY, "FL")
    # The panhandle is Central time: 20:30 there too.
    assert next_allowed(local("America/Chicago", 2026, 3, 3, 20, 30), "America/Chicago",
                        "fl") == local("America/Chicago", 2026, 3, 4, 8, 0)


def test_states_with_day_rules():
    # Alabama: no Sundays. Saturday 2026-03-07 20:30 -> Monday 08:00.
    assert next_allowed(local("America/Chicago", 2026, 3, 7, 20, 30), "America/Chicago",
                        "AL") == local("America/Chicago", 2026, 3, 9, 8, 0)
    # Texas: Sunday from noon.
    assert next_allowed(local("America/Chicago", 2026, 3, 8, 10, 0), "America/Chicago",
                        "TX") == local("America/Chicago", 2026, 3, 8, 12, 0)
    # Connecticut starts at 09:00.
    assert next_allowed(local("America/New_York", 2026, 3, 3, 8, 30), NY, "CT") == \
        local("America/New_York", 2026, 3, 3, 9, 0)
    # Rhode Island: Saturday 10:00-17:00.
    assert next_allowed(local("America/New_York", 2026, 3, 7, 17, 30), NY, "RI") == \
        local("America/New_York", 2026, 3, 9, 9, 0)


def test_state_windows_never_exceed_federal():
    for state in STATE_WINDOWS:
        for day in range(7):
            window = window_for(state, day)
            if window is not None:
                assert window.start >= dt.time(8) and window.end <= dt.time(21)
    assert window_for("ZZ", 0).start == dt.time(8)
    assert window_for(None, 6).end == dt.time(21)


def test_zone_fallback():
    assert resolve_zone(None, None).key == "America/New_York"
    assert resolve_zone("Not/AZone", "America/Denver").key == "America/Denver"
    assert resolve_zone("", "bad", None).key == "America/New_York"
    assert resolve_zone("Pacific/Honolulu", "America/Denver").key == "Pacific/Honolulu"


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        next_allowed(dt.datetime(2026, 3, 3, 12, 0), NY)


_ZONES = st.sampled_from(["America/New_York", "America/Los_Angeles", "America/Phoenix",
                          "Pacific/Honolulu", "America/Anchorage", "Europe/London",
                          "Australia/Lord_Howe", "Asia/Kathmandu"])


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1),
                    timezones=st.just(UTC)), _ZONES,
       st.sampled_from([None, "FL", "TX", "AL", "RI", "CT", "KY"]))
def test_answer_is_allowed_soon_and_stable(now, zone, state):
    when = next_allowed(now, zone, state)
    assert when >= now
    assert when - now <= dt.timedelta(days=3)
    assert next_allowed(when, zone, state) == when  # the answer is itself allowed
    local_time = when.astimezone(ZoneInfo(zone)).time()
    assert dt.time(8) <= local_time < dt.time(21)
