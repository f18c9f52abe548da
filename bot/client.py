"""The bot, built by the composition root with the core services."""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from core.services import Services

log = logging.getLogger(__name__)


class TracklyBot(commands.Bot):
    def __init__(self, services: Services, **options: object) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        intents.members = False
        super().__init__(command_prefix=commands.when_mentioned, intents=intents,
                         **options)  # type: ignore[arg-type]
        self.services = services

    async def setup_hook(self) -> None:
        guild_id = self.services.settings.discord_guild_id
        if guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)

    async def on_ready(self) -> None:
        log.info("bot connected as %s to %d guild(s)", self.user, len(self.guilds))


def build_bot(services: Services, **options: object) -> TracklyBot:
    return TracklyBot(services, **options)
