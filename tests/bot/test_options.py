"""Free-text slash-command options pass the text rule (core.text) like every other edge:
text that cannot be stored is refused with a private answer that names the option, before
the command does anything. A NUL in a /support subject was a 500 on PostgreSQL ("something
went wrong") after the Discord thread had been asked for."""

from __future__ import annotations

import pytest
from discord import AppCommandOptionType, app_commands

from bot.options import TextOption
from core.accounts.models import DiscordLink
from core.support.models import SupportTicket, SupportTicketMessage
from tests.helpers import eventually


@pytest.mark.parametrize(("command", "options", "said"), [
    ("support new", {"subject": "Help\x00me"}, "subject contains a NUL character"),
    ("support new", {"subject": "Help \x1b[31m"}, "subject contains a control character"),
    ("sms link", {"api_key": "trk_\x00"}, "api_key contains a NUL character"),
])
async def test_unstorable_text_in_an_option_is_refused_privately(bot, discord_fake, command,
                                                                 options, said):
    alice = discord_fake.add_user("alice")
    reply = await discord_fake.command(alice, command, options)
    assert reply.ephemeral
    assert said in reply.content
    assert "Something went wrong" not in reply.content
    assert await SupportTicket.all().count() == 0
    assert discord_fake.created_threads() == []
    assert await DiscordLink.all().count() == 0


async def test_a_close_reason_is_checked_before_the_ticket_closes(bot, discord_fake):
    alice, sam = discord_fake.add_user("alice"), discord_fake.staff("sam")
    await discord_fake.command(alice, "support new", {"subject": "Help"})
    [thread] = discord_fake.created_threads()
    reply = await discord_fake.command(sam, "support close", {"reason": "done\x00"},
                                       channel_id=int(thread["id"]))
    assert "reason contains a NUL character" in reply.content
    assert (await SupportTicket.get()).status == "open"


async def test_transcript_lines_are_cleaned_not_refused(bot, discord_fake):
    """What people write in a ticket thread is recorded whatever it holds, like an SMS a
    provider sends us: the transcript keeps the text, without what cannot be stored."""
    alice = discord_fake.add_user("alice")
    await discord_fake.command(alice, "support new", {"subject": "Help"})
    [thread] = discord_fake.created_threads()
    await discord_fake.push_message(alice, "still\x00 broken\x1b", channel_id=int(thread["id"]))

    async def recorded() -> list[str]:
        return list(await SupportTicketMessage.all().values_list("content", flat=True))

    assert await eventually(recorded, what="the transcript line") == ["still broken"]


async def test_every_free_text_option_goes_through_the_text_rule(bot):
    """A static guard over the running bot's commands: a new command with a plain ``str``
    option fails here."""
    checked, loose = [], []
    for command in bot.tree.walk_commands():
        if isinstance(command, app_commands.Group):
            continue
        # discord.py keeps each option's annotation (the transformer) on the private
        # CommandParameter; the public Parameter does not show it.
        for param in command._params.values():
            if param.type is not AppCommandOptionType.string or param.choices:
                continue
            name = f"/{command.qualified_name} {param.name}"
            (checked if isinstance(param._annotation, TextOption) else loose).append(name)
    assert loose == []
    assert {"/support new subject", "/support close reason", "/sms link api_key"} <= set(
        checked)
