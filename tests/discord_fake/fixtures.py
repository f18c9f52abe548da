"""Pytest fixtures for end-to-end bot tests: the real bot, on the real services and test
database, connected to a fresh fake Discord for every test.

Use them from a conftest (``tests/bot/conftest.py`` does)::

    from tests.discord_fake.fixtures import bot, discord_fake, settings  # noqa: F401

and write tests the way a user acts::

    async def test_whoami(bot, discord_fake, services):
        alice = discord_fake.add_user("alice")
        await link_user(services, alice, tenant.keys[Role.MEMBER])
        reply = await discord_fake.command(alice, "sms whoami")
        assert reply.ephemeral and "member" in reply.text

``settings`` extends the root fixture with the fake's guild, channels, roles and owner, so
``services`` (and the bot) see a configured Discord. The ``bot`` fixture fails the test if
the bot used a route the fake does not know (``discord_fake.expected_unknown`` lists path
prefixes a test expects to be 404)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route
from pydantic import SecretStr

from bot.client import TracklyBot, build_bot
from core.accounts.discord_links import LinkResult
from core.clock import FakeClock
from core.services import Services
from core.settings import Settings
from tests.discord_fake.payloads import FakeUser
from tests.discord_fake.server import FakeDiscord

READY_WITHIN = 10.0


def discord_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={
        "discord_token": SecretStr(FakeDiscord.TOKEN),
        "discord_guild_id": FakeDiscord.GUILD_ID,
        "discord_support_channel_id": FakeDiscord.SUPPORT_CHANNEL_ID,
        "discord_support_role_id": FakeDiscord.SUPPORT_ROLE_ID,
        "discord_oncall_role_id": FakeDiscord.ONCALL_ROLE_ID,
        "discord_owner_ids": [FakeDiscord.OWNER_ID],
    })


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return discord_settings(settings)


@contextlib.contextmanager
def discord_pointed_at(fake: FakeDiscord) -> Iterator[None]:
    """discord.py reads its REST root and gateway URL from class attributes."""
    base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = fake.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


@pytest.fixture
async def discord_fake(clock: FakeClock) -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(now=clock.now)
    await fake.start()
    try:
        with discord_pointed_at(fake):
            yield fake
    finally:
        await fake.stop()


@contextlib.asynccontextmanager
async def running_bot(services: Services, fake: FakeDiscord, **options: Any
                      ) -> AsyncIterator[TracklyBot]:
    """Start the bot against ``fake`` and wait until it sees the guild; close it after
    (always before the fake stops)."""
    token = services.settings.discord_token
    assert token is not None, "use the discord settings fixture (DISCORD_TOKEN unset)"
    bot = build_bot(services, guild_ready_timeout=0, **options)
    runner = asyncio.create_task(bot.start(token.get_secret_value()), name="bot under test")
    try:
        ready = asyncio.ensure_future(bot.wait_until_ready())
        done, _ = await asyncio.wait({ready, runner}, timeout=READY_WITHIN,
                                     return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            if runner in done:
                runner.result()  # raises why the bot could not start
            raise AssertionError(f"the bot was not ready within {READY_WITHIN}s")
        await fake.wait_until(lambda: _guild_ready(bot, fake), what="the guild in the cache")
        yield bot
    finally:
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


def _guild_ready(bot: TracklyBot, fake: FakeDiscord) -> bool:
    guild = bot.get_guild(fake.GUILD_ID)
    return guild is not None and guild.get_channel(fake.SUPPORT_CHANNEL_ID) is not None


@pytest.fixture
async def bot(services: Services, discord_fake: FakeDiscord) -> AsyncIterator[TracklyBot]:
    async with running_bot(services, discord_fake) as bot:
        yield bot
    assert_only_known_routes(discord_fake)


def assert_only_known_routes(fake: FakeDiscord) -> None:
    unknown = fake.unknown_requests
    assert not unknown, "the bot used routes the fake does not know: " + ", ".join(
        f"{r.method} {r.path}" for r in unknown)


async def link_user(services: Services, user: FakeUser, raw_key: str) -> LinkResult:
    """Link a fake Discord user to an account, as ``/sms link`` would."""
    return await services.discord_links.link(user.id, user.name, raw_key)
