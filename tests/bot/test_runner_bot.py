"""``trackly run`` starts the bot when DISCORD_TOKEN is set, and stops it cleanly."""

from __future__ import annotations

import asyncio

from discord.http import Route

from tests.discord_fake import FakeDiscord
from tests.helpers import eventually, free_port
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


async def test_a_bot_that_cannot_reach_discord_at_start_keeps_trying(services, discord_fake,
                                                                    caplog):
    alice = discord_fake.add_user("alice")
    Route.BASE = f"http://127.0.0.1:{free_port()}/api/v10"  # Discord unreachable
    async with bot_component(lambda _: None, retry_first=0.05)(services):
        await eventually(lambda: _logged(caplog, "retrying in"), what="a failed start")
        assert not discord_fake.bot_connected
        Route.BASE = discord_fake.api_base  # Discord is back
        await discord_fake.wait_until(lambda: discord_fake.bot_connected, within=10,
                                      what="the bot to connect on a retry")
        await discord_fake.wait_until(lambda: discord_fake.commands.get(FakeDiscord.GUILD_ID),
                                      within=10, what="the command sync")
        reply = await discord_fake.command(alice, "sms ping")
        assert reply.content.startswith("Pong!")
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "discord-bot"]


async def test_a_refused_token_is_reported_once_and_not_retried(services, discord_fake,
                                                                caplog):
    discord_fake.token = "another-token"
    async with bot_component(lambda _: None, retry_first=0.01)(services):
        await eventually(lambda: _logged(caplog, "Discord refused the token"),
                         what="the refusal")
        bot_tasks = [t for t in asyncio.all_tasks() if t.get_name() == "discord-bot"]
        await eventually(lambda: _all_done(bot_tasks), what="the bot task to give up")
    logins = discord_fake.find_requests("GET", "/users/@me")
    assert len(logins) == 1 and logins[0].status == 401


async def _logged(caplog, text: str) -> bool:
    return any(text in r.getMessage() for r in caplog.records)


async def _all_done(tasks) -> bool:
    return all(t.done() for t in tasks)
