"""/server: which account this Discord server belongs to, and where alerts and reports go."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import actor_of, linked
from bot.render import server as render
from bot.replies import thinking
from core.accounts.discord_servers import ServerChannels

if TYPE_CHECKING:
    from bot.client import TracklyBot

@app_commands.guild_only()
class ServerCog(commands.GroupCog, group_name="server",
                group_description="Link this Discord server to your Trackly account"):
    def __init__(self, bot: TracklyBot) -> None:
        self.bot = bot
        self.services = bot.services
        super().__init__()

    @app_commands.command(name="link", description="Owners: this server and its channels "
                                                   "belong to your account")
    @app_commands.describe(alerts="Where alerts go (default: this channel)",
                           reports="Where reports and the daily summary go "
                                   "(default: the alerts channel)")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    @linked()
    async def link(self, interaction: discord.Interaction,
                   alerts: app_commands.AppCommandChannel | None = None,
                   reports: app_commands.AppCommandChannel | None = None) -> None:
        await thinking(interaction)
        alert_id = alerts.id if alerts else interaction.channel_id
        channels = ServerChannels(alert_channel_id=alert_id,
                                  report_channel_id=reports.id if reports else alert_id)
        result = await self.services.discord_servers.link(
            actor_of(interaction), interaction.guild_id or 0, channels)
        await interaction.edit_original_response(embed=render.linked_embed(result))

    @app_commands.command(name="show", description="Which account this server belongs to")
    @linked()
    async def show(self, interaction: discord.Interaction) -> None:
        await thinking(interaction)
        server = await self.services.discord_servers.get(actor_of(interaction),
                                                         interaction.guild_id or 0)
        await interaction.edit_original_response(
            embed=render.server_embed(server, title="This server"))

    @app_commands.command(name="summary", description="A daily summary at this hour "
                                                      "(your account's timezone)")
    @app_commands.describe(hour="0-23, local to your account; leave out to turn it off",
                           channel="Where it goes (default: the reports channel)")
    @linked()
    async def summary(self, interaction: discord.Interaction,
                      hour: app_commands.Range[int, 0, 23] | None = None,
                      channel: app_commands.AppCommandChannel | None = None) -> None:
        await thinking(interaction)
        server = await self.services.discord_servers.set_summary(
            actor_of(interaction), interaction.guild_id or 0, hour=hour,
            channel_id=channel.id if channel else None)
        await interaction.edit_original_response(content=render.summary_text(server))

    @app_commands.command(name="unlink", description="Owners: stop sending this account's "
                                                     "alerts and reports here")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    @linked()
    async def unlink(self, interaction: discord.Interaction) -> None:
        await thinking(interaction)
        server = await self.services.discord_servers.unlink(actor_of(interaction),
                                                            interaction.guild_id or 0)
        await interaction.edit_original_response(
            content=render.unlinked_text(server.account.name))
