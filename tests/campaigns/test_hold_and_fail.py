"""What a pause holds and what a failed launch leaves, through the real executor: a
paused run's queued messages do not leave until resumed (cancel drops them with a
reason), and a launch that stops on an error after its run started sending is marked
failed with the reason, its schedule paused, and resumes from its cursor exactly once."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from core.billing.gate import AccountBillingGate
from core.campaigns.models import ScheduleBlast, ScheduleEvent, ScheduleRun
from core.errors import ValidationError
from core.messaging import queries as messaging
from core.messaging.executor import Executor, ExecutorConfig
from core.offers.models import Offer
from core.sql import Params, fetch
from tests.campaigns.helpers import audience, owner, schedule, world
from tests.messaging.scripted import ScriptedProvider


def executor(services, clock, provider: ScriptedProvider, batch_size: int = 10) -> Executor:
    return Executor(clock=clock, providers=provider, policy=services.compliance,
                    billing=AccountBillingGate(clock=clock),
                    callback_url=lambda lst, mid: f"http://cb.test/{mid}",
                    config=ExecutorConfig(batch_size=batch_size))


async def statuses(schedule_id: int) -> Counter[str]:
    p = Params()
    rows = await fetch("SELECT status, status_detail FROM message_sent WHERE "
                       f"schedule_id = {p(schedule_id)}", p)
    return Counter(f"{r['status']}/{r['status_detail'] or ''}" for r in rows)


def sent_to(provider: ScriptedProvider) -> Counter[str]:
    return Counter(sms.to for sms in provider.requests)


async def test_a_paused_runs_queued_messages_wait_until_it_resumes(services, clock):
    lists = await world(40, clock.now())
    sid = await schedule(services, lists, [await audience(services, lists, ["A"])])
    await services.schedules.launch(owner(lists), sid, now=True)
    provider = ScriptedProvider()
    sender = executor(services, clock, provider)
    assert (await sender.drain_once()).sent == 10  # some left before the pause

    # An executor claimed the next ten a moment before the pause: they must not leave.
    token = "racing-executor"
    claimed = await messaging.claim_queued(token=token, now=clock.now(),
                                           lease_until=clock.now() + dt.timedelta(minutes=5),
                                           limit=10)
    assert len(claimed) == 10
    await services.schedules.pause(owner(lists), sid)
    assert await messaging.mark_sending([m.id for m in claimed], token=token,
                                        lease_until=clock.now()) == set()
    assert await statuses(sid) == {"sent/": 10, "held/campaign_paused": 30}
    clock.advance(hours=1)  # every lease has run out
    assert (await sender.drain()).claimed == 0
    assert len(provider.requests) == 10

    await services.schedules.resume(owner(lists), sid)
    await sender.drain()
    assert await statuses(sid) == {"sent/": 40}
    assert len(sent_to(provider)) == 40 and set(sent_to(provider).values()) == {1}
    view = await services.schedules.get(owner(lists), sid)
    assert view.schedule.status == "completed" and view.runs[0].status == "completed"


async def test_cancelling_a_paused_run_drops_what_it_held(services, clock):
    lists = await world(25, clock.now())
    sid = await schedule(services, lists, [await audience(services, lists, ["A"])])
    await services.schedules.launch(owner(lists), sid, now=True)
    provider = ScriptedProvider()
    sender = executor(services, clock, provider)
    await sender.drain_once()
    await services.schedules.pause(owner(lists), sid)
    await services.schedules.cancel(owner(lists), sid)
    assert await statuses(sid) == {"sent/": 10, "dropped/campaign_cancelled": 15}
    assert (await sender.drain()).claimed == 0 and len(provider.requests) == 10


async def test_a_launch_failing_after_it_started_sending_is_failed_then_resumes_once(
        services, clock):
    lists = await world(12_000, clock.now())
    offer = await services.offers.create(owner(lists), name="Deal",
                                         tracking_url="https://offers.example/?c={click_id}")
    sid = await schedule(services, lists, [await audience(services, lists, ["A"])], blasts=[
        {"message": "Deal: {{link1}}", "link_bindings": {"link1": {"offer_id": offer.id}},
         "percent_audience": 100}])
    # The request answers once recipients are fixed; the tick queues them.
    launched = await services.schedules.launch(owner(lists), sid, now=True, wait=False)
    assert launched.recipients == 12_000
    # The offer disappears between the launch and its queueing: the run cannot go on.
    await Offer.filter(id=offer.id).delete()
    assert await services.schedules.resume_runs() == 1

    run = await ScheduleRun.get(id=launched.run_id)
    assert run.status == "failed" and run.skip_reason.startswith("offer_not_found")
    view = await services.schedules.get(owner(lists), sid)
    assert view.schedule.status == "paused"
    failed = await ScheduleEvent.filter(schedule_id=sid, action="run_failed").first()
    assert failed is not None and failed.detail == run.skip_reason
    # The tick leaves a failed run alone: nothing more is queued behind the operator.
    clock.advance(hours=1)
    assert await services.schedules.resume_runs() == 0

    # Fixed (the variant points at a new offer), resumed: everyone queued exactly once.
    again = await services.offers.create(owner(lists), name="Deal 2",
                                         tracking_url="https://offers.example/?c={click_id}")
    await ScheduleBlast.filter(schedule_id=sid).update(
        link_bindings={"link1": {"offer_id": again.id}})
    await services.schedules.resume(owner(lists), sid)
    p = Params()
    rows = await fetch("SELECT contact_id, status FROM message_sent WHERE "
                       f"schedule_id = {p(sid)}", p)
    assert len(rows) == len({r["contact_id"] for r in rows}) == 12_000
    assert {r["status"] for r in rows} == {"queued"}
    run = await ScheduleRun.get(id=launched.run_id)
    assert run.status == "completed" and run.skip_reason is None
    assert run.queued_count == 12_000


async def test_a_launch_that_cannot_start_answers_and_changes_nothing(services, clock):
    lists = await world(20, clock.now())
    offer = await services.offers.create(owner(lists), name="Deal",
                                         tracking_url="https://offers.example/?c={click_id}")
    sid = await schedule(services, lists, [await audience(services, lists, ["A"])], blasts=[
        {"message": "Deal: {{link1}}", "link_bindings": {"link1": {"offer_id": offer.id}},
         "percent_audience": 100}])
    await Offer.filter(id=offer.id).delete()
    with pytest.raises(ValidationError) as refused:
        await services.schedules.launch(owner(lists), sid, now=True)
    assert refused.value.code == "offer_not_found"
    view = await services.schedules.get(owner(lists), sid)
    assert view.schedule.status == "draft" and view.runs == []
