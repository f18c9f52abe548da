"""/alerts: where this server's alerts go, how loud they are, mutes and status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import actor_of, linked
from bot.render import alerts as render
from bot.replies import thinking
from core.notifications.preferences import KINDS, AlertChanges

if TYPE_CHECKING:
    from bot.client import TracklyBot

SeverityChoice = Literal["low", "medium", "high", "critical"]
KIND_CHOICES = [app_commands.Choice(name=k, value=k) for k in KINDS]


@app_commands.guild_only()
class AlertsCog(commands.GroupCog, group_name="alerts",
                group_description="Alerts from Trackly in this server"):
    def __init__(self, bot: TracklyBot) -> None:
        self.bot = bot
        self.services = bot.services
        super().__init__()

    @app_commands.command(name="configure", description="Channel, minimum severity, kinds, "
                                                        "relayed replies")
    @app_commands.describe(channel="Where alerts go", min_severity="Quieter alerts are not "
                           "posted", enable="Turn a kind of alert on", disable="Turn a kind "
                           "of alert off", replies="Relay inbound SMS replies to this channel",
                           relay_replies="False stops relaying replies")
    @app_commands.choices(enable=KIND_CHOICES, disable=KIND_CHOICES)
    @linked()
    async def configure(self, interaction: discord.Interaction,
                        channel: app_commands.AppCommandChannel | None = None,
                        min_severity: SeverityChoice | None = None,
                        enable: app_commands.Choice[str] | None = None,
                        disable: app_commands.Choice[str] | None = None,
                        replies: app_commands.AppCommandChannel | None = None,
                        relay_replies: bool | None = None) -> None:
        await thinking(interaction)
        changes = AlertChanges(
            channel_id=channel.id if channel else None, min_severity=min_severity,
            enable=(enable.value,) if enable else (), disable=(disable.value,) if disable
            else (), reply_channel_id=replies.id if replies else None,
            relay_replies=relay_replies)
        server = await self.services.alert_preferences.configure(
            actor_of(interaction), interaction.guild_id or 0, changes)
        await interaction.edit_original_response(embed=render.configured_embed(server))

    @app_commands.command(name="mute", description="Mute alerts for a while (critical ones "
                                                   "still come)")
    @linked()
    async def mute(self, interaction: discord.Interaction,
                   duration: Literal["30m", "2h", "1d"]) -> None:
        await thinking(interaction)
        server = await self.services.alert_preferences.mute(
            actor_of(interaction), interaction.guild_id or 0, duration)
        await interaction.edit_original_response(content=render.muted_text(server))

    @app_commands.command(name="unmute", description="Post alerts again")
    @linked()
    async def unmute(self, interaction: discord.Interaction) -> None:
        await thinking(interaction)
        await self.services.alert_preferences.unmute(actor_of(interaction),
                                                     interaction.guild_id or 0)
        await interaction.edit_original_response(content=render.unmuted_text())

    @app_commands.command(name="status", description="Settings, mute, open alerts")
    @linked()
    async def status(self, interaction: discord.Interaction) -> None:
        await thinking(interaction)
        status = await self.services.alert_preferences.status(actor_of(interaction),
                                                              interaction.guild_id or 0)
        await interaction.edit_original_response(embed=render.status_embed(status))
