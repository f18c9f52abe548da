"""``trackly run`` starts the bot when DISCORD_TOKEN is set, and stops it cleanly."""

from __future__ import annotations

import asyncio

from tests.discord_fake import FakeDiscord
from trackly.runner import bot_component


async def test_trackly_run_starts_and_stops_the_bot(services, discord_fake):
    said: list[str] = []
    alice = discord_fake.add_user("alice")
    async with bot_component(said.append)(services):
        await discord_fake.wait_until(lambda: discord_fake.commands.get(FakeDiscord.GUILD_ID),
                                      within=10, what="the command sync")
        await discord_fake.wait_until(lambda: discord_fake.bot_connected, what="IDENTIFY")
        reply = await discord_fake.command(alice, "sms ping")
        assert reply.content.startswith("Pong!")
    assert said == ["Discord bot is starting."]
    await discord_fake.wait_until(lambda: not discord_fake.bot_connected,
                                  what="the bot to disconnect")
    assert discord_fake.unknown_requests == []
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "discord-bot"]
