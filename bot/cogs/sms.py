"""/sms: ping, status, link, unlink, whoami, usage, balance; and the guard against keys
posted in public."""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import actor_of, linked
from bot.options import TextOption
from bot.render import billing as render_billing
from bot.render import sms as render
from bot.replies import thinking
from core.redaction import contains_api_key

if TYPE_CHECKING:
    from bot.client import TracklyBot

log = logging.getLogger(__name__)

ApiKeyOption = app_commands.Transform[str, TextOption("api_key", max_length=200)]
UsagePeriod = Literal["today", "week", "month", "all"]  # core.billing.service.PERIODS
GUARD_MEMORY = 1000  # recent messages already flagged, so one leak gets one notice


class SmsCog(commands.GroupCog, group_name="sms", group_description="Your Trackly account"):
    def __init__(self, bot: TracklyBot) -> None:
        self.bot = bot
        self.services = bot.services
        self._flagged: deque[int] = deque(maxlen=GUARD_MEMORY)
        super().__init__()

    @app_commands.command(name="ping", description="Gateway latency and database health")
    async def ping(self, interaction: discord.Interaction) -> None:
        await thinking(interaction)
        db = await self.services.system.database_health()
        await interaction.edit_original_response(content=render.pong(self.bot.latency, db))

    @app_commands.command(name="status", description="Database, gateway, scheduler, version")
    async def status(self, interaction: discord.Interaction) -> None:
        await thinking(interaction)
        db = await self.services.system.database_health()
        beats = await self.services.system.heartbeats()
        embed = render.status_embed(
            db=db, latency=self.bot.latency, connected=self.bot.gateway_connected,
            scheduler=beats.get("scheduler"), now=self.services.clock.now(),
            version=self.bot.version)
        await interaction.edit_original_response(embed=embed)

    @app_commands.command(name="link", description="Link Discord to your Trackly account")
    @app_commands.describe(api_key="A Trackly API key (trk_...). Only you and Trackly see it.")
    async def link(self, interaction: discord.Interaction,
                   api_key: ApiKeyOption) -> None:
        await thinking(interaction)
        result = await self.services.discord_links.link(
            interaction.user.id, interaction.user.name, api_key)
        await interaction.edit_original_response(embed=render.linked_embed(result))

    @app_commands.command(name="unlink", description="Unlink Discord from your account")
    async def unlink(self, interaction: discord.Interaction) -> None:
        await thinking(interaction)
        account = await self.services.discord_links.unlink(interaction.user.id)
        await interaction.edit_original_response(content=render.unlinked_text(account.name))

    @app_commands.command(name="whoami", description="Your account, role and link date")
    @linked()
    async def whoami(self, interaction: discord.Interaction) -> None:
        await thinking(interaction)
        link = await self.services.discord_links.whoami(actor_of(interaction))
        await interaction.edit_original_response(embed=render.whoami_embed(link))

    @app_commands.command(name="usage", description="Messages and segments sent, and their "
                                                    "cost at list price")
    @app_commands.describe(period="today and month are UTC; week is the last 7 days "
                                  "(default: month)")
    @linked()
    async def usage(self, interaction: discord.Interaction,
                    period: UsagePeriod = "month") -> None:
        await thinking(interaction)
        summary = await self.services.billing.usage(actor_of(interaction), period)
        await interaction.edit_original_response(embed=render_billing.usage_embed(summary))

    @app_commands.command(name="balance", description="What you owe, unbilled usage, the "
                                                      "spend cap and any billing hold")
    @linked()
    async def balance(self, interaction: discord.Interaction) -> None:
        await thinking(interaction)
        balance = await self.services.billing.balance(actor_of(interaction))
        await interaction.edit_original_response(embed=render_billing.balance_embed(
            balance, now=self.services.clock.now()))

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A key pasted into a server channel is public: delete it, tell them to revoke."""
        await self._guard(message)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """A key edited into a message is just as public as one posted with it."""
        await self._guard(payload.message)

    async def _guard(self, message: discord.Message) -> None:
        if message.author.bot or message.guild is None:
            return
        if not contains_api_key(message.content) or message.id in self._flagged:
            return
        self._flagged.append(message.id)
        try:
            await message.delete()
            deleted = True
        except discord.HTTPException:
            deleted = False
        log.warning("discord user %s posted an API key in channel %s (deleted: %s)",
                    message.author.id, message.channel.id, deleted)
        await message.channel.send(
            render.leaked_key_notice(message.author, deleted=deleted),
            allowed_mentions=discord.AllowedMentions(users=[message.author]))
