"""Ticket threads a moderator deleted: every staff and opener command still does its job,
says the thread is gone instead of "something went wrong", leaves the ticket without a
thread (as Discord has it), and offers a new thread to an active ticket."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from core.support.models import SupportTicket, SupportTicketMessage
from tests.discord_fake import FakeDiscord
from tests.helpers import eventually

SUPPORT = FakeDiscord.SUPPORT_ROLE_ID
NEW_THREAD = "Open a new thread"
ACTIVE_NOTE = ("Its thread was deleted in Discord, so nobody there was told. Open a new "
               "thread to carry on the conversation.")
CLOSED_NOTE = ("Its thread was deleted in Discord, so there was nothing to archive; the "
               "transcript is kept.")


async def ticket(number: int = 1) -> SupportTicket:
    return await SupportTicket.get(number=number)


async def detached() -> bool:
    return (await ticket()).thread_id is None


def buttons(message: dict) -> list[str]:
    return [c["label"] for row in message.get("components") or []
            for c in row.get("components", [])]


async def delete_the_thread(fake: FakeDiscord, thread_id: int, *, seen: bool) -> None:
    await fake.delete_thread(thread_id, seen=seen)
    if seen:  # the bot got THREAD_DELETE and let go of the thread on its own
        await eventually(detached, what="the ticket to let go of its deleted thread")


# command, options (sue: a second staff member), reply's first line, status afterwards
CASES = {
    "claim": ("support claim", {}, "You claimed ticket #1.", "claimed"),
    "assign": ("support assign", {"member": "sue"}, "Ticket #1 is now <@{sue}>'s.",
               "claimed"),
    "priority": ("support priority", {"level": "urgent"}, "Ticket #1 is 🔴 urgent.", "open"),
    "close": ("support close", {"reason": "spam"}, "Closed ticket #1 after 0s (first "
              "response in -).", "closed"),
    "reopen": ("support reopen", {}, "Reopened ticket #1.", "open"),
}


@pytest.mark.parametrize("seen", [True, False], ids=["deletion-seen", "deletion-missed"])
@pytest.mark.parametrize("case", list(CASES))
async def test_a_command_on_a_ticket_whose_thread_was_deleted(bot, discord_fake, caplog,
                                                              case, seen):
    caplog.set_level(logging.WARNING)
    alice, sam, sue = (discord_fake.add_user("alice"), discord_fake.staff("sam"),
                       discord_fake.staff("sue"))
    await discord_fake.command(alice, "support new", {"subject": "Help"})
    thread_id = int(discord_fake.created_threads()[0]["id"])
    if case == "reopen":
        await discord_fake.command(sam, "support close", {"reason": "done", "ticket": 1})
    await delete_the_thread(discord_fake, thread_id, seen=seen)

    command, options, first_line, status = CASES[case]
    options = {k: sue if v == "sue" else v for k, v in options.items()}
    reply = await discord_fake.command(alice if case == "reopen" else sam, command,
                                       {**options, "ticket": 1})

    note = CLOSED_NOTE if status == "closed" else ACTIVE_NOTE
    assert reply.ephemeral
    assert reply.content == first_line.format(sue=sue.id) + "\n" + note
    assert buttons(reply.message) == ([] if status == "closed" else [NEW_THREAD])
    t1 = await ticket()
    assert (t1.status, t1.thread_id) == (status, None)  # saved, and no thread, as in Discord
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert thread_id not in discord_fake.threads  # nothing was created in its place unasked


async def test_a_new_thread_carries_the_ticket_on(bot, discord_fake, clock):
    alice, sam = discord_fake.add_user("alice"), discord_fake.staff("sam")
    await discord_fake.command(alice, "support new", {"subject": "Campaign stuck"})
    old = int(discord_fake.created_threads()[0]["id"])
    await discord_fake.push_message(alice, "It has been stuck all night", channel_id=old)
    await eventually(_transcript_has(1), what="the first line in the transcript")
    await delete_the_thread(discord_fake, old, seen=False)
    claimed = await discord_fake.command(sam, "support claim", {"ticket": 1})

    await discord_fake.click(sam, claimed.message, NEW_THREAD)
    [thread] = discord_fake.created_threads()
    new = int(thread["id"])
    assert claimed.message["content"] == f"Ticket #1 continues in <#{new}>."
    assert buttons(claimed.message) == []
    assert (thread["name"], thread["type"], thread["parent_id"]) == (
        "#1 Campaign stuck", 12, str(FakeDiscord.SUPPORT_CHANNEL_ID))
    assert discord_fake.thread_members[new] >= {FakeDiscord.BOT_ID, alice.id, sam.id}
    [welcome] = discord_fake.bot_messages(new)
    assert welcome["content"].splitlines() == [
        f"<@{alice.id}> <@{sam.id}>", "**Ticket #1**: Campaign stuck",
        "The ticket's previous thread was deleted; it carries on here."]
    assert {u["id"] for u in welcome["mentions"]} == {str(alice.id), str(sam.id)}
    assert discord_fake.pinged_roles(welcome) == []  # claimed: Sam's, not the whole team's
    t1 = await ticket()
    assert (t1.thread_id, t1.status, t1.assignee_discord_id) == (new, "claimed", sam.id)

    await discord_fake.push_message(alice, "Still stuck", channel_id=new)
    lines = await eventually(_transcript_has(2), what="the new thread in the transcript")
    assert [m.content for m in lines] == ["It has been stuck all night", "Still stuck"]


async def test_an_opener_reopens_into_a_new_thread_that_pages_the_support_team(
        bot, discord_fake):
    alice, sam = discord_fake.add_user("alice"), discord_fake.staff("sam")
    await discord_fake.command(alice, "support new", {"subject": "Help"})
    old = int(discord_fake.created_threads()[0]["id"])
    await discord_fake.command(sam, "support close", {"reason": "done", "ticket": 1})
    await delete_the_thread(discord_fake, old, seen=True)

    reopened = await discord_fake.command(alice, "support reopen", {"ticket": 1})
    await discord_fake.click(alice, reopened.message, NEW_THREAD)
    [thread] = discord_fake.created_threads()
    welcome = discord_fake.bot_messages(int(thread["id"]))[0]
    assert welcome["content"].splitlines()[0] == f"<@{alice.id}> <@&{SUPPORT}>"
    assert discord_fake.pinged_roles(welcome) == [SUPPORT]  # unclaimed: the team is called
    assert sam.id in discord_fake.thread_members[int(thread["id"])]
    assert ((await ticket()).status, (await ticket()).thread_id) == ("open", int(thread["id"]))


async def test_two_clicks_at_once_make_one_thread(bot, discord_fake):
    alice, sam, sue = (discord_fake.add_user("alice"), discord_fake.staff("sam"),
                       discord_fake.staff("sue"))
    await discord_fake.command(alice, "support new", {"subject": "Help"})
    await delete_the_thread(discord_fake, int(discord_fake.created_threads()[0]["id"]),
                            seen=True)
    offers = [await discord_fake.command(sam, "support priority", {"level": "high",
                                                                    "ticket": 1}),
              await discord_fake.command(sue, "support claim", {"ticket": 1})]

    clicks = await asyncio.gather(*(discord_fake.click(who, offer.message, NEW_THREAD)
                                    for who, offer in zip((sam, sue), offers, strict=True)))
    [thread] = discord_fake.created_threads()  # any second one was deleted again
    assert (await ticket()).thread_id == int(thread["id"])
    seen = sorted((c.followups or [c.original])[-1]["content"] for c in clicks)
    assert seen == ["Ticket #1 already has a thread.",
                    f"Ticket #1 continues in <#{thread['id']}>."]


async def test_a_new_thread_is_refused_once_the_ticket_is_closed(bot, discord_fake):
    alice, sam = discord_fake.add_user("alice"), discord_fake.staff("sam")
    await discord_fake.command(alice, "support new", {"subject": "Help"})
    await delete_the_thread(discord_fake, int(discord_fake.created_threads()[0]["id"]),
                            seen=True)
    offer = await discord_fake.command(sam, "support claim", {"ticket": 1})
    await discord_fake.command(sam, "support close", {"reason": "spam", "ticket": 1})

    click = await discord_fake.click(sam, offer.message, NEW_THREAD)
    [answer] = click.followups
    assert (answer["content"], answer["flags"] & 64) == (
        "Ticket #1 is closed; reopen it first.", 64)
    assert discord_fake.created_threads() == []
    assert (await ticket()).thread_id is None


async def test_a_deleted_thread_leaves_the_ticket_lists(bot, discord_fake):
    alice, sam = discord_fake.add_user("alice"), discord_fake.staff("sam")
    await discord_fake.command(alice, "support new", {"subject": "Help"})
    thread_id = int(discord_fake.created_threads()[0]["id"])
    await delete_the_thread(discord_fake, thread_id, seen=True)
    mine = await discord_fake.command(alice, "support list")
    assert mine.embeds[0]["description"] == "**#1** Help · open"
    queue = await discord_fake.command(sam, "support queue")
    line = queue.embeds[0]["description"]
    assert line.endswith("· unclaimed · no thread") and f"<#{thread_id}>" not in line
    assert re.search(r"<#\d+>", mine.text + queue.text) is None


def _transcript_has(n: int):
    async def check() -> list[SupportTicketMessage] | None:
        lines = await SupportTicketMessage.filter(ticket__number=1).order_by("posted_at", "id")
        return lines if len(lines) >= n else None
    return check
