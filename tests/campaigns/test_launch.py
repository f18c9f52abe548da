"""Launching a blast (must-show 2): exact variant splits, audiences unioned with each
contact once, skips counted by reason; lifecycle permissions and who did it. On SQLite
and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from core.campaigns.models import ScheduleBlast, ScheduleEvent, ScheduleRun, ScheduleStatus
from core.contacts.models import Block
from core.errors import Conflict, PermissionDenied, ValidationError
from core.permissions import Actor, ActorKind, Role
from core.sql import Params, execute, fetch
from tests.campaigns.helpers import audience, owner, per_blast, queued, schedule, world


async def test_a_50_30_20_blast_to_10000_contacts_splits_within_one_contact(services,
                                                                          clock):
    lists = await world(10_000, clock.now())
    aud = await audience(services, lists, ["A"])
    sid = await schedule(services, lists, [aud], blasts=[
        {"message": "A {{first_name|friend}}", "percent_audience": 50},
        {"message": "B {{first_name|friend}}", "percent_audience": 30},
        {"message": "C {{first_name|friend}}", "percent_audience": 20}])

    dry = await services.schedules.launch(owner(lists), sid, dry_run=True, now=True)
    assert (dry.recipients, dry.status) == (10_000, "draft")
    assert await queued(sid) == []  # a dry run changes nothing

    result = await services.schedules.launch(owner(lists), sid, now=True)
    assert result.recipients == 10_000
    assert result.skipped == {"unsubscribed": 0, "blocked": 0, "in_journey": 0,
                              "frequency_cap": 0, "invalid": 0}
    assert result.segments == dry.segments == 10_000
    assert result.estimated_cost == dry.estimated_cost > 0

    rows = await queued(sid)
    assert len(rows) == 10_000
    assert len({r["contact_id"] for r in rows}) == 10_000  # each contact once
    blasts = await ScheduleBlast.filter(schedule_id=sid).order_by("position")
    split = per_blast(rows)
    for blast, share in zip(blasts, (50, 30, 20), strict=True):
        assert abs(split[blast.id] - 10_000 * share / 100) <= 1
        body_letter = blast.body[0]  # type: ignore[index]
        assert all(r["body"].split(": ", 1)[-1].startswith(body_letter)
                   for r in rows if r["blast_id"] == blast.id)
    run = await ScheduleRun.get(schedule_id=sid)
    assert (run.status, run.queued_count, run.launched_by) == ("completed", 10_000, "user:7")
    assert (await services.schedules.get(owner(lists), sid)).schedule.status == \
        ScheduleStatus.COMPLETED


@pytest.mark.parametrize("n", [7, 11, 101])
async def test_small_odd_audiences_split_within_one_contact(services, clock, n):
    lists = await world(n, clock.now())
    aud = await audience(services, lists, ["A"])
    sid = await schedule(services, lists, [aud], blasts=[
        {"message": "A", "percent_audience": 50}, {"message": "B", "percent_audience": 30},
        {"message": "C", "percent_audience": 20}])
    await services.schedules.launch(owner(lists), sid, now=True)
    rows = await queued(sid)
    assert len(rows) == n
    blasts = await ScheduleBlast.filter(schedule_id=sid).order_by("position")
    for blast, share in zip(blasts, (50, 30, 20), strict=True):
        assert abs(per_blast(rows)[blast.id] - n * share / 100) < 1


async def test_two_overlapping_audiences_count_each_contact_once(services, clock):
    lists = await world(300, clock.now())
    # Contacts 1..300 on A; 201..400 on B too (201..300 on both lists).
    p = Params()
    await execute(
        "INSERT INTO list_contact (id, account_id, sending_list_id, contact_id, status, "
        "signup_date, signup_method, first_name, last_name, email, ad_network_source, "
        "ad_network_id, custom_fields, in_workflow, send_count, click_count, revenue_total, "
        "conversion_count, created_at, updated_at, state, area_code) SELECT "
        f"contact_id + 100000, account_id, {p(lists.ids['B'])}, contact_id, status, "
        "signup_date, signup_method, '', '', '', '', '', custom_fields, in_workflow, 0, 0, "
        "revenue_total, 0, created_at, updated_at, state, area_code "
        "FROM list_contact WHERE contact_id > 200", p)
    first = await audience(services, lists, ["A"], {
        "operator": "and", "conditions": [{"field": "send_count", "operator": "lte",
                                           "value": 0}], "groups": []})
    second = await audience(services, lists, ["A", "B"])
    assert (await services.audiences.size(owner(lists), first)).size == 300
    assert (await services.audiences.size(owner(lists), second)).size == 300
    sid = await schedule(services, lists, [first, second])
    result = await services.schedules.launch(owner(lists), sid, now=True)
    assert result.recipients == 300
    rows = await queued(sid)
    assert sorted(r["contact_id"] for r in rows) == list(range(1, 301))


async def test_capped_in_journey_blocked_and_unsubscribed_are_skipped_by_reason(services,
                                                                                 clock):
    now = clock.now()
    recent, old = now - dt.timedelta(hours=3), now - dt.timedelta(hours=30)
    extra = {}
    for i in range(1, 11):
        extra[i] = {"last_sent_at": recent}  # 10 capped (within 24 h)
    for i in range(11, 16):
        extra[i] = {"last_sent_at": old}  # sent long ago: not capped
    for i in range(16, 23):
        extra[i] = {"in_workflow": True}  # 7 in a journey
    for i in range(23, 27):
        extra[i] = {"status": "unsubscribed"}  # 4 unsubscribed
    lists = await world(100, now, extra=extra)
    # 3 blocked: two on the sending list, one account-wide; one on another list does
    # not count.
    for i, list_key in ((27, "A"), (28, "A"), (29, None), (30, "B")):
        phone = (await queued_phone(i))
        await Block.create(account_id=lists.account_id, phone_number=phone,
                           sending_list_id=lists.ids[list_key] if list_key else None)
    p = Params()
    await execute(f"UPDATE contact SET is_valid = {p(False)} WHERE id IN (31, 32)", p)
    aud = await audience(services, lists, ["A"])
    sid = await schedule(services, lists, [aud], skip_within_hours=24)

    dry = await services.schedules.launch(owner(lists), sid, dry_run=True, now=True)
    expected = {"unsubscribed": 4, "blocked": 3, "in_journey": 7, "frequency_cap": 10,
                "invalid": 2}
    assert dry.skipped == expected
    assert dry.recipients == 100 - sum(expected.values())
    result = await services.schedules.launch(owner(lists), sid, now=True)
    assert (result.recipients, result.skipped) == (dry.recipients, expected)
    sent_to = {r["contact_id"] for r in await queued(sid)}
    skipped = set(range(1, 11)) | set(range(16, 30)) | {31, 32}
    assert sent_to == set(range(1, 101)) - skipped
    run = await ScheduleRun.get(schedule_id=sid)
    assert run.skipped == expected and run.skipped_count == 26


async def queued_phone(contact_id: int) -> str:
    from core.contacts.models import Contact
    return (await Contact.get(id=contact_id)).phone_number


async def test_lifecycle_is_permission_checked_and_recorded(services, clock):
    lists = await world(20, clock.now())
    aud = await audience(services, lists, ["A"])
    sid = await schedule(services, lists, [aud], send_date="2026-03-10")
    viewer = Actor(account_id=lists.account_id, role=Role.VIEWER, kind=ActorKind.API_KEY,
                   api_key_id=3)
    with pytest.raises(PermissionDenied):
        await services.schedules.launch(viewer, sid)
    stranger = Actor(account_id=lists.other_account_id, role=Role.OWNER,
                     kind=ActorKind.USER, user_id=9)
    with pytest.raises(Exception) as missing:
        await services.schedules.launch(stranger, sid)
    assert getattr(missing.value, "code", "") == "schedule_not_found"

    later = await services.schedules.launch(owner(lists), sid)  # a week ahead
    assert later.status == "scheduled" and later.recipients == 20
    assert later.next_run_at == dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC)
    member = Actor(account_id=lists.account_id, role=Role.MEMBER, kind=ActorKind.DISCORD,
                   discord_user_id=55)
    await services.schedules.pause(member, sid)
    with pytest.raises(Conflict):
        await services.schedules.pause(member, sid)
    await services.schedules.resume(owner(lists), sid)
    await services.schedules.cancel(member, sid)
    with pytest.raises(Conflict) as done:
        await services.schedules.update(owner(lists), sid, {"name": "Again"})
    assert done.value.code == "schedule_complete"
    events = await ScheduleEvent.filter(schedule_id=sid).order_by("id")
    assert [(e.action, e.from_status, e.to_status, e.actor) for e in events] == [
        ("create", "", "draft", "user:7"),
        ("launch", "draft", "scheduled", "user:7"),
        ("pause", "scheduled", "paused", "discord:55"),
        ("resume", "paused", "scheduled", "user:7"),
        ("cancel", "scheduled", "cancelled", "discord:55")]


@pytest.mark.parametrize(("change", "code"), [
    ({"name": ""}, "missing_name"),
    ({"send_type": "spam"}, "invalid_send_type"),
    ({"audience_ids": []}, "missing_audiences"),
    ({"send_time": None}, "missing_send_time"),
    ({"send_date": None}, "missing_send_date"),
    ({"recurrence": "recurring", "days_of_week": []}, "no_days_selected"),
    ({"blasts": []}, "missing_blasts"),
    ({"blasts": [{"percent_audience": 100}]}, "missing_blast_message"),
    ({"blasts": [{"message": "a", "percent_audience": 60},
                 {"message": "b", "percent_audience": 30}]}, "invalid_blast_percent"),
    ({"audience_ids": [999]}, "audience_not_found"),
    ({"list_id": 999}, "source_list_not_found"),
])
async def test_schedule_validation_codes(services, clock, change, code):
    lists = await world(1, clock.now())
    aud = await audience(services, lists, ["A"])
    audiences = change.pop("audience_ids", [aud])
    with pytest.raises(ValidationError) as refused:
        await schedule(services, lists, audiences, **change)
    assert refused.value.code == code


async def test_pausing_mid_launch_stops_queueing_and_resuming_finishes_once(services,
                                                                            clock,
                                                                            monkeypatch):
    """Six batches, paused after the first is written. Batches of 500 (the launcher's
    are 5,000) take the same path through the launcher as 30,000 contacts did, for a
    tenth of the rows."""
    import asyncio

    from core.campaigns import launch

    monkeypatch.setattr(launch, "BATCH", 500)
    lists = await world(3_000, clock.now())
    aud = await audience(services, lists, ["A"])
    sid = await schedule(services, lists, [aud])
    pausing: list[asyncio.Task] = []

    def progress(done: int, total: int) -> None:
        if not pausing:  # someone presses pause while the first batches go out
            pausing.append(asyncio.ensure_future(services.schedules.pause(owner(lists), sid)))

    await services.schedules.launch(owner(lists), sid, now=True, progress=progress)
    await pausing[0]
    partial = len(await queued(sid))
    assert 0 < partial < 3_000
    view = await services.schedules.get(owner(lists), sid)
    assert view.schedule.status == "paused" and view.runs[0].status == "paused"

    await services.schedules.resume(owner(lists), sid)
    rows = await queued(sid)
    assert len(rows) == len({r["contact_id"] for r in rows}) == 3_000
    view = await services.schedules.get(owner(lists), sid)
    assert view.schedule.status == "completed" and view.runs[0].status == "completed"


async def test_each_message_is_measured_on_its_own_text(services, clock):
    """A launch measures a text once per distinct set of placeholder values: a value
    that needs UCS-2, one with GSM-7 extension characters and one long enough for a
    second segment are each priced as sent, beside the plain ones."""
    from core.messaging.segments import count

    values = {1: "", 2: "Ann", 3: "Zoë", 4: "a{b}c€", 5: "x" * 150, 6: "Ann", 7: 3.0,
              8: True, 9: "  ", 10: "Zoë"}
    lists = await world(10, clock.now(), extra={i: {"custom": {"nick": v}}
                                                for i, v in values.items()})
    aud = await audience(services, lists, ["A"])
    deal = await services.offers.create(owner(lists), name="Deal",
                                        tracking_url="https://offers.example/?c={click_id}")
    sid = await schedule(services, lists, [aud], blasts=[
        {"message": "Hi {{custom.nick|friend}}, deal: {{link1}}",
         "link_bindings": {"link1": {"offer_id": deal.id}},
         "percent_audience": 100}])
    result = await services.schedules.launch(owner(lists), sid, now=True)
    p = Params()
    rows = await fetch("SELECT contact_id, body, segments, encoding FROM message_sent "
                       f"WHERE schedule_id = {p(sid)} ORDER BY contact_id", p)
    assert [r["contact_id"] for r in rows] == list(range(1, 11))
    for row in rows:
        info = count(row["body"])
        assert (row["segments"], row["encoding"]) == (info.segments, info.encoding), row
    names = [r["body"].split(",")[0].split(": ", 1)[-1] for r in rows]  # after "Acme: "
    assert names == ["Hi friend", "Hi Ann", "Hi Zoë", "Hi a{b}c€", "Hi " + "x" * 150,
                     "Hi Ann", "Hi 3", "Hi yes", "Hi friend", "Hi Zoë"]
    assert {r["encoding"] for r in rows} == {"GSM-7", "UCS-2"}
    assert {r["segments"] for r in rows} == {1, 2}
    assert result.recipients == 10
