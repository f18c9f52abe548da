"""Posting each account's daily summary to its report channel when core says it is due."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord

from bot.polling import BackgroundLoop
from bot.render import reports as render
from core.reports.daily import DueSummary

if TYPE_CHECKING:
    from bot.client import TracklyBot

log = logging.getLogger(__name__)


class SummaryPoster(BackgroundLoop):
    task_name = "daily summaries"

    def __init__(self, bot: TracklyBot) -> None:
        self.bot = bot
        self.summaries = bot.services.daily_summaries
        self.poll = bot.services.settings.discord_alert_poll_seconds
        super().__init__()

    async def _run(self) -> None:
        await self.bot.wait_until_ready()
        while not self.bot.is_closed():
            try:
                for due in await self.summaries.claim_due():
                    await self._post(due)
            except Exception:
                log.exception("daily summary round failed")
            await asyncio.sleep(self.poll)

    async def _post(self, due: DueSummary) -> None:
        png = await self.bot.charts.png(render.chart_of(due.week, due.week_report, "day"))
        channel = self.bot.get_partial_messageable(due.channel_id)
        try:
            await channel.send(embed=render.report_embed(due.period, due.report, "day",
                                                         title="Daily summary"),
                               file=render.chart_file(png))
        except discord.HTTPException as exc:
            log.warning("daily summary for account %s not posted to channel %s: %s %s",
                        due.account_id, due.channel_id, exc.status, exc.text)
