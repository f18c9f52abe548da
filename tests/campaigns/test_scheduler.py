"""The scheduler's tick (must-show 3): a recurring schedule fires at the right instants
through DST changes, local-time waves reach each zone at its own send time, times that
do not exist or happen twice run once, and runs missed while down respect the grace
window. Time is a FakeClock moved by the test; each tick asks the database."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from core.campaigns.models import ScheduleRun
from core.sql import read_ts
from tests.campaigns.helpers import ZONES, audience, owner, queued, schedule, world

CHICAGO = ZoneInfo("America/Chicago")
UTC = dt.UTC


async def tick_until(services, clock, until: dt.datetime, step: dt.timedelta) -> None:
    while clock.now() < until:
        clock.set(min(clock.now() + step, until))
        await services.schedules.dispatch_due()


def local(run: ScheduleRun, zone: ZoneInfo = CHICAGO) -> dt.datetime:
    assert run.scheduled_for is not None
    return run.scheduled_for.astimezone(zone)


async def test_mon_wed_fri_at_ten_in_chicago_for_eight_weeks_across_each_dst_change(
        services, clock):
    lists = await world(3, clock.now())
    aud = await audience(services, lists, ["A"])
    for start in (dt.datetime(2026, 2, 16, 6, 0, tzinfo=UTC),  # spring forward: Mar 8
                  dt.datetime(2026, 10, 5, 5, 0, tzinfo=UTC)):  # fall back: Nov 1
        clock.set(start)
        sid = await schedule(services, lists, [aud], recurrence="recurring",
                             send_date=None, days_of_week=["mon", "wed", "fri"],
                             timezone="America/Chicago")
        await services.schedules.launch(owner(lists), sid)
        await tick_until(services, clock, start + dt.timedelta(weeks=8),
                         dt.timedelta(minutes=30))
        runs = await ScheduleRun.filter(schedule_id=sid).order_by("id")
        assert len(runs) == 24
        assert all(r.status == "completed" for r in runs)
        assert [local(r).strftime("%a %H:%M") for r in runs] == \
            ["Mon 10:00", "Wed 10:00", "Fri 10:00"] * 8
        days = [local(r).date() for r in runs]
        assert len(set(days)) == 24
        # Each run started at the first tick after its instant (ticks every 30 minutes).
        assert all(dt.timedelta(0) <= r.started_at - r.scheduled_for  # type: ignore[operator]
                   < dt.timedelta(minutes=30) for r in runs)
        offsets = {local(r).utcoffset() for r in runs}
        assert offsets == {dt.timedelta(hours=-6), dt.timedelta(hours=-5)}  # both sides
        assert len(await queued(sid)) == 24 * 3


async def test_local_time_waves_reach_each_zone_at_ten_its_own_time(services, clock):
    clock.set(dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    zones = list(ZONES)
    lists = await world(10, clock.now(), zones=zones)
    aud = await audience(services, lists, ["A"])
    sid = await schedule(services, lists, [aud], send_date="2026-03-04",
                         timezone="America/Chicago", use_local_time=True)
    launched = await services.schedules.launch(owner(lists), sid)
    assert launched.status == "scheduled"
    await tick_until(services, clock, dt.datetime(2026, 3, 5, 0, 0, tzinfo=UTC),
                     dt.timedelta(minutes=30))
    rows = await queued(sid)
    assert len(rows) == 10
    zone_of = {i: zones[i % len(zones)] for i in range(1, 11)}
    for row in rows:
        at = read_ts(row["not_before"])
        assert at is not None
        mine = at.astimezone(ZoneInfo(zone_of[row["contact_id"]]))
        assert (mine.date(), mine.strftime("%H:%M")) == (dt.date(2026, 3, 4), "10:00")
    # East to west: New York first, Los Angeles last; Phoenix (no DST) with Denver.
    first = {zone_of[r["contact_id"]]: read_ts(r["not_before"]) for r in rows}
    assert first["America/New_York"] < first["America/Chicago"] < first["America/Denver"] \
        == first["America/Phoenix"] < first["America/Los_Angeles"]


async def test_a_time_that_does_not_exist_and_one_that_happens_twice_each_run_once(
        services, clock):
    cases = ((dt.date(2026, 3, 8), "02:30", dt.datetime(2026, 3, 8, 8, 0, tzinfo=UTC)),
             (dt.date(2026, 11, 1), "01:30", dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC)))
    lists = await world(2, clock.now())
    aud = await audience(services, lists, ["A"])
    for day, wall, expected in cases:
        clock.set(dt.datetime.combine(day, dt.time(0), tzinfo=UTC))
        sid = await schedule(services, lists, [aud], send_date=day.isoformat(),
                             send_time=wall, timezone="America/Chicago")
        await services.schedules.launch(owner(lists), sid)
        await tick_until(services, clock, clock.now() + dt.timedelta(hours=14),
                         dt.timedelta(minutes=10))
        runs = await ScheduleRun.filter(schedule_id=sid)
        assert [r.scheduled_for for r in runs] == [expected]
        assert len(await queued(sid)) == 2
        # Recurring every day at that time: also once a day through the change.
        clock.set(dt.datetime.combine(day - dt.timedelta(days=2), dt.time(0), tzinfo=UTC))
        daily = await schedule(services, lists, [aud], recurrence="recurring",
                               send_date=None, send_time=wall, timezone="America/Chicago",
                               days_of_week=["mon", "tue", "wed", "thu", "fri", "sat",
                                             "sun"])
        await services.schedules.launch(owner(lists), daily)
        await tick_until(services, clock, clock.now() + dt.timedelta(days=5),
                         dt.timedelta(minutes=10))
        days = [local(r).date() for r in await ScheduleRun.filter(schedule_id=daily)]
        assert len(days) == len(set(days)) == 5
        assert expected in [r.scheduled_for for r in await ScheduleRun.filter(
            schedule_id=daily)]


async def test_runs_missed_while_down_run_once_within_grace_and_are_skipped_after(
        services, clock):
    clock.set(dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC))  # Monday, 07:00 in New York
    lists = await world(2, clock.now())
    aud = await audience(services, lists, ["A"])
    sid = await schedule(services, lists, [aud], recurrence="recurring", send_date=None,
                         days_of_week=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                         send_time="10:00", timezone="America/New_York")
    await services.schedules.launch(owner(lists), sid)
    # Down from Monday 07:00 until Thursday 10:40 in New York: the runs of Monday,
    # Tuesday and Wednesday are skipped, Thursday's runs once, 40 minutes late.
    clock.set(dt.datetime(2026, 3, 5, 15, 40, tzinfo=UTC))
    assert await services.schedules.dispatch_due() == 1
    assert await services.schedules.dispatch_due() == 0  # a second tick: nothing
    runs = await ScheduleRun.filter(schedule_id=sid).order_by("scheduled_for")
    assert [(local(r, ZoneInfo("America/New_York")).day, r.status) for r in runs] == [
        (2, "skipped"), (3, "skipped"), (4, "skipped"), (5, "completed")]
    assert runs[0].skip_reason == "missed while the platform was down"
    # Down again past Friday's grace window (an hour): recorded as skipped, with why.
    clock.set(dt.datetime(2026, 3, 6, 17, 30, tzinfo=UTC))
    assert await services.schedules.dispatch_due() == 0
    friday = await ScheduleRun.filter(schedule_id=sid).order_by("-scheduled_for").first()
    assert friday is not None and friday.status == "skipped"
    assert "grace window" in (friday.skip_reason or "")
    view = await services.schedules.get(owner(lists), sid)
    assert view.schedule.status == "scheduled"
    assert view.schedule.next_run_at == dt.datetime(2026, 3, 7, 15, 0, tzinfo=UTC)
    assert len(await queued(sid)) == 2  # only Thursday's run sent


async def test_the_scheduler_job_starts_due_runs_and_refreshes_audience_sizes(services,
                                                                              clock):
    from core.audiences.models import Audience
    from scheduler.jobs import CAMPAIGN_SECONDS, build_scheduler

    lists = await world(4, clock.now())
    aud = await audience(services, lists, ["A"])
    sid = await schedule(services, lists, [aud], send_date="2026-03-03", send_time="10:30")
    await services.schedules.launch(owner(lists), sid)
    scheduler = build_scheduler(services)
    job = scheduler.get_job("campaigns")
    assert job.trigger.interval.total_seconds() == CAMPAIGN_SECONDS
    await job.func()
    assert await queued(sid) == []  # 10:00 in New York: not yet
    clock.advance(minutes=31)
    await job.func()
    assert len(await queued(sid)) == 4
    assert (await services.schedules.get(owner(lists), sid)).schedule.status == "completed"
    await scheduler.get_job("audience_sizes").func()
    assert (await Audience.get(id=aud)).cached_size == 4
