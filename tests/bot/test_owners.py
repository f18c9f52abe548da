"""Who owns the bot: DISCORD_OWNER_IDS, or by default the application's owner (or its
team), as the README says. Owners count as support staff and may ``@Trackly sync``."""

from __future__ import annotations

import pytest

from core.settings import Settings
from tests.discord_fake import FakeDiscord, FakeUser
from tests.discord_fake import payloads as p
from tests.discord_fake.fixtures import assert_only_known_routes, running_bot

REFUSED = "Only the support team can see the queue."


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"discord_owner_ids": []})  # DISCORD_OWNER_IDS unset


async def sees_the_queue(fake: FakeDiscord, user: FakeUser) -> bool:
    reply = await fake.command(user, "support queue")
    assert reply.ephemeral
    if reply.content == REFUSED:
        return False
    assert reply.embeds[0]["title"] == "Support queue", reply.text
    return True


async def syncs(fake: FakeDiscord, user: FakeUser) -> bool:
    """``@Trackly sync`` by ``user``: whether the commands were registered again."""
    before = len(fake.find_requests("PUT", "/commands"))
    answered = len(fake.bot_messages(FakeDiscord.GENERAL_CHANNEL_ID))
    await fake.push_message(user, f"<@{FakeDiscord.BOT_ID}> sync")
    messages = await fake.wait_until(
        lambda: fake.bot_messages(FakeDiscord.GENERAL_CHANNEL_ID)[answered:],
        what="the answer to @bot sync")
    synced = len(fake.find_requests("PUT", "/commands")) == before + 1
    assert synced == messages[0]["content"].startswith("Synced"), messages[0]["content"]
    return synced


async def test_unset_owner_ids_mean_the_application_owner(services, discord_fake):
    stranger = discord_fake.add_user("stranger")
    async with running_bot(services, discord_fake):
        assert await sees_the_queue(discord_fake, discord_fake.owner)
        assert not await sees_the_queue(discord_fake, stranger)
        assert await syncs(discord_fake, discord_fake.owner)
        assert not await syncs(discord_fake, stranger)
    assert_only_known_routes(discord_fake)


async def test_unset_owner_ids_mean_the_owning_teams_owner_admins_and_developers(
        services, discord_fake):
    admin, dev, reader, invited = (discord_fake.add_user(n) for n in (
        "ada", "dev", "reader", "invitee"))
    discord_fake.owned_by_team((admin, p.TEAM_ADMIN, p.TEAM_ACCEPTED),
                               (dev, p.TEAM_DEVELOPER, p.TEAM_ACCEPTED),
                               (reader, p.TEAM_READ_ONLY, p.TEAM_ACCEPTED),
                               (invited, p.TEAM_ADMIN, p.TEAM_INVITED))
    async with running_bot(services, discord_fake):
        for user in (discord_fake.owner, admin, dev):
            assert await sees_the_queue(discord_fake, user), user.name
        for user in (reader, invited):  # may look at the app, not act for it
            assert not await sees_the_queue(discord_fake, user), user.name
        assert await syncs(discord_fake, dev)
        assert not await syncs(discord_fake, reader)
    assert_only_known_routes(discord_fake)


async def test_configured_owner_ids_replace_the_application_owner(services, discord_fake):
    operator = discord_fake.add_user("operator")
    services.settings.discord_owner_ids = [operator.id]
    async with running_bot(services, discord_fake):
        assert await sees_the_queue(discord_fake, operator)
        assert not await sees_the_queue(discord_fake, discord_fake.owner)
    assert_only_known_routes(discord_fake)
