"""The fake Discord itself, and the bot's life on it: start, sync, reconnect, owner sync."""

from __future__ import annotations

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands
from discord.http import Route

from tests.discord_fake import FakeDiscord
from tests.discord_fake.fixtures import assert_only_known_routes, running_bot
from tests.discord_fake.gateway import IDENTIFY, RESUME


async def test_bot_starts_syncs_its_commands_to_the_guild(bot, discord_fake):
    identify = discord_fake.gateway_log.ops(IDENTIFY)[0]["d"]
    assert identify["token"] == FakeDiscord.TOKEN
    assert identify["intents"] & discord.Intents(message_content=True).value
    [sync] = discord_fake.find_requests("PUT", "/commands")
    assert sync.path == (f"/applications/{FakeDiscord.APP_ID}/guilds/"
                         f"{FakeDiscord.GUILD_ID}/commands")
    synced = {c["name"]: c for c in discord_fake.commands[FakeDiscord.GUILD_ID]}
    assert set(synced) == {"sms", "support", "server", "alerts", "report", "campaign"}
    assert {o["name"] for o in synced["sms"]["options"]} == {
        "ping", "status", "link", "unlink", "whoami", "usage", "balance"}
    [usage] = [o for o in synced["sms"]["options"] if o["name"] == "usage"]
    [period] = usage["options"]
    assert (period["name"], period.get("required", False)) == ("period", False)
    assert [c["value"] for c in period["choices"]] == ["today", "week", "month", "all"]
    assert {o["name"] for o in synced["support"]["options"]} == {
        "new", "list", "queue", "claim", "assign", "priority", "close", "reopen"}
    assert discord_fake.commands.get(None) is None  # nothing global
    assert bot.get_guild(FakeDiscord.GUILD_ID).name == "Trackly HQ"


async def test_fake_answers_exact_json_and_records_unknown_routes(discord_fake):
    async with aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bot {FakeDiscord.TOKEN}"}
        async with http.get(discord_fake.api_base + "/users/@me", headers=auth) as resp:
            assert resp.headers["Content-Type"] == "application/json"  # no charset
            assert (await resp.json())["id"] == str(FakeDiscord.BOT_ID)
        async with http.get(discord_fake.api_base + "/users/@me") as resp:
            assert resp.status == 401
        async with http.post(discord_fake.api_base + "/guilds/1/bans/2", headers=auth,
                             json={"reason": "x"}) as resp:
            assert resp.status == 404
        async with http.delete(discord_fake.api_base + f"/channels/"
                               f"{FakeDiscord.GENERAL_CHANNEL_ID}", headers=auth) as resp:
            assert resp.status == 404  # known path, unknown method: unknown too
    assert [(r.method, r.path) for r in discord_fake.unknown_requests] == [
        ("POST", "/guilds/1/bans/2"), ("DELETE", f"/channels/{FakeDiscord.GENERAL_CHANNEL_ID}")]
    assert discord_fake.unknown_requests[0].body == {"reason": "x"}


async def test_a_wrong_token_cannot_log_in(services, discord_fake):
    discord_fake.token = "another-token"
    with pytest.raises(discord.LoginFailure):
        async with running_bot(services, discord_fake):
            pass  # pragma: no cover


async def test_gateway_reconnect_resumes_and_replays_what_was_missed(bot, discord_fake):
    alice = discord_fake.add_user("alice")
    assert "Pong" in (await discord_fake.command(alice, "sms ping")).text
    session, seq = discord_fake.session.id, discord_fake.session.seq

    await discord_fake.reconnect()
    await discord_fake.wait_until(lambda: not discord_fake.bot_connected,
                                  what="the bot to drop the old connection")
    # Sent while the bot is away: Discord keeps it and replays it on RESUME.
    missed = await discord_fake.push_interaction(alice, "sms ping")
    await discord_fake.wait_until(lambda: discord_fake.gateway_log.resumes,
                                  what="a RESUME")
    assert "Pong" in (await missed.wait()).text

    log = discord_fake.gateway_log
    assert log.identifies == 1  # resumed, not a new session
    assert log.connections == ["/gateway", "/gateway-resume"]
    [resume] = log.ops(RESUME)
    assert (resume["d"]["session_id"], resume["d"]["seq"]) == (session, seq)
    after = await discord_fake.command(alice, "sms ping")
    assert after.ephemeral and "Pong" in after.text


async def test_owner_syncs_commands_by_mention_and_others_cannot(bot, discord_fake):
    stranger = discord_fake.add_user("stranger")
    before = len(discord_fake.find_requests("PUT", "/commands"))
    mention = f"<@{FakeDiscord.BOT_ID}>"

    await discord_fake.push_message(stranger, f"{mention} sync")
    refused = await discord_fake.wait_until(
        lambda: [m for m in discord_fake.bot_messages(FakeDiscord.GENERAL_CHANNEL_ID)
                 if "owners" in m["content"]], what="the refusal")
    assert refused[0]["content"] == "Only the bot's owners can do that."
    assert len(discord_fake.find_requests("PUT", "/commands")) == before

    await discord_fake.push_message(discord_fake.owner, f"{mention} sync")
    done = await discord_fake.wait_until(
        lambda: [m for m in discord_fake.bot_messages(FakeDiscord.GENERAL_CHANNEL_ID)
                 if m["content"].startswith("Synced")], what="the sync reply")
    assert done[0]["content"] == f"Synced 6 command(s) to guild {FakeDiscord.GUILD_ID}."
    assert len(discord_fake.find_requests("PUT", "/commands")) == before + 1

    await discord_fake.push_message(stranger, f"{mention} dance")  # chatter: ignored
    await discord_fake.command(stranger, "sms ping")  # the bot has moved on past it
    assert not [m for m in discord_fake.bot_messages(FakeDiscord.GENERAL_CHANNEL_ID)
                if "dance" in m["content"]]


class Playground(commands.Cog):
    """Test-only commands exercising what later features use: buttons, autocomplete."""

    class Confirm(discord.ui.View):
        @discord.ui.button(label="Launch", style=discord.ButtonStyle.danger)
        async def launch(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
            await interaction.response.edit_message(content="Launched.", view=None)

    @app_commands.command(name="playground", description="test only")
    async def playground(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Launch the campaign?", view=self.Confirm(),
                                                ephemeral=True)

    @app_commands.command(name="fruit", description="test only")
    async def fruit(self, interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(f"You chose {name}.")

    @fruit.autocomplete("name")
    async def fruit_names(self, interaction: discord.Interaction, typed: str
                          ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f, value=f) for f in ("apple", "apricot", "banana")
                if f.startswith(typed)]


async def test_buttons_and_autocomplete_work_through_the_fake(bot, discord_fake):
    await bot.add_cog(Playground())
    await bot.sync_commands()
    alice = discord_fake.add_user("alice")

    ask = await discord_fake.command(alice, "playground")
    assert ask.ephemeral and ask.content == "Launch the campaign?"
    click = await discord_fake.click(alice, ask.message, "Launch")
    assert click.response_type == 7
    assert ask.message["content"] == "Launched." and ask.message["components"] == []

    choices = await discord_fake.autocomplete(alice, "fruit", {"name": "ap"}, "name")
    assert [c["value"] for c in choices] == ["apple", "apricot"]
    public = await discord_fake.command(alice, "fruit", {"name": "apple"})
    assert not public.ephemeral
    assert discord_fake.channel_messages(FakeDiscord.GENERAL_CHANNEL_ID)[-1]["content"] == (
        "You chose apple.")


async def test_guild_commands_are_not_in_dms_but_global_ones_are(bot, discord_fake):
    alice = discord_fake.add_user("alice")
    with pytest.raises(AssertionError, match="DMs see only global commands"):
        await discord_fake.push_interaction(alice, "sms ping", dm=True)
    await bot.tree.sync()  # what a bot without DISCORD_GUILD_ID does
    reply = await discord_fake.command(alice, "sms ping", dm=True)
    assert reply.ephemeral and reply.content.startswith("Pong!")
    assert "guild_id" not in reply.payload and reply.payload["user"]["id"] == str(alice.id)


async def test_a_bot_using_an_unknown_route_fails_the_test(bot, discord_fake):
    with pytest.raises(discord.NotFound):
        await bot.http.request(Route("GET", "/guilds/{guild_id}/bans",
                                     guild_id=FakeDiscord.GUILD_ID))
    with pytest.raises(AssertionError, match=r"GET /guilds/\d+/bans"):
        assert_only_known_routes(discord_fake)
    discord_fake.expected_unknown.append(f"/guilds/{FakeDiscord.GUILD_ID}/bans")
    assert_only_known_routes(discord_fake)  # a test that expects it says so
