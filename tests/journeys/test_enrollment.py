"""Must-show 2: enrolling twice does nothing, pausing stops new enrollments only, a
restart in the middle of a wait neither skips nor repeats a step; triggers filter on
custom fields and signup method."""

from __future__ import annotations

import datetime as dt

import pytest

from core.clock import FakeClock
from core.errors import Conflict, ValidationError
from core.journeys.models import (
    EnrollmentStatus,
    JourneyEnrollment,
    JourneyStatus,
    JourneyStepRun,
)
from core.messaging.models import MessageSent
from core.providers.base import InboundSms
from core.services import Services
from core.settings import Settings
from tests.conftest import TEST_SECRET
from tests.contacts.helpers import LIST_NUMBER, subscribe
from tests.journeys.helpers import make_journey, setup
from trackly.bootstrap import build_services


def three_sends(creatives: dict[str, int]) -> list[dict]:
    return [
        {"position": 0, "type": "send", "config": {"creative_id": creatives["welcome"]}},
        {"position": 1, "type": "wait", "config": {"hours": 4}},
        {"position": 2, "type": "send", "config": {"creative_id": creatives["b"]}},
        {"position": 3, "type": "wait", "config": {"hours": 4}},
        {"position": 4, "type": "send", "config": {"body": "Last one, {{first_name}}!"}},
    ]


async def test_enrolling_twice_does_nothing(services: Services) -> None:
    tenant, creatives = await setup(services)
    journey_id = await make_journey(services, tenant, three_sends(creatives))
    sub = await subscribe(services, tenant, "+14155550123")  # joining the list enrolls
    assert sub.journeys_enrolled == (journey_id,)
    assert await services.journeys.enroll(tenant.account.id, [sub.list_contact.id]) == 0
    again = await subscribe(services, tenant, "+14155550123", first_name="Ann")
    assert again.journeys_enrolled == ()
    assert not await services.journeys.enroll_contact(tenant.owner, journey_id,
                                                      sub.list_contact.id)
    assert await JourneyEnrollment.filter(journey_id=journey_id).count() == 1
    await services.journeys.run_due()
    assert await MessageSent.filter(journey_id=journey_id).count() == 1


async def test_pausing_stops_new_enrollments_only(services: Services,
                                                  clock: FakeClock) -> None:
    tenant, creatives = await setup(services)
    journey_id = await make_journey(services, tenant, three_sends(creatives))
    first = await subscribe(services, tenant, "+14155550123")
    assert first.journeys_enrolled == (journey_id,)
    await services.journeys.run_due()
    await services.journeys.set_status(tenant.owner, journey_id, JourneyStatus.PAUSED)
    second = await subscribe(services, tenant, "+14155550124")
    assert second.journeys_enrolled == ()
    assert await services.journeys.enroll(tenant.account.id, [second.list_contact.id]) == 0
    with pytest.raises(Conflict):
        await services.journeys.enroll_contact(tenant.owner, journey_id,
                                               second.list_contact.id)
    clock.advance(hours=4)
    await services.journeys.run_due()
    clock.advance(hours=4)
    await services.journeys.run_due()
    # the one already on its way finished the journey
    assert await MessageSent.filter(journey_id=journey_id).count() == 3
    e = await JourneyEnrollment.get(journey_id=journey_id)
    assert e.status == EnrollmentStatus.COMPLETED
    await services.journeys.set_status(tenant.owner, journey_id, JourneyStatus.ACTIVE)
    assert await services.journeys.enroll(tenant.account.id, [second.list_contact.id]) == 1


async def test_a_restart_mid_wait_neither_skips_nor_repeats(
        services: Services, clock: FakeClock, settings: Settings) -> None:
    tenant, creatives = await setup(services)
    await make_journey(services, tenant, three_sends(creatives))
    subs = [await subscribe(services, tenant, f"+1415555{i:04d}") for i in range(20)]
    await services.journeys.enroll(tenant.account.id, [s.list_contact.id for s in subs])
    start = clock.now()
    await services.journeys.run_due()
    clock.advance(hours=2)  # half way through the first wait: nothing is due
    assert await services.journeys.run_due() == 0
    # The process goes away; a new one (new services, same database) takes over.
    restarted = build_services(settings, clock=clock, secret_key=TEST_SECRET)
    assert await restarted.journeys.run_due() == 0
    clock.advance(hours=2)
    assert await restarted.journeys.run_due() == 20
    assert await restarted.journeys.run_due() == 0  # again at the same instant: nothing
    clock.advance(hours=4)
    assert await restarted.journeys.run_due() == 20
    for s in subs:
        e = await JourneyEnrollment.get(list_contact_id=s.list_contact.id)
        runs = await JourneyStepRun.filter(enrollment_id=e.id).order_by("seq")
        assert [(r.seq, r.position, r.ran_at - start) for r in runs] == [
            (0, 0, dt.timedelta(0)), (1, 1, dt.timedelta(0)),
            (2, 2, dt.timedelta(hours=4)), (3, 3, dt.timedelta(hours=4)),
            (4, 4, dt.timedelta(hours=8))]
        assert e.status == EnrollmentStatus.COMPLETED
        got = await MessageSent.filter(enrollment_id=e.id).order_by("id")
        assert [m.creative_id for m in got] == [creatives["welcome"], creatives["b"], None]
        assert "Last one" in got[2].body


async def test_a_tick_that_fails_leaves_the_batch_as_it_was(
        services: Services, clock: FakeClock) -> None:
    """A crash mid-batch (here: a step run number already taken, as if another process
    had run it) rolls the whole batch back: no message, no move."""
    tenant, creatives = await setup(services)
    journey_id = await make_journey(services, tenant, three_sends(creatives))
    sub = await subscribe(services, tenant, "+14155550123")
    await services.journeys.enroll(tenant.account.id, [sub.list_contact.id])
    e = await JourneyEnrollment.get(journey_id=journey_id)
    await JourneyStepRun.create(account_id=tenant.account.id, journey_id=journey_id,
                                enrollment_id=e.id, seq=0, position=0, step_type="send",
                                outcome="sent", ran_at=clock.now())
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await services.journeys.run_due()
    assert await MessageSent.filter(journey_id=journey_id).count() == 0
    again = await JourneyEnrollment.get(id=e.id)
    assert (again.current_position, again.steps_run) == (0, 0)


async def test_triggers_match_custom_fields_and_signup_method(services: Services) -> None:
    tenant, creatives = await setup(services)
    trigger = {"operator": "and", "conditions": [
        {"field": "signup_method", "operator": "in", "value": ["api", "form"]}],
        "groups": [{"operator": "or", "conditions": [
            {"field": "custom.source", "operator": "eq", "value": "tiktok"},
            {"field": "custom.vip", "operator": "exists"}]}]}
    journey_id = await make_journey(services, tenant, three_sends(creatives),
                                    trigger=trigger)
    yes = await subscribe(services, tenant, "+14155550001", custom_fields={"source": "TikTok"})
    vip = await subscribe(services, tenant, "+14155550002", custom_fields={"vip": "1"})
    no = await subscribe(services, tenant, "+14155550003", custom_fields={"source": "fb"})
    assert [s.journeys_enrolled for s in (yes, vip, no)] == [(journey_id,), (journey_id,), ()]
    assert await services.journeys.enroll(
        tenant.account.id, [s.list_contact.id for s in (yes, vip, no)]) == 0
    enrolled = set(await JourneyEnrollment.filter(journey_id=journey_id).values_list(
        "list_contact_id", flat=True))
    assert enrolled == {yes.list_contact.id, vip.list_contact.id}


async def test_bad_graphs_are_refused(services: Services) -> None:
    tenant, creatives = await setup(services)
    send = {"position": 0, "type": "send", "config": {"creative_id": creatives["b"]}}
    bad = {
        "dangling_branch": [send, {"position": 1, "type": "condition",
                                   "config": {"test": "clicked"}, "yes": 9, "no": 0}],
        "loop_without_wait": [send, {"position": 1, "type": "condition",
                                     "config": {"test": "clicked"}, "yes": 0, "no": 2},
                              {"position": 2, "type": "exit"}],
        "endless_path": [send, {"position": 1, "type": "wait", "config": {"hours": 1},
                                "next": 0}],
        "invalid_step_type": [{"position": 0, "type": "teleport"}],
        "creative_not_found": [{"position": 0, "type": "send",
                                "config": {"creative_id": 999}}],
    }
    for code, steps in bad.items():
        with pytest.raises(ValidationError) as caught:
            await make_journey(services, tenant, steps)
        assert caught.value.code == code, (code, caught.value.code)
    # A loop that waits is fine: a reminder every day until they click, then exit.
    ok = [send, {"position": 1, "type": "wait", "config": {"days": 1}},
          {"position": 2, "type": "condition", "config": {"test": "clicked"}, "yes": 3,
           "no": 0},
          {"position": 3, "type": "exit"}]
    assert await make_journey(services, tenant, ok)


async def test_imports_and_keyword_opt_ins_enroll(services: Services, tmp_path) -> None:
    tenant, creatives = await setup(services)
    journey_id = await make_journey(services, tenant, three_sends(creatives))
    csv = tmp_path / "contacts.csv"
    csv.write_text("phone_number,first_name\n+14155550201,Ann\n+14155550202,Bo\n")
    job = await services.imports.create_job(tenant.owner, list_number=LIST_NUMBER, path=csv,
                                            dry_run=False)
    job = await services.imports.run(job.id)
    assert job.created_count == 2
    outcome = await services.inbound.receive(InboundSms(
        provider="simulator", provider_message_id="kw-1", from_number="+14155550203",
        to_number=LIST_NUMBER, body="START"))
    assert outcome.action == "subscribed"
    phones = set(await JourneyEnrollment.filter(journey_id=journey_id).values_list(
        "list_contact__contact__phone_number", flat=True))
    assert phones == {"+14155550201", "+14155550202", "+14155550203"}
