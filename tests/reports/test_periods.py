"""Named report periods in the account's timezone (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from core.errors import ValidationError
from core.reports.periods import period

NY = "America/New_York"
NOW = dt.datetime(2026, 3, 9, 3, 30, tzinfo=dt.UTC)  # 23:30 on Sunday 8 March in New York


def test_today_and_yesterday_are_local_days():
    today = period("today", NOW, NY)
    assert (today.since, today.until) == (dt.datetime(2026, 3, 8, 5, tzinfo=dt.UTC), NOW)
    yesterday = period("yesterday", NOW, NY)
    assert (yesterday.since, yesterday.until) == (
        dt.datetime(2026, 3, 7, 5, tzinfo=dt.UTC), dt.datetime(2026, 3, 8, 5, tzinfo=dt.UTC))


def test_seven_days_across_the_clock_change_start_at_local_midnight():
    week = period("7d", NOW, NY)  # 8 March 2026: New York moves from EST to EDT
    assert week.since == dt.datetime(2026, 3, 2, 5, tzinfo=dt.UTC)
    assert (week.first_day, week.last_day) == (dt.date(2026, 3, 2), dt.date(2026, 3, 8))
    assert week.label == "7d: 2026-03-02 to 2026-03-08 (America/New_York)"


def test_custom_includes_its_last_day_and_an_unknown_zone_is_utc():
    custom = period("custom", NOW, "Not/AZone", since="2026-03-01", until="2026-03-02")
    assert (custom.since, custom.until) == (dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                                            dt.datetime(2026, 3, 3, tzinfo=dt.UTC))


@pytest.mark.parametrize(("name", "since", "until", "code"), [
    ("week", None, None, "invalid_period"),
    ("custom", None, "2026-03-01", "invalid_since"),
    ("custom", "2026-03-01", None, "invalid_until"),
    ("custom", "yesterday", "2026-03-01", "invalid_since"),
    ("custom", "1999-12-31", "2026-03-01", "invalid_since"),
    ("custom", "2026-03-02", "2026-03-01", "invalid_since"),
])
def test_bad_periods_are_refused_with_a_code(name, since, until, code):
    with pytest.raises(ValidationError) as err:
        period(name, NOW, NY, since=since, until=until)
    assert err.value.code == code
