"""/support through the fake Discord: threads, pings, replies, transcript, database."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest

from core.permissions import Role
from core.support.models import SupportTicket, SupportTicketMessage
from tests.discord_fake import FakeDiscord
from tests.discord_fake.fixtures import link_user
from tests.factories import make_tenant
from tests.helpers import eventually

ET = dt.timezone(dt.timedelta(hours=-5))  # New York in early March (before DST starts)
SUPPORT, ONCALL = FakeDiscord.SUPPORT_ROLE_ID, FakeDiscord.ONCALL_ROLE_ID


def ts(when: dt.datetime, style: str = "F") -> str:
    return f"<t:{int(when.timestamp())}:{style}>"


async def ticket(number: int) -> SupportTicket:
    return await SupportTicket.get(number=number)


def opening(discord_fake, thread_id: int) -> dict:
    return discord_fake.bot_messages(thread_id)[0]


async def test_a_ticket_life(bot, discord_fake, services, clock):
    alice, bob = discord_fake.add_user("alice"), discord_fake.add_user("bob")
    sam = discord_fake.staff("sam")

    # Tuesday 22:00 in New York: support is closed until Wednesday 09:00.
    clock.set(dt.datetime(2026, 3, 3, 22, 0, tzinfo=ET))
    opened_at = clock.now()
    reply = await discord_fake.command(alice, "support new", {"subject": "Campaign stuck"})
    [thread] = discord_fake.created_threads()
    thread_id = int(thread["id"])
    wednesday_9 = dt.datetime(2026, 3, 4, 9, 0, tzinfo=ET)
    assert reply.ephemeral
    assert reply.content.splitlines() == [
        f"Ticket **#1** is open: <#{thread_id}>.",
        f"Support is closed right now; we open tomorrow 09:00 ET ({ts(wednesday_9)}, "
        f"{ts(wednesday_9, 'R')}), and that is when to expect an answer."]
    assert (thread["name"], thread["type"], thread["parent_id"]) == (
        "#1 Campaign stuck", 12, str(FakeDiscord.SUPPORT_CHANNEL_ID))
    assert thread["thread_metadata"]["invitable"] is False
    first = opening(discord_fake, thread_id)
    assert first["content"].splitlines()[0] == f"<@{alice.id}> <@&{SUPPORT}>"
    assert discord_fake.pinged_roles(first) == [SUPPORT]  # on-call sleeps: not urgent
    assert "we open tomorrow 09:00 ET" in first["embeds"][0]["fields"][3]["value"]
    # Alice was added; the support role's ping brought the staff in.
    assert discord_fake.thread_members[thread_id] == {FakeDiscord.BOT_ID, alice.id, sam.id}
    [add] = discord_fake.find_requests("PUT", "/thread-members/")
    assert add.path == f"/channels/{thread_id}/thread-members/{alice.id}"
    t1 = await ticket(1)
    assert (t1.status, t1.priority, t1.thread_id, t1.opener_discord_id, t1.opened_at) == (
        "open", "normal", thread_id, alice.id, opened_at)

    # Wednesday 03:00: an urgent ticket pages on-call at once.
    clock.set(dt.datetime(2026, 3, 4, 3, 0, tzinfo=ET))
    urgent = await discord_fake.command(bob, "support new",
                                        {"subject": "All sends failing", "priority": "urgent",
                                         "category": "technical"})
    assert "we open today 09:00 ET" in urgent.content
    assert urgent.content.endswith("It is urgent, so the on-call team has been paged.")
    urgent_thread = int(discord_fake.created_threads()[1]["id"])
    page = opening(discord_fake, urgent_thread)
    assert discord_fake.pinged_roles(page) == [SUPPORT, ONCALL]
    assert "Urgent ticket: paging on-call." in page["content"]
    assert ((await ticket(2)).priority, (await ticket(2)).category) == ("urgent", "technical")

    # Sam claims ticket 1 from inside its thread.
    clock.set(dt.datetime(2026, 3, 4, 9, 1, tzinfo=ET))
    claim = await discord_fake.command(sam, "support claim", channel_id=thread_id)
    assert claim.ephemeral and claim.content == "You claimed ticket #1."
    assert discord_fake.bot_messages(thread_id)[-1]["content"] == (
        f"<@{sam.id}> is on this ticket.")
    assert ((await ticket(1)).status, (await ticket(1)).assignee_discord_id) == (
        "claimed", sam.id)

    # Two messages in the thread are mirrored; Sam's is the first response.
    clock.set(dt.datetime(2026, 3, 4, 9, 5, tzinfo=ET))
    await discord_fake.push_message(alice, "Any update? It has been all night.",
                                    channel_id=thread_id)
    clock.advance(minutes=2)
    answered_at = clock.now()
    await discord_fake.push_message(sam, "Looking at it now.", channel_id=thread_id)
    transcript = await eventually(
        lambda: _transcript(1, expect=2), what="both messages in the transcript")
    await eventually(lambda: _first_response_recorded(1), what="the first response")
    assert [(m.author_discord_id, m.content, m.is_staff, m.posted_at) for m in transcript] == [
        (alice.id, "Any update? It has been all night.", False,
         answered_at - dt.timedelta(minutes=2)),
        (sam.id, "Looking at it now.", True, answered_at)]
    assert (await ticket(1)).first_response_at == answered_at

    # Closed with a reason: notice in the thread, thread archived and locked.
    clock.set(dt.datetime(2026, 3, 4, 10, 0, tzinfo=ET))
    closed = await discord_fake.command(sam, "support close",
                                        {"reason": "Restarted the send queue"},
                                        channel_id=thread_id)
    assert closed.content == "Closed ticket #1 after 12h 0m (first response in 11h 7m)."
    notice = discord_fake.bot_messages(thread_id)[-1]["content"]
    assert notice.startswith(f"Ticket closed by <@{sam.id}>: Restarted the send queue")
    assert thread["thread_metadata"]["archived"] and thread["thread_metadata"]["locked"]
    t1 = await ticket(1)
    assert (t1.status, t1.close_reason, t1.closed_by_discord_id, t1.closed_at) == (
        "closed", "Restarted the send queue", sam.id, clock.now())

    # Alice reopens it: back to Sam, thread open again.
    reopened = await discord_fake.command(alice, "support reopen", {"ticket": 1})
    assert reopened.content == "Reopened ticket #1."
    assert not thread["thread_metadata"]["archived"]
    assert not thread["thread_metadata"]["locked"]
    assert discord_fake.bot_messages(thread_id)[-1]["content"] == (
        f"Ticket reopened by <@{alice.id}>.")
    t1 = await ticket(1)
    assert (t1.status, t1.reopen_count, t1.closed_at, t1.first_response_at) == (
        "claimed", 1, None, answered_at)


async def _first_response_recorded(number: int) -> bool:
    return (await ticket(number)).first_response_at is not None


async def _transcript(number: int, *, expect: int) -> list[SupportTicketMessage] | None:
    messages = await SupportTicketMessage.filter(ticket__number=number).order_by("posted_at")
    return messages if len(messages) >= expect else None


async def test_a_viewer_cannot_claim_unless_they_hold_the_support_role(bot, discord_fake,
                                                                        services):
    tenant = await make_tenant(services)
    alice, viewer = discord_fake.add_user("alice"), discord_fake.add_user("vic")
    await link_user(services, viewer, tenant.keys[Role.VIEWER])
    opened = await discord_fake.command(alice, "support new", {"subject": "Help"})
    assert opened.content.endswith("Support is open now; someone will be with you shortly.")

    refused = await discord_fake.command(viewer, "support claim", {"ticket": 1})
    assert refused.ephemeral and refused.content == "Only the support team can claim tickets."
    assert ((await ticket(1)).status, (await ticket(1)).assignee_discord_id) == ("open", None)

    viewer.roles.append(SUPPORT)
    allowed = await discord_fake.command(viewer, "support claim", {"ticket": 1})
    assert allowed.content == "You claimed ticket #1."
    assert (await ticket(1)).assignee_discord_id == viewer.id


async def test_staff_commands_are_refused_to_everyone_else(bot, discord_fake):
    alice, mallory = discord_fake.add_user("alice"), discord_fake.add_user("mallory")
    sam = discord_fake.staff("sam")
    await discord_fake.command(alice, "support new", {"subject": "Help"})
    for command, options, text in [
        ("support queue", {}, "Only the support team can see the queue."),
        ("support assign", {"member": sam, "ticket": 1},
         "Only the support team can assign tickets."),
        ("support priority", {"level": "low", "ticket": 1},
         "Only the support team can change a ticket's priority."),
        ("support close", {"reason": "spam", "ticket": 1},
         "Only the support team or the person who opened ticket #1 can close it."),
    ]:
        reply = await discord_fake.command(mallory, command, options)
        assert (reply.ephemeral, reply.content) == (True, text)
    t1 = await ticket(1)
    assert (t1.status, t1.priority, t1.assignee_discord_id) == ("open", "normal", None)


async def test_assign_adds_the_assignee_and_priority_escalation_pages_oncall(
        bot, discord_fake):
    alice, sam, sue = (discord_fake.add_user("alice"), discord_fake.staff("sam"),
                       discord_fake.add_user("sue", roles=[SUPPORT], in_guild=True))
    await discord_fake.command(alice, "support new", {"subject": "Help"})
    thread_id = int(discord_fake.created_threads()[0]["id"])

    stranger = discord_fake.add_user("stranger")
    nope = await discord_fake.command(sam, "support assign", {"member": stranger, "ticket": 1})
    assert nope.content == "stranger is not on the support team."

    reply = await discord_fake.command(sam, "support assign", {"member": sue},
                                       channel_id=thread_id)
    assert reply.content == f"Ticket #1 is now <@{sue.id}>'s."
    assert f"/channels/{thread_id}/thread-members/{sue.id}" in [
        r.path for r in discord_fake.find_requests("PUT", "/thread-members/")]
    note = discord_fake.bot_messages(thread_id)[-1]
    assert note["content"] == f"Assigned to <@{sue.id}> by <@{sam.id}>."
    assert [u["id"] for u in note["mentions"]] == [str(sue.id)]  # Sue pinged, Sam not
    assert ((await ticket(1)).status, (await ticket(1)).assignee_discord_id) == (
        "claimed", sue.id)

    high = await discord_fake.command(sam, "support priority", {"level": "high"},
                                      channel_id=thread_id)
    assert high.content == "Ticket #1 is 🟠 high."
    assert discord_fake.pinged_roles(discord_fake.bot_messages(thread_id)[-1]) == []
    urgent = await discord_fake.command(sam, "support priority", {"level": "urgent",
                                                                  "ticket": 1})
    assert urgent.content == "Ticket #1 is 🔴 urgent."
    page = discord_fake.bot_messages(thread_id)[-1]
    assert discord_fake.pinged_roles(page) == [ONCALL]
    assert page["content"] == f"<@&{ONCALL}> Priority set to 🔴 urgent by <@{sam.id}>."
    posts = len(discord_fake.bot_messages(thread_id))
    again = await discord_fake.command(sam, "support priority", {"level": "urgent",
                                                                 "ticket": 1})
    assert again.content == "Ticket #1 is 🔴 urgent."
    assert len(discord_fake.bot_messages(thread_id)) == posts  # nothing changed: no page


async def test_queue_lists_open_tickets_by_priority_then_age(bot, discord_fake, clock):
    sam = discord_fake.staff("sam")
    plan = [("low", "Typo"), ("urgent", "Down"), ("normal", "Question"), ("urgent", "Also down")]
    for i, (priority, subject) in enumerate(plan):
        await discord_fake.command(discord_fake.add_user(f"u{i}"), "support new",
                                   {"subject": subject, "priority": priority})
        clock.advance(minutes=5)
    await discord_fake.command(sam, "support close", {"reason": "fixed", "ticket": 3})

    reply = await discord_fake.command(sam, "support queue")
    embed = reply.embeds[0]
    assert reply.ephemeral and embed["title"] == "Support queue (3 open)"
    lines = embed["description"].splitlines()
    assert [re.match(r"\*\*#(\d+)\*\*", line).group(1) for line in lines] == ["2", "4", "1"]
    assert lines[0].startswith("**#2** 🔴 urgent · Down · opened <t:")
    assert "unclaimed" in lines[0]


async def test_user_list_shows_their_own_tickets(bot, discord_fake, services):
    services.support.cooldown = dt.timedelta(0)
    alice, bob, sam = (discord_fake.add_user("alice"), discord_fake.add_user("bob"),
                       discord_fake.staff("sam"))
    empty = await discord_fake.command(alice, "support list")
    assert "You have no tickets." in empty.text
    await discord_fake.command(alice, "support new", {"subject": "First"})
    await discord_fake.command(bob, "support new", {"subject": "Bob's"})
    await discord_fake.command(alice, "support new", {"subject": "Second"})
    await discord_fake.command(sam, "support close", {"reason": "done", "ticket": 1})
    reply = await discord_fake.command(alice, "support list")
    lines = reply.embeds[0]["description"].splitlines()
    assert reply.ephemeral and len(lines) == 2
    assert lines[0].startswith("**#3** Second · open · <#")
    assert lines[1].startswith("**#1** First · closed <t:")


async def test_open_ticket_limit_and_cooldown_are_explained(bot, discord_fake, services,
                                                            clock):
    services.support.max_open_tickets = 1
    alice, sam = discord_fake.add_user("alice"), discord_fake.staff("sam")
    await discord_fake.command(alice, "support new", {"subject": "One"})
    limited = await discord_fake.command(alice, "support new", {"subject": "Two"})
    assert limited.ephemeral and limited.content.startswith(
        "You already have 1 open tickets (#1)")
    await discord_fake.command(sam, "support close", {"reason": "done", "ticket": 1})
    clock.advance(minutes=4)
    cooling = await discord_fake.command(alice, "support new", {"subject": "Three"})
    assert cooling.content.startswith("Your ticket #1 was closed moments ago; you can open a "
                                      "new one in 6 minute(s)")
    assert await SupportTicket.all().count() == 1
    assert len(discord_fake.created_threads()) == 1


async def test_a_discord_failure_is_logged_with_a_reference_and_the_ticket_forgotten(
        bot, discord_fake, caplog):
    del discord_fake.channels[FakeDiscord.SUPPORT_CHANNEL_ID]  # deleted behind our back
    bot.get_guild(FakeDiscord.GUILD_ID)._remove_channel(
        bot.get_channel(FakeDiscord.SUPPORT_CHANNEL_ID))
    caplog.set_level(logging.ERROR)
    reply = await discord_fake.command(discord_fake.add_user("alice"), "support new",
                                       {"subject": "Help"})
    ref = re.search(r"reference `(\w{10})`", reply.content).group(1)
    assert reply.ephemeral and reply.content.startswith("Something went wrong on our side.")
    [record] = [r for r in caplog.records if ref in r.getMessage()]
    assert record.getMessage().startswith("command /support new failed for discord user")
    assert record.exc_info is not None and "NotFound" in caplog.text
    assert await SupportTicket.all().count() == 0


@pytest.mark.parametrize("where", ["thread", "elsewhere"])
async def test_messages_outside_ticket_threads_are_not_recorded(bot, discord_fake, where):
    alice = discord_fake.add_user("alice")
    await discord_fake.command(alice, "support new", {"subject": "Help"})
    thread_id = int(discord_fake.created_threads()[0]["id"])
    if where == "thread":
        await discord_fake.push_message(alice, "in the ticket", channel_id=thread_id,
                                        files={"error.log": b"Traceback..."})
    await discord_fake.push_message(alice, "small talk in #general")
    await discord_fake.command(alice, "support list")  # the bot has handled both by now
    expected = [f"in the ticket\n[attachment] {discord_fake.base_url}/attachments/error.log"
                ] if where == "thread" else []
    await eventually(lambda: _count_is(len(expected)), what="the transcript")
    assert [m.content for m in await SupportTicketMessage.all()] == expected


async def _count_is(n: int) -> bool:
    return await SupportTicketMessage.all().count() == n


async def test_edits_and_deletions_in_a_ticket_thread_reach_the_transcript(
        bot, discord_fake, clock):
    alice, sam = discord_fake.add_user("alice"), discord_fake.staff("sam")
    await discord_fake.command(alice, "support new", {"subject": "Campaign stuck"})
    thread_id = int(discord_fake.created_threads()[0]["id"])
    first = await discord_fake.push_message(alice, "Campaign 12 is stuck",
                                            channel_id=thread_id)
    second = await discord_fake.push_message(alice, "since 9am", channel_id=thread_id)
    third = await discord_fake.push_message(sam, "On it", channel_id=thread_id)
    chatter = await discord_fake.push_message(alice, "lunch?")  # #general, no ticket
    await eventually(lambda: _count_is(3), what="three transcript lines")

    clock.advance(minutes=1)
    edited_at = clock.now()
    await discord_fake.edit_message(first, "Campaign 21 is stuck")
    # A link preview arriving is an update without an edit: nothing changes.
    await discord_fake.dispatch("MESSAGE_UPDATE", {**second, "embeds": [{"title": "x"}]})
    await discord_fake.edit_message(chatter, "lunch at 1?")
    clock.advance(minutes=1)
    await discord_fake.delete_messages(second)
    await discord_fake.delete_messages(third, chatter)  # a moderator's purge
    await discord_fake.command(alice, "support list")  # the bot has handled them all

    async def settled() -> list[SupportTicketMessage] | None:
        # the bot handles each gateway event in its own task: wait for every one of them
        # (the edit as well as both deletions), not only for the last to arrive
        lines = await SupportTicketMessage.all().order_by("discord_message_id")
        deleted = sum(m.deleted_at is not None for m in lines)
        edited = sum(m.edited_at is not None for m in lines)
        return lines if deleted == 2 and edited == 1 else None
    lines = await eventually(settled, what="the edit and the deletions mirrored")
    assert [(m.content, m.original_content, m.edited_at, m.deleted_at) for m in lines] == [
        ("Campaign 21 is stuck", "Campaign 12 is stuck", edited_at, None),
        ("since 9am", None, None, clock.now()),
        ("On it", None, None, clock.now())]


async def test_urgent_tickets_at_night_are_not_told_to_wait_for_opening_hours(
        bot, discord_fake, services, clock):
    services.support.cooldown = dt.timedelta(0)
    # Saturday 7 March 2026, 18:00 EST: closed until Monday 09:00, which is EDT by then.
    clock.set(dt.datetime(2026, 3, 7, 18, 0, tzinfo=ET))
    monday_9 = dt.datetime(2026, 3, 9, 13, 0, tzinfo=dt.UTC)
    normal = await discord_fake.command(discord_fake.add_user("alice"), "support new",
                                        {"subject": "Question"})
    assert normal.content.splitlines()[1] == (
        f"Support is closed right now; we open Monday 09:00 ET ({ts(monday_9)}, "
        f"{ts(monday_9, 'R')}), and that is when to expect an answer.")

    urgent = await discord_fake.command(discord_fake.add_user("bob"), "support new",
                                        {"subject": "All sends failing", "priority": "urgent"})
    assert urgent.content.splitlines()[1:] == [
        f"Support is closed right now (we open Monday 09:00 ET, {ts(monday_9)}), but the "
        "on-call team answers urgent tickets at any hour.",
        "It is urgent, so the on-call team has been paged."]
    page = opening(discord_fake, int(discord_fake.created_threads()[1]["id"]))
    hours_field = page["embeds"][0]["fields"][3]
    assert hours_field["name"] == "Hours"
    assert "on-call team answers urgent tickets at any hour" in hours_field["value"]
    assert "that is when to expect an answer" not in hours_field["value"]
    assert discord_fake.pinged_roles(page) == [SUPPORT, ONCALL]


async def test_system_messages_are_no_answer_and_no_transcript_line(bot, discord_fake, clock):
    alice, sam = discord_fake.add_user("alice"), discord_fake.staff("sam")
    await discord_fake.command(alice, "support new", {"subject": "Campaign stuck"})
    thread_id = int(discord_fake.created_threads()[0]["id"])
    question = await discord_fake.push_message(alice, "Campaign 12 is stuck",
                                               channel_id=thread_id)
    clock.advance(minutes=5)
    # Sam pins Alice's message and adds a teammate: Discord posts both as Sam's.
    await discord_fake.push_message(sam, "", channel_id=thread_id, msg_type=6)
    await discord_fake.push_message(sam, "", channel_id=thread_id, msg_type=1)
    clock.advance(minutes=5)
    answered_at = clock.now()
    await discord_fake.push_message(sam, "Looking at it", channel_id=thread_id)
    await eventually(lambda: _first_response_recorded(1), what="the first response")
    await discord_fake.command(alice, "support list")  # the bot has handled every message
    lines = await SupportTicketMessage.all().order_by("posted_at", "id")
    assert [(m.discord_message_id, m.content) for m in lines] == [
        (int(question["id"]), "Campaign 12 is stuck"),
        (lines[1].discord_message_id, "Looking at it")]
    assert (await ticket(1)).first_response_at == answered_at


async def test_reopening_a_ticket_that_is_not_closed_says_so(bot, discord_fake, services):
    services.support.max_open_tickets = 1
    alice = discord_fake.add_user("alice")
    await discord_fake.command(alice, "support new", {"subject": "Help"})
    reply = await discord_fake.command(alice, "support reopen", {"ticket": 1})
    assert (reply.ephemeral, reply.content) == (True, "Ticket #1 is not closed.")
    t1 = await ticket(1)
    assert (t1.status, t1.reopen_count) == ("open", 0)


async def test_a_ticket_idle_long_enough_to_be_archived_can_still_be_assigned(
        bot, discord_fake, clock):
    alice, sam = discord_fake.add_user("alice"), discord_fake.staff("sam")
    sue = discord_fake.add_user("sue", roles=[SUPPORT])
    await discord_fake.command(alice, "support new", {"subject": "Help"})
    thread_id = int(discord_fake.created_threads()[0]["id"])
    clock.advance(days=8)
    await discord_fake.auto_archive(thread_id)  # a week without a message

    reply = await discord_fake.command(sam, "support assign", {"member": sue, "ticket": 1})
    assert reply.content == f"Ticket #1 is now <@{sue.id}>'s."
    assert sue.id in discord_fake.thread_members[thread_id]
    assert not discord_fake.threads[thread_id]["thread_metadata"]["archived"]
    assert discord_fake.bot_messages(thread_id)[-1]["content"] == (
        f"Assigned to <@{sue.id}> by <@{sam.id}>.")
    assert ((await ticket(1)).status, (await ticket(1)).assignee_discord_id) == (
        "claimed", sue.id)


async def test_without_an_oncall_role_urgent_tickets_promise_no_page(
        bot, discord_fake, services, clock, monkeypatch):
    monkeypatch.setattr(services.settings, "discord_oncall_role_id", None)
    bob = discord_fake.add_user("bob")
    clock.set(dt.datetime(2026, 3, 4, 3, 0, tzinfo=ET))  # Wednesday 03:00, closed
    reply = await discord_fake.command(bob, "support new",
                                       {"subject": "All sends failing", "priority": "urgent"})
    assert "on-call" not in reply.content
    assert "we open today 09:00 ET" in reply.content
    assert reply.content.endswith("and that is when to expect an answer.")
    page = opening(discord_fake, int(discord_fake.created_threads()[0]["id"]))
    assert discord_fake.pinged_roles(page) == [SUPPORT]
    assert "on-call" not in page["content"]
    assert "on-call" not in page["embeds"][0]["fields"][3]["value"]


async def test_claiming_a_ticket_held_by_someone_else_points_to_assign(bot, discord_fake):
    alice, sam, sue = (discord_fake.add_user("alice"), discord_fake.staff("sam"),
                       discord_fake.staff("sue"))
    await discord_fake.command(alice, "support new", {"subject": "Help"})
    await discord_fake.command(sam, "support claim", {"ticket": 1})
    reply = await discord_fake.command(sue, "support claim", {"ticket": 1})
    assert (reply.ephemeral, reply.content) == (
        True, "Ticket #1 is already claimed by someone else. Use `/support assign` to take "
        "it over.")
    assert (await ticket(1)).assignee_discord_id == sam.id


async def test_claiming_a_ticket_you_already_hold_posts_no_second_notice(bot, discord_fake):
    alice, sam = discord_fake.add_user("alice"), discord_fake.staff("sam")
    await discord_fake.command(alice, "support new", {"subject": "Help"})
    thread_id = int(discord_fake.created_threads()[0]["id"])
    first = await discord_fake.command(sam, "support claim", channel_id=thread_id)
    assert first.content == "You claimed ticket #1."
    posts = discord_fake.bot_messages(thread_id)

    again = await discord_fake.command(sam, "support claim", {"ticket": 1})
    assert (again.ephemeral, again.content) == (True, "Ticket #1 is already yours.")
    assert discord_fake.bot_messages(thread_id) == posts  # one "is on this ticket" notice
    assert [m["content"] for m in posts].count(f"<@{sam.id}> is on this ticket.") == 1
    assert ((await ticket(1)).status, (await ticket(1)).assignee_discord_id) == (
        "claimed", sam.id)
