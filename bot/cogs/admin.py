"""Owner-only maintenance, as mention commands (``@Trackly sync``): they must work before
any slash command is registered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord.ext import commands

if TYPE_CHECKING:
    from bot.client import TracklyBot


class AdminCog(commands.Cog):
    def __init__(self, bot: TracklyBot) -> None:
        self.bot = bot

    @commands.command(name="sync", help="Register the slash commands with Discord again.")
    @commands.is_owner()
    async def sync(self, ctx: commands.Context[TracklyBot]) -> None:
        synced = await self.bot.sync_commands()
        await ctx.reply(f"Synced {len(synced)} command(s) to {self.bot.sync_scope}.",
                        mention_author=False)
