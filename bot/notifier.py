"""Posting core's notifications to each account's channels, exactly once.

Core claims (in severity order, settling mutes and the rest); the bot posts with the
notification's marker in the footer and a nonce, then marks. A claim that was tried
before (the bot died between post and mark, or the answer never came) first looks for
the marker among the channel's recent messages: found, it is marked without a repost."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord

from bot.polling import BackgroundLoop
from bot.render.alerts import alert_embed
from core.notifications.delivery import Delivery

if TYPE_CHECKING:
    from bot.client import TracklyBot

log = logging.getLogger(__name__)
HISTORY_LOOKBACK = 50  # messages of the channel searched for a retried alert's marker


class Notifier(BackgroundLoop):
    task_name = "alert notifier"

    def __init__(self, bot: TracklyBot) -> None:
        self.bot = bot
        self.delivery = bot.services.alert_delivery
        self.poll = bot.services.settings.discord_alert_poll_seconds
        super().__init__()

    async def _run(self) -> None:
        await self.bot.wait_until_ready()
        while not self.bot.is_closed():
            try:
                posted = await self.deliver_once()
            except Exception:  # the database blinked: try again next round
                log.exception("alert delivery round failed")
                posted = 0
            if not posted:
                await asyncio.sleep(self.poll)

    async def deliver_once(self) -> int:
        """One round: claim, post, mark. Returns how many were handled."""
        batch = await self.delivery.claim()
        for item in batch:
            await self._deliver(item)
        return len(batch)

    async def _deliver(self, item: Delivery) -> None:
        channel = self.bot.get_partial_messageable(item.channel_id)
        try:
            if item.retry and (found := await self._already_posted(channel, item)):
                log.info("notification %s was posted before (message %s); marked",
                         item.notification.id, found)
                await self.delivery.mark_delivered(item, found)
                return
            message = await channel.send(embed=alert_embed(item.notification, item.marker),
                                         nonce=f"ta{item.notification.id}")
        except (discord.NotFound, discord.Forbidden) as exc:
            log.warning("notification %s cannot go to channel %s: %s", item.notification.id,
                        item.channel_id, exc.text)
            await self.delivery.mark_undeliverable(item, "channel_unavailable")
            return
        except discord.HTTPException as exc:
            log.warning("notification %s not posted yet (%s); will retry",
                        item.notification.id, exc.status)
            await self.delivery.release(item)
            return
        await self.delivery.mark_delivered(item, message.id)

    async def _already_posted(self, channel: discord.PartialMessageable,
                              item: Delivery) -> int | None:
        me = self.bot.user
        async for message in channel.history(limit=HISTORY_LOOKBACK):
            if me is not None and message.author.id != me.id:
                continue
            if any(item.marker in (embed.footer.text or "") for embed in message.embeds):
                return message.id
        return None
