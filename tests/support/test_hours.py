"""Support hours as a customer in New York (or anywhere else) experiences them."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from core.support import hours

ET = hours.SUPPORT_TZ


def et(year, month, day, hour, minute=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=ET)


def test_weekday_and_saturday_hours():
    # 2026-03-03 is a Tuesday.
    assert not hours.is_open(et(2026, 3, 3, 8, 59))
    assert hours.is_open(et(2026, 3, 3, 9, 0))
    assert hours.is_open(et(2026, 3, 3, 20, 59))
    assert not hours.is_open(et(2026, 3, 3, 21, 0))
    assert not hours.is_open(et(2026, 3, 7, 9, 30))  # Saturday opens at 10
    assert hours.is_open(et(2026, 3, 7, 10, 0))
    assert not hours.is_open(et(2026, 3, 7, 18, 0))
    assert not hours.is_open(et(2026, 3, 8, 12, 0))  # Sunday closed


def test_next_opening_after_a_tuesday_evening_is_wednesday_morning():
    at = et(2026, 3, 3, 22, 0)
    opens = hours.next_opening(at)
    assert opens == et(2026, 3, 4, 9, 0)
    assert opens.tzinfo == dt.UTC
    assert hours.describe(opens, now=at) == "tomorrow 09:00 ET"


def test_saturday_evening_waits_for_monday():
    at = et(2026, 3, 7, 19, 0)
    assert hours.next_opening(at) == et(2026, 3, 9, 9, 0)
    assert hours.describe(hours.next_opening(at), now=at) == "Monday 09:00 ET"


def test_early_morning_opens_today_and_open_means_now():
    at = et(2026, 3, 3, 3, 0)
    assert hours.describe(hours.next_opening(at), now=at) == "today 09:00 ET"
    noon = et(2026, 3, 3, 12, 0)
    assert hours.next_opening(noon) == noon


def test_daylight_saving_change_keeps_local_opening_time():
    # DST starts 2026-03-08 (Sunday) at 02:00 local: Monday still opens at 09:00 local.
    opens = hours.next_opening(et(2026, 3, 7, 20, 0))
    assert opens.astimezone(ET).hour == 9
    assert opens == dt.datetime(2026, 3, 9, 13, 0, tzinfo=dt.UTC)  # EDT is UTC-4


@given(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1),
                    timezones=st.just(dt.UTC)))
def test_next_opening_is_the_first_open_moment(at):
    opens = hours.next_opening(at)
    assert opens >= at
    assert hours.is_open(opens)
    assert opens - at < dt.timedelta(days=3)
    if opens > at:
        local = opens.astimezone(ET)
        assert local.time() == hours.WEEKLY_HOURS[local.weekday()][0]
        assert not hours.is_open(opens - dt.timedelta(minutes=1))
