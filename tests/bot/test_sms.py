"""/sms through the fake Discord: what the user sees, and what the database holds."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from tortoise.connection import get_connection

from core.accounts.models import AccountStatus, DiscordLink
from core.permissions import Actor, Role
from tests.discord_fake import FakeDiscord
from tests.discord_fake.fixtures import link_user
from tests.factories import make_tenant


@pytest.fixture
async def tenant(services):
    return await make_tenant(services)


async def test_ping_shows_gateway_latency_and_database(bot, discord_fake):
    reply = await discord_fake.command(discord_fake.add_user("alice"), "sms ping")
    assert reply.deferred and reply.ephemeral
    assert re.fullmatch(r"Pong! Gateway \d+ ms · database ok \((sqlite|postgres), "
                        r"[\d.]+ ms\)\.", reply.content)


async def test_status_reports_database_gateway_scheduler_and_version(bot, discord_fake,
                                                                     services, clock):
    alice = discord_fake.add_user("alice")
    reply = await discord_fake.command(alice, "sms status")
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    assert reply.ephemeral
    assert fields["Database"].startswith("ok (")
    assert fields["Gateway"].startswith("connected, ")
    assert fields["Scheduler"] == "not running (never seen)"
    assert fields["Version"].startswith("trackly 0.1.0 · discord.py 2.7.1")
    assert reply.embeds[0]["description"] == "Something needs attention."

    await services.system.beat("scheduler", pid=1)
    clock.advance(seconds=20)
    fields = {f["name"]: f["value"]
              for f in (await discord_fake.command(alice, "sms status")).embeds[0]["fields"]}
    assert fields["Scheduler"] == "running (last beat 20s ago)"

    clock.advance(minutes=5)
    reply = await discord_fake.command(alice, "sms status")
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    assert fields["Scheduler"].startswith("stale: last seen 5m ago")


async def test_link_with_a_valid_key_links_privately_and_the_key_goes_nowhere(
        bot, discord_fake, services, tenant, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, discord.* included
    key = tenant.keys[Role.MEMBER]
    alice = discord_fake.add_user("alice")

    reply = await discord_fake.command(alice, "sms link", {"api_key": key})

    assert reply.ephemeral
    embed = reply.embeds[0]
    assert embed["title"] == "Linked"
    assert embed["description"] == "You now act in **Acme Deals** as **member**."
    assert key not in reply.text and key[:12] in reply.text  # the visible prefix only
    link = await DiscordLink.get(discord_user_id=alice.id)
    assert (link.account_id, link.role, link.discord_username) == (
        tenant.account.id, Role.MEMBER, "alice")

    # The key was in the user's own interaction, and nowhere else.
    assert any(key in str(event["d"]) for event in discord_fake.session.history)
    assert discord_fake.requests_containing(key) == []
    assert discord_fake.frames_containing(key) == []
    assert caplog.records, "debug logging was captured"
    assert not [r for r in caplog.records if key in r.getMessage()]
    assert key not in caplog.text
    gateway_lines = [r.getMessage() for r in caplog.records if r.name == "discord.gateway"
                     and "INTERACTION_CREATE" in r.getMessage()]
    assert gateway_lines and all("'name': 'api_key', 'type': 3, 'value': '[redacted]'" in line
                                 for line in gateway_lines)


@pytest.mark.parametrize(("make_key", "expected"), [
    (lambda t: t.keys[Role.MEMBER][:-1], "The API key is malformed"),  # a character short
    (lambda t: t.keys[Role.MEMBER] + "-x", "The API key is malformed"),  # pasted with junk
    (lambda t: "trk_short", "The API key is malformed"),
    (lambda t: "trk_" + "x" * 32, "The API key is unknown or revoked."),
    (lambda t: t.revoked, "The API key is unknown or revoked."),
])
async def test_link_refuses_malformed_unknown_and_revoked_keys(
        bot, discord_fake, services, tenant, caplog, make_key, expected):
    caplog.set_level(logging.DEBUG)
    key, raw = await services.accounts.create_api_key(tenant.owner, role=Role.OWNER)
    await services.accounts.revoke_api_key(tenant.owner, key.id)
    tenant.revoked = raw
    secret = make_key(tenant)
    alice = discord_fake.add_user("alice")

    reply = await discord_fake.command(alice, "sms link", {"api_key": secret})

    assert reply.ephemeral and reply.content.startswith(expected)
    assert await DiscordLink.all().count() == 0
    assert secret not in caplog.text
    assert discord_fake.requests_containing(secret) == []


async def test_relink_moves_the_link_and_unlink_removes_it(bot, discord_fake, services,
                                                            tenant):
    other = await make_tenant(services, "Other Co", "o@other.test")
    alice = discord_fake.add_user("alice")
    await link_user(services, alice, tenant.keys[Role.VIEWER])

    reply = await discord_fake.command(alice, "sms link",
                                       {"api_key": other.keys[Role.OWNER]})
    assert reply.embeds[0]["title"] == "Relinked"
    assert "**Other Co** as **owner**" in reply.text
    assert await DiscordLink.filter(discord_user_id=alice.id).count() == 1

    bye = await discord_fake.command(alice, "sms unlink")
    assert bye.ephemeral and bye.content.startswith("Unlinked from **Other Co**.")
    assert await DiscordLink.all().count() == 0
    again = await discord_fake.command(alice, "sms unlink")
    assert again.content == ("You are not linked to a Trackly account. To link one, use "
                             "`/sms link <api_key>` (the reply is private).")


async def test_whoami_shows_account_role_and_link_date(bot, discord_fake, services, tenant,
                                                       clock):
    alice = discord_fake.add_user("alice")
    linked_at = clock.now()
    await link_user(services, alice, tenant.keys[Role.VIEWER])
    clock.advance(days=3)
    reply = await discord_fake.command(alice, "sms whoami")
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    assert reply.ephemeral
    assert fields["Account"] == f"Acme Deals (#{tenant.account.id})"
    assert fields["Role"] == "viewer"
    assert fields["Linked since"] == f"<t:{int(linked_at.timestamp())}:F>"
    assert fields["Key"].startswith("viewer key (`trk_")


async def test_unlinked_user_is_told_how_to_link(bot, discord_fake):
    reply = await discord_fake.command(discord_fake.add_user("alice"), "sms whoami")
    assert reply.ephemeral and not reply.deferred  # refused before the command ran
    assert reply.content == ("You are not linked to a Trackly account. To link one, use "
                             "`/sms link <api_key>` (the reply is private).")


async def test_revoking_the_linked_key_or_suspending_the_account_stops_the_link(
        bot, discord_fake, services, tenant):
    alice = discord_fake.add_user("alice")
    result = await link_user(services, alice, tenant.keys[Role.MEMBER])
    await services.accounts.set_status(tenant.account.id, AccountStatus.SUSPENDED)
    reply = await discord_fake.command(alice, "sms whoami")
    assert reply.content == ("This account is suspended. Nothing is sent while it is; to ask "
                             "why, open a ticket with `/support new`.")

    await services.accounts.set_status(tenant.account.id, AccountStatus.ACTIVE)
    await services.accounts.revoke_api_key(Actor.system(tenant.account.id),
                                           result.link.api_key_id)
    reply = await discord_fake.command(alice, "sms whoami")
    assert reply.content == ("The API key you linked with was revoked. Link again with "
                             "`/sms link <api_key>`.")


async def test_a_key_posted_in_a_channel_is_deleted_and_the_user_told_to_revoke(
        bot, discord_fake, tenant, caplog):
    caplog.set_level(logging.DEBUG)
    key = tenant.keys[Role.OWNER]
    alice = discord_fake.add_user("alice")
    posted = await discord_fake.push_message(alice, f"/sms link {key}")

    notice = await discord_fake.wait_until(
        lambda: discord_fake.bot_messages(FakeDiscord.GENERAL_CHANNEL_ID),
        what="the bot's warning")
    assert notice[0]["content"].startswith(f"<@{alice.id}> that message contained a "
                                           "Trackly API key, so I deleted it.")
    assert "**revoke that key now**" in notice[0]["content"]
    assert [u["id"] for u in notice[0]["mentions"]] == [str(alice.id)]
    [delete] = discord_fake.find_requests("DELETE", "/messages/")
    assert delete.path == f"/channels/{FakeDiscord.GENERAL_CHANNEL_ID}/messages/{posted['id']}"
    assert posted not in discord_fake.channel_messages(FakeDiscord.GENERAL_CHANNEL_ID)
    assert discord_fake.requests_containing(key) == []
    assert key not in caplog.text


async def test_last_used_is_recorded_when_linking(bot, discord_fake, services, tenant, clock):
    alice = discord_fake.add_user("alice")
    await discord_fake.command(alice, "sms link", {"api_key": tenant.keys[Role.MEMBER]})
    link = await DiscordLink.get(discord_user_id=alice.id).prefetch_related("api_key")
    assert link.api_key.last_used_at == clock.now()
    assert link.linked_at == clock.now()
    assert clock.now() - link.linked_at < dt.timedelta(seconds=1)


@pytest.mark.parametrize("seen_first", [True, False])
async def test_a_key_edited_into_a_message_is_deleted_too(bot, discord_fake, tenant, caplog,
                                                          seen_first):
    caplog.set_level(logging.DEBUG)
    key = tenant.keys[Role.OWNER]
    alice = discord_fake.add_user("alice")
    posted = await discord_fake.push_message(alice, "here is my key, one sec")
    if seen_first:
        await discord_fake.command(alice, "sms ping")  # the bot has read the harmless post
    await discord_fake.edit_message(posted, f"here is my key: {key}")

    notice = await discord_fake.wait_until(
        lambda: discord_fake.bot_messages(FakeDiscord.GENERAL_CHANNEL_ID),
        what="the bot's warning")
    assert notice[0]["content"].startswith(f"<@{alice.id}> that message contained a "
                                           "Trackly API key, so I deleted it.")
    [delete] = discord_fake.find_requests("DELETE", "/messages/")
    assert delete.path == f"/channels/{FakeDiscord.GENERAL_CHANNEL_ID}/messages/{posted['id']}"
    await discord_fake.command(alice, "sms ping")  # the bot has handled every event
    assert len(discord_fake.bot_messages(FakeDiscord.GENERAL_CHANNEL_ID)) == 1  # one notice
    assert discord_fake.requests_containing(key) == []
    assert key not in caplog.text


async def test_a_database_failure_while_checking_the_link_is_answered_with_a_reference(
        bot, discord_fake, services, tenant, caplog):
    alice = discord_fake.add_user("alice")
    await link_user(services, alice, tenant.keys[Role.MEMBER])
    caplog.set_level(logging.ERROR)
    db = get_connection("default")
    await db.execute_script("ALTER TABLE discord_link RENAME TO discord_link_away")
    try:  # the link check, which runs before the command, cannot read the links
        reply = await discord_fake.command(alice, "sms whoami")
    finally:
        await db.execute_script("ALTER TABLE discord_link_away RENAME TO discord_link")
    assert reply.ephemeral and reply.content.startswith("Something went wrong on our side.")
    ref = re.search(r"reference `(\w{10})`", reply.content).group(1)
    [record] = [r for r in caplog.records if ref in r.getMessage()]
    assert record.getMessage().startswith(f"command /sms whoami failed for discord user "
                                          f"{alice.id}")
    assert record.exc_info is not None and record.exc_info[0].__name__ == "OperationalError"
    assert "discord_link" not in reply.content  # internals stay in the log
