"""/server link|show|unlink through the fake Discord: a server and its channels belong to
one account, set by an owner; nobody else's alerts or reports can land there."""

from __future__ import annotations

from core.accounts.models import DiscordServer
from core.permissions import Role
from tests.discord_fake import FakeDiscord
from tests.discord_fake.fixtures import link_user
from tests.factories import make_tenant


def fields(reply) -> dict[str, str]:
    return {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}


async def test_an_owner_links_the_server_and_its_channels(bot, discord_fake, services):
    tenant = await make_tenant(services)
    olivia = discord_fake.add_user("olivia")
    await link_user(services, olivia, tenant.keys[Role.OWNER])
    reports = discord_fake.add_text_channel("reports")

    reply = await discord_fake.command(olivia, "server link", {"reports": reports})

    assert reply.ephemeral, reply.text
    assert reply.embeds[0]["title"] == "Server linked", reply.text
    assert "Acme Deals" in reply.embeds[0]["description"]
    assert fields(reply)["Alerts"] == f"<#{FakeDiscord.GENERAL_CHANNEL_ID}>"
    assert fields(reply)["Reports"] == f"<#{reports}>"
    assert fields(reply)["Replies"] == "not relayed"
    server = await DiscordServer.get(account_id=tenant.account.id)
    assert (server.guild_id, server.alert_channel_id, server.report_channel_id,
            server.reply_channel_id, server.linked_by_discord_id) == (
        FakeDiscord.GUILD_ID, FakeDiscord.GENERAL_CHANNEL_ID, reports, None, olivia.id)

    shown = await discord_fake.command(olivia, "server show")
    assert fields(shown)["Reports"] == f"<#{reports}>"


async def test_members_and_viewers_cannot_link_a_server(bot, discord_fake, services):
    tenant = await make_tenant(services)
    for role in (Role.MEMBER, Role.VIEWER):
        user = discord_fake.add_user(f"u-{role}")
        await link_user(services, user, tenant.keys[role])
        reply = await discord_fake.command(user, "server link")
        assert reply.ephemeral and "does not allow this" in reply.text
    assert not await DiscordServer.exists()


async def test_an_unlinked_user_is_told_to_link(bot, discord_fake, services):
    reply = await discord_fake.command(discord_fake.add_user("stranger"), "server link")
    assert reply.ephemeral
    assert reply.text == ("You are not linked to a Trackly account. To link one, use "
                          "`/sms link <api_key>` (the reply is private).")
    assert not await DiscordServer.exists()


async def test_a_server_linked_to_one_account_refuses_another(bot, discord_fake, services):
    acme = await make_tenant(services)
    rival = await make_tenant(services, "Rival Media", "owner@rival.test")
    olivia, mallory = discord_fake.add_user("olivia"), discord_fake.add_user("mallory")
    await link_user(services, olivia, acme.keys[Role.OWNER])
    await link_user(services, mallory, rival.keys[Role.OWNER])
    await discord_fake.command(olivia, "server link")

    taken = await discord_fake.command(mallory, "server link")
    assert taken.text == "This Discord server is linked to another Trackly account."
    shown = await discord_fake.command(mallory, "server show")
    assert shown.text == "This Discord server belongs to another Trackly account."
    gone = await discord_fake.command(mallory, "server unlink")
    assert gone.text == "This Discord server belongs to another Trackly account."
    assert [(s.account_id, s.guild_id) for s in await DiscordServer.all()] == [
        (acme.account.id, FakeDiscord.GUILD_ID)]


async def test_unlink_forgets_the_server_and_show_says_how_to_link(bot, discord_fake,
                                                                   services):
    tenant = await make_tenant(services)
    olivia = discord_fake.add_user("olivia")
    await link_user(services, olivia, tenant.keys[Role.OWNER])
    await discord_fake.command(olivia, "server link")

    reply = await discord_fake.command(olivia, "server unlink")
    assert reply.text.startswith("This server is no longer linked to **Acme Deals**")
    assert not await DiscordServer.exists()
    shown = await discord_fake.command(olivia, "server show")
    assert shown.text == ("This Discord server is not linked to a Trackly account. An owner "
                          "of the account can link it with `/server link`.")
