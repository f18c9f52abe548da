"""Must-show 1: a welcome journey over 1,000 contacts in six timezones, run with the
FakeClock jumping from one due instant to the next, the real executor sending through
the simulator after every tick. Every contact goes down the right branch at the right
instant, nothing goes out in quiet hours, and a STOP mid-journey ends it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from core.clock import FakeClock
from core.compliance.quiet_hours import is_allowed
from core.compliance.suppression import contact_zones
from core.contacts.models import Contact, ListContact
from core.journeys.models import EnrollmentStatus, JourneyEnrollment, JourneyStepRun
from core.messaging.models import MessageSent, MessageShortLink
from core.providers.base import InboundSms
from core.services import Services
from tests.contacts.helpers import LIST_NUMBER, subscribe
from tests.journeys.helpers import make_journey, next_due, setup, welcome_steps
from tests.tracking.helpers import redirect_clicks
from trackly.bootstrap import build_executor

AREA_CODES = ("212", "312", "303", "602", "415", "808")  # NY, CHI, DEN, PHX, LA, HNL
N = 1000
DAY = dt.timedelta(days=1)


def phone(i: int) -> str:
    return f"+1{AREA_CODES[i % len(AREA_CODES)]}{2000000 + i:07d}"


async def test_welcome_journey_over_a_thousand_contacts(services: Services,
                                                        clock: FakeClock) -> None:
    tenant, creatives = await setup(services)
    journey_id = await make_journey(services, tenant, welcome_steps(creatives))
    start = clock.now()  # Tuesday 15:00 UTC: 10:00 in New York, 05:00 in Honolulu
    subs = [await subscribe(services, tenant, phone(i)) for i in range(N)]
    lc_ids = [s.list_contact.id for s in subs]
    assert all(s.journeys_enrolled == (journey_id,) for s in subs)  # joining enrolls
    executor = build_executor(services)

    clickers = {s.contact.id for i, s in enumerate(subs) if i % 3 == 0}
    stoppers = {s.contact.id for i, s in enumerate(subs) if i % 50 == 7}
    click_at, stop_at = start + dt.timedelta(hours=6), start + dt.timedelta(hours=20)
    clicked = stopped = False
    while True:
        # The clock jumps to the next thing that happens: an enrollment due, a message
        # quiet hours held back, a click, a STOP.
        instants = [t for t in (await next_due(journey_id), await _next_held(),
                                None if clicked else click_at, None if stopped else stop_at)
                    if t is not None]
        if not instants:
            break
        clock.set(max(min(instants), clock.now()))
        if not clicked and clock.now() >= click_at:
            await _click_welcomes(services, clickers)
            clicked = True
        if not stopped and clock.now() >= stop_at:
            for s in subs:
                if s.contact.id in stoppers:
                    outcome = await services.inbound.receive(InboundSms(
                        provider="simulator", provider_message_id=f"in-{s.contact.id}",
                        from_number=s.contact.phone_number, to_number=LIST_NUMBER,
                        body="STOP"))
                    assert outcome.action == "unsubscribed"
            stopped = True
        await services.journeys.run_due()
        await executor.drain()
        if clock.now() == start:  # while enrolled, contacts are in a workflow
            assert await ListContact.filter(id__in=lc_ids, in_workflow=True).count() == N

    contacts = {c.id: c for c in await Contact.filter(id__in=[s.contact.id for s in subs])}
    sent = await MessageSent.filter(journey_id=journey_id).order_by("id")
    by_contact: dict[int, dict[int | None, MessageSent]] = {}
    for m in sent:
        by_contact.setdefault(m.contact_id, {})[m.creative_id] = m
    runs = {(r.enrollment_id, r.position): r
            for r in await JourneyStepRun.filter(journey_id=journey_id)}
    enrollments = {e.list_contact_id: e
                   for e in await JourneyEnrollment.filter(journey_id=journey_id)}

    for s in subs:
        cid = s.contact.id
        contact = contacts[cid]
        got = by_contact[cid]
        e = enrollments[s.list_contact.id]
        assert got[creatives["welcome"]].queued_at == start
        assert runs[(e.id, 0)].ran_at == start
        if cid in stoppers:
            assert set(got) == {creatives["welcome"]}
            assert (e.status, e.exit_reason) == (EnrollmentStatus.EXITED, "opted_out")
            assert e.finished_at == start + DAY  # at its next step, sending nothing
            assert (e.id, 2) not in runs
            continue
        assert runs[(e.id, 2)].ran_at == start + DAY  # the condition, a day later
        assert e.status == EnrollmentStatus.COMPLETED
        if cid in clickers:
            assert set(got) == {creatives["welcome"], creatives["b"]}
            assert got[creatives["b"]].queued_at == start + DAY
            assert runs[(e.id, 2)].outcome == "yes"
        else:
            assert set(got) == {creatives["welcome"], creatives["c"]}
            assert runs[(e.id, 2)].outcome == "no"
            zone = ZoneInfo(contact.timezone or "UTC")
            at = got[creatives["c"]].queued_at
            local = at.astimezone(zone)
            assert (local.hour, local.minute) == (10, 0)
            # the first 10:00 local at or after the condition ran
            assert start + DAY <= at < start + DAY + DAY
    # Nothing went out in quiet hours, in the contact's own zone(s).
    sent = await MessageSent.filter(journey_id=journey_id)
    assert sent and all(m.sent_at is not None for m in sent)
    for m in sent:
        contact = contacts[m.contact_id]
        assert is_allowed(m.sent_at, contact_zones(contact, "America/New_York"),
                          contact.state), (contact.timezone, m.sent_at)
    # Honolulu's welcome waited for 08:00 there; New York's went at once.
    hnl = next(m for m in sent if contacts[m.contact_id].timezone == "Pacific/Honolulu"
               and m.creative_id == creatives["welcome"])
    assert hnl.sent_at == dt.datetime(2026, 3, 3, 18, 0, tzinfo=dt.UTC)
    # Out of the workflow once done; per-step statistics from runs and clicks.
    assert await ListContact.filter(id__in=lc_ids, in_workflow=True).count() == 0
    stats = await services.journeys.stats(tenant.owner, journey_id)
    steps = {s["position"]: s for s in stats["steps"]}
    assert steps[0]["entered"] == N and steps[0]["sent"] == N
    assert steps[0]["clicked"] == len(clickers)
    assert steps[2]["entered"] == N - len(stoppers)
    assert steps[3]["sent"] == len(clickers - stoppers)
    assert steps[5]["sent"] == N - len(stoppers) - len(clickers - stoppers)
    assert steps[6]["exited"] == N - len(stoppers)
    assert stats["enrollments"] == {"active": 0, "completed": N - len(stoppers),
                                    "exited": len(stoppers)}


async def _click_welcomes(services: Services, contact_ids: set[int]) -> None:
    """Each taps the welcome's link now: a real request to the redirect."""
    links = await MessageShortLink.filter(contact_id__in=list(contact_ids))
    assert len(links) == len(contact_ids)
    async with redirect_clicks(services) as click:
        for link in links:
            assert await click(link) is not None


async def _next_held() -> dt.datetime | None:
    held = await MessageSent.filter(status="queued", not_before__isnull=False).order_by(
        "not_before").first()
    return held.not_before if held else None
