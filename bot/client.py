"""The bot, built by the composition root with the core services."""

from __future__ import annotations

import logging
from importlib import metadata
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.charts import ChartWorker
from bot.checks import application_owners
from bot.errors import handle_app_command_error
from bot.logs import install_key_redaction
from bot.notifier import Notifier
from bot.summaries import SummaryPoster
from core.clock import Clock
from core.ids import reference_id
from core.services import Services

log = logging.getLogger(__name__)


class TracklyTree(app_commands.CommandTree["TracklyBot"]):
    async def on_error(self, interaction: discord.Interaction,
                       error: app_commands.AppCommandError) -> None:
        await handle_app_command_error(interaction, error)


class TracklyBot(commands.Bot):
    def __init__(self, services: Services, **options: Any) -> None:
        intents = discord.Intents.default()
        intents.message_content = True  # ticket transcripts and the leaked-key guard
        intents.members = False
        owners = set(services.settings.discord_owner_ids)
        if owners:
            options.setdefault("owner_ids", owners)
        super().__init__(
            command_prefix=commands.when_mentioned, intents=intents, tree_cls=TracklyTree,
            help_command=None,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True,
                                                     replied_user=False),
            **options)
        self.services = services
        self.notifier = Notifier(self)
        self.charts = ChartWorker()
        self.summaries = SummaryPoster(self)

    @property
    def clock(self) -> Clock:
        """The one clock: FakeClock in tests, so support hours can be 22:00 on a Tuesday."""
        return self.services.clock

    @property
    def version(self) -> str:
        try:
            trackly = metadata.version("trackly")
        except metadata.PackageNotFoundError:  # running from a source tree
            trackly = "unknown"
        return f"trackly {trackly} · discord.py {discord.__version__}"

    @property
    def gateway_connected(self) -> bool:
        return self.ws is not None and self.ws.open and not self.is_closed()

    @property
    def sync_scope(self) -> str:
        guild_id = self.services.settings.discord_guild_id
        return f"guild {guild_id}" if guild_id else "every server (global)"

    async def setup_hook(self) -> None:
        from bot.cogs.admin import AdminCog
        from bot.cogs.alerts import AlertsCog
        from bot.cogs.campaigns import CampaignCog
        from bot.cogs.reports import ReportCog
        from bot.cogs.server import ServerCog
        from bot.cogs.sms import SmsCog
        from bot.cogs.support import SupportCog

        install_key_redaction()
        if not self.owner_ids and self.application is not None:
            # DISCORD_OWNER_IDS unset: login has fetched the application, and is_staff
            # reads the owners synchronously, so settle them before any command arrives.
            self.owner_ids = application_owners(self.application)
        for cog in (SmsCog(self), SupportCog(self), AdminCog(self), ServerCog(self),
                    AlertsCog(self), ReportCog(self), CampaignCog(self)):
            await self.add_cog(cog)
        self.notifier.start()  # waits for READY, then delivers what waited while away
        self.summaries.start()
        try:
            synced = await self.sync_commands()
        except discord.HTTPException as exc:  # keep running on the last synced commands
            log.error("could not sync slash commands (%s %s); an owner can retry with "
                      "@bot sync", exc.status, exc.text)
        else:
            log.info("synced %d slash command(s) to %s", len(synced), self.sync_scope)

    async def close(self) -> None:
        await self.notifier.stop()
        await self.summaries.stop()
        await super().close()
        self.charts.close()

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        """Register the slash commands: in the configured guild (instant), else globally."""
        guild_id = self.services.settings.discord_guild_id
        if guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            return await self.tree.sync(guild=guild)
        return await self.tree.sync()

    async def on_ready(self) -> None:
        log.info("bot connected as %s to %d guild(s)", self.user, len(self.guilds))

    async def on_command_error(self, ctx: commands.Context[Any],  # type: ignore[override]
                               error: commands.CommandError) -> None:
        """Mention commands (owner maintenance). Unknown ones are chatter: ignored."""
        if isinstance(error, commands.CommandNotFound):
            return
        if isinstance(error, commands.CheckFailure):
            await ctx.reply("Only the bot's owners can do that.", mention_author=False)
            return
        if isinstance(error, commands.UserInputError):
            await ctx.reply("That command does not take those arguments.",
                            mention_author=False)
            return
        ref = reference_id()
        cause = getattr(error, "original", error)
        log.error("mention command %s failed (ref %s)", ctx.command, ref,
                  exc_info=(type(cause), cause, cause.__traceback__))
        await ctx.reply(f"That failed on our side (reference `{ref}`).", mention_author=False)


def build_bot(services: Services, **options: Any) -> TracklyBot:
    return TracklyBot(services, **options)
