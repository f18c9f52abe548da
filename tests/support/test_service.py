"""The support desk's rules, through the real service on the test database."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from core.errors import Conflict, NotFound, PermissionDenied, QuotaExceeded, ValidationError
from core.support.models import SupportTicket, SupportTicketMessage, TicketStatus
from core.support.service import (
    Participant,
    TicketRef,
    first_response_time,
    resolution_time,
)

ALICE = Participant(discord_id=1001, name="alice")
BOB = Participant(discord_id=1002, name="bob")
STAFF = Participant(discord_id=2001, name="sam", is_staff=True)
STAFF2 = Participant(discord_id=2002, name="sue", is_staff=True)


async def open_for(services, who=ALICE, **kw):
    kw.setdefault("subject", "Campaign stuck in sending")
    return (await services.support.open_ticket(who, **kw)).ticket


async def test_tickets_are_numbered_and_start_open(services, clock):
    first = await open_for(services)
    second = await open_for(services, BOB, subject="  Billing   question ", priority="HIGH",
                            category="billing")
    assert (first.number, second.number) == (1, 2)
    assert second.subject == "Billing question"
    assert (second.priority, second.category, second.status) == ("high", "billing", "open")
    assert second.opened_at == clock.now()


async def test_concurrent_openers_get_distinct_numbers(services):
    people = [Participant(discord_id=5000 + i, name=f"u{i}") for i in range(8)]
    tickets = await asyncio.gather(*(open_for(services, p) for p in people))
    assert sorted(t.number for t in tickets) == list(range(1, 9))
    assert await SupportTicket.all().count() == 8


@pytest.mark.parametrize(("field", "value", "code"), [
    ("subject", "   ", "invalid_subject"),
    ("subject", "x" * 201, "invalid_subject"),
    ("priority", "critical", "invalid_priority"),
    ("category", "sales", "invalid_category"),
])
async def test_bad_input_is_refused_and_nothing_is_stored(services, field, value, code):
    with pytest.raises(ValidationError) as err:
        await open_for(services, **{field: value})
    assert err.value.code == code
    assert await SupportTicket.all().count() == 0


async def test_open_ticket_limit_and_cooldown(services, clock):
    services.support.max_open_tickets = 2
    a = await open_for(services)
    await open_for(services)
    with pytest.raises(QuotaExceeded) as err:
        await open_for(services)
    assert err.value.code == "too_many_open_tickets" and "#1, #2" in err.value.message
    await open_for(services, BOB)  # the limit is per user

    await services.support.close(STAFF, TicketRef(number=a.number), "fixed")
    clock.advance(minutes=3)
    with pytest.raises(QuotaExceeded) as err:
        await open_for(services)
    assert err.value.code == "support_cooldown"
    assert err.value.retry_after == pytest.approx(7 * 60)
    assert "7 minute" in err.value.message
    clock.advance(minutes=7)
    assert (await open_for(services)).number == 4


async def test_a_burst_of_opens_by_one_user_stops_at_the_limit(services):
    services.support.max_open_tickets = 3
    results = await asyncio.gather(*(open_for(services, subject=f"try {i}")
                                     for i in range(6)), return_exceptions=True)
    refused = [r for r in results if isinstance(r, QuotaExceeded)]
    assert len(refused) == 3 and all(r.code == "too_many_open_tickets" for r in refused)
    assert await SupportTicket.filter(opener_discord_id=ALICE.discord_id).count() == 3


async def test_a_ticket_life_records_first_response_and_resolution(services, clock):
    ticket = await open_for(services)
    ref = TicketRef(thread_id=777)
    await services.support.attach_thread(ticket.id, 777)

    clock.advance(minutes=5)
    await services.support.record_message(thread_id=777, message_id=1, author=ALICE,
                                          content="any news?", posted_at=clock.now())
    assert (await services.support.get_ticket(1)).first_response_at is None

    claim = await services.support.claim(STAFF, ref)
    assert (claim.ticket.status, claim.ticket.assignee_discord_id, claim.changed) == (
        "claimed", STAFF.discord_id, True)
    again = await services.support.claim(STAFF, ref)  # idempotent, and says it changed nothing
    assert (again.ticket.status, again.ticket.assignee_discord_id, again.changed) == (
        "claimed", STAFF.discord_id, False)
    with pytest.raises(Conflict):
        await services.support.claim(STAFF2, ref)

    clock.advance(minutes=10)
    answered_at = clock.now()
    await services.support.record_message(thread_id=777, message_id=2, author=STAFF,
                                          content="looking now", posted_at=answered_at)
    clock.advance(minutes=1)
    await services.support.record_message(thread_id=777, message_id=3, author=STAFF2,
                                          content="me too", posted_at=clock.now())
    ticket = await services.support.get_ticket(1)
    assert ticket.first_response_at == answered_at
    assert first_response_time(ticket) == dt.timedelta(minutes=15)

    clock.advance(hours=1)
    closed = await services.support.close(STAFF, ref, "Restarted the send queue")
    assert (closed.status, closed.close_reason) == ("closed", "Restarted the send queue")
    assert resolution_time(closed) == dt.timedelta(hours=1, minutes=16)
    with pytest.raises(Conflict):
        await services.support.close(STAFF, ref, "again")

    reopened = await services.support.reopen(ALICE, ref)
    assert (reopened.status, reopened.reopen_count, reopened.closed_at) == ("claimed", 1, None)
    transcript = await services.support.transcript(STAFF, ref)
    assert [(m.content, m.is_staff) for m in transcript] == [
        ("any news?", False), ("looking now", True), ("me too", True)]


async def test_only_staff_claim_assign_prioritise_and_see_the_queue(services):
    ticket = await open_for(services)
    ref = TicketRef(number=ticket.number)
    for action in (services.support.claim(BOB, ref),
                   services.support.assign(BOB, ref, STAFF),
                   services.support.set_priority(BOB, ref, "low"),
                   services.support.queue(ALICE)):
        with pytest.raises(PermissionDenied):
            await action
    with pytest.raises(PermissionDenied):  # a stranger cannot close someone's ticket
        await services.support.close(BOB, ref, "not mine")
    with pytest.raises(ValidationError):  # tickets go to staff only
        await services.support.assign(STAFF, ref, BOB)
    assert (await services.support.get_ticket(1)).status == "open"
    closed = await services.support.close(ALICE, ref, "solved it myself")
    assert closed.closed_by_discord_id == ALICE.discord_id


async def test_priority_escalation_is_reported_once(services):
    ticket = await open_for(services)
    ref = TicketRef(number=ticket.number)
    change = await services.support.set_priority(STAFF, ref, "urgent")
    assert (change.changed, change.escalated, change.ticket.priority) == (True, True, "urgent")
    again = await services.support.set_priority(STAFF, ref, "urgent")
    assert (again.changed, again.escalated) == (False, False)


async def test_queue_orders_by_priority_then_age(services, clock):
    people = [Participant(discord_id=3000 + i) for i in range(5)]
    plan = ["low", "urgent", "normal", "urgent", "high"]
    for who, priority in zip(people, plan, strict=True):
        await open_for(services, who, priority=priority)
        clock.advance(minutes=1)
    await services.support.close(STAFF, TicketRef(number=3), "dupe")
    tickets, total = await services.support.queue(STAFF)
    assert [(t.number, t.priority) for t in tickets] == [
        (2, "urgent"), (4, "urgent"), (5, "high"), (1, "low")]
    assert total == 4


async def test_user_list_shows_own_tickets_active_first(services, clock):
    services.support.cooldown = dt.timedelta(0)
    one = await open_for(services, subject="one")
    clock.advance(minutes=1)
    await open_for(services, subject="two")
    await open_for(services, BOB, subject="not alice's")
    await services.support.close(STAFF, TicketRef(number=one.number), "done")
    clock.advance(minutes=1)
    await open_for(services, subject="three")
    listed = await services.support.list_for(ALICE)
    assert [(t.subject, t.status) for t in listed] == [
        ("three", "open"), ("two", "open"), ("one", "closed")]


async def test_transcript_ignores_unknown_threads_duplicates_and_keys(services, clock):
    ticket = await open_for(services)
    await services.support.attach_thread(ticket.id, 42)
    assert await services.support.record_message(
        thread_id=999, message_id=1, author=ALICE, content="x", posted_at=clock.now()) is None
    key = "trk_" + "A1" * 16
    first = await services.support.record_message(
        thread_id=42, message_id=7, author=ALICE, content=f"my key is {key}",
        posted_at=clock.now())
    assert first is not None and key not in first.content
    again = await services.support.record_message(
        thread_id=42, message_id=7, author=ALICE, content="replayed", posted_at=clock.now())
    assert again is None
    assert await SupportTicketMessage.all().count() == 1


async def test_edits_keep_the_first_text_and_only_move_forward(services, clock):
    support = services.support
    ticket = await open_for(services)
    await support.attach_thread(ticket.id, 42)
    await support.record_message(thread_id=42, message_id=7, author=ALICE,
                                 content="campaign 12", posted_at=clock.now())
    t1, t2 = clock.now() + dt.timedelta(minutes=1), clock.now() + dt.timedelta(minutes=2)
    key = "trk_" + "B2" * 16
    newer = await support.record_edit(message_id=7, content=f"campaign 21, key {key}",
                                      edited_at=t2)
    assert newer is not None and key not in newer.content
    assert (newer.original_content, newer.edited_at) == ("campaign 12", t2)
    # An older edit arriving late, a repeat, and a message we never saw change nothing.
    assert await support.record_edit(message_id=7, content="campaign 13", edited_at=t1) is None
    assert await support.record_edit(message_id=7, content=newer.content,
                                     edited_at=t2 + dt.timedelta(seconds=1)) is None
    assert await support.record_edit(message_id=8, content="?", edited_at=t2) is None
    assert (await ticket_of(ticket)).last_activity_at == t2

    assert await support.record_deletions([7, 8], t2) == 1
    assert await support.record_deletions([7], t2) == 0
    assert await support.record_edit(message_id=7, content="after", edited_at=t2 +
                                     dt.timedelta(minutes=1)) is None
    [line] = await support.transcript(ALICE, TicketRef(number=ticket.number))
    assert (line.content.startswith("campaign 21, key"), line.original_content,
            line.deleted_at) == (True, "campaign 12", t2)


async def ticket_of(ticket: SupportTicket) -> SupportTicket:
    return await SupportTicket.get(id=ticket.id)


async def test_staff_opening_their_own_ticket_is_not_a_first_response(services, clock):
    ticket = await open_for(services, STAFF)
    await services.support.attach_thread(ticket.id, 5)
    await services.support.record_message(thread_id=5, message_id=1, author=STAFF,
                                          content="details", posted_at=clock.now())
    assert (await services.support.get_ticket(ticket.number)).first_response_at is None


async def test_missing_tickets_and_refs(services):
    with pytest.raises(NotFound):
        await services.support.claim(STAFF, TicketRef(number=99))
    with pytest.raises(ValidationError) as err:
        await services.support.claim(STAFF, TicketRef(thread_id=12345))
    assert err.value.code == "ticket_required"


async def test_discard_forgets_only_threadless_tickets(services):
    lost = await open_for(services)
    kept = await open_for(services, BOB)
    await services.support.attach_thread(kept.id, 9)
    await services.support.discard(lost.id)
    await services.support.discard(kept.id)
    assert [t.number for t in await SupportTicket.all()] == [kept.number]
    assert (await SupportTicket.get(id=kept.id)).status == TicketStatus.OPEN


async def test_opener_reopening_respects_their_open_ticket_limit(services):
    services.support.max_open_tickets = 1
    services.support.cooldown = dt.timedelta(0)
    first = await open_for(services)
    await services.support.close(ALICE, TicketRef(number=first.number), "ok")
    await open_for(services, subject="another")
    with pytest.raises(QuotaExceeded):
        await services.support.reopen(ALICE, TicketRef(number=first.number))
    assert (await services.support.reopen(STAFF, TicketRef(number=first.number))).status == (
        "open")


def test_limits_come_from_settings(settings, clock):
    from trackly.bootstrap import build_services

    tuned = settings.model_copy(update={"support_max_open_tickets": 5,
                                        "support_cooldown_minutes": 30})
    support = build_services(tuned, clock=clock, secret_key="x" * 32).support
    assert (support.max_open_tickets, support.cooldown) == (5, dt.timedelta(minutes=30))


async def test_a_ticket_whose_thread_was_deleted_gets_one_new_thread(services):
    ticket = await open_for(services)
    await services.support.attach_thread(ticket.id, 777)
    await services.support.record_message(thread_id=777, message_id=1, author=ALICE,
                                          content="help", posted_at=ticket.opened_at)
    assert await services.support.forget_thread(12345) is None  # no ticket's thread
    forgotten = await services.support.forget_thread(777)
    assert (forgotten.number, forgotten.thread_id, forgotten.status) == (1, None, "open")
    ref = TicketRef(number=1)

    with pytest.raises(PermissionDenied):  # a stranger may not
        await services.support.prepare_new_thread(BOB, ref)
    assert (await services.support.prepare_new_thread(ALICE, ref)).id == ticket.id
    assert (await services.support.prepare_new_thread(STAFF, ref)).id == ticket.id
    attached = await services.support.attach_thread(ticket.id, 888)
    assert attached.thread_id == 888
    with pytest.raises(Conflict) as late:  # the second of two new threads is refused
        await services.support.attach_thread(ticket.id, 999)
    assert late.value.code == "ticket_has_thread"
    with pytest.raises(Conflict):
        await services.support.prepare_new_thread(STAFF, ref)
    transcript = await services.support.transcript(ALICE, ref)
    assert [m.content for m in transcript] == ["help"]  # kept across threads

    await services.support.forget_thread(888)
    await services.support.close(STAFF, ref, "spam")
    with pytest.raises(Conflict) as closed:
        await services.support.prepare_new_thread(STAFF, ref)
    assert closed.value.code == "ticket_closed"
