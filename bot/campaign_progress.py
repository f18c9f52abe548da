"""A launched campaign's progress message: posted in the channel the launch came from and
edited as the run advances (queued, sent, delivered, failed, clicks, revenue), at most
once every ``TRACKLY_DISCORD_PROGRESS_SECONDS`` and only when a number changed, until the
run is over; then it shows the summary.

A channel message rather than the interaction's own answer: that answer is private and
its token expires after 15 minutes, while a large run takes longer. If the message is
deleted (or the channel), the run goes on and nothing more is posted about it; if the
database does not answer, the next round tries again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import discord

from bot.render import campaigns as render
from core.permissions import Actor

if TYPE_CHECKING:
    from bot.client import TracklyBot

log = logging.getLogger(__name__)
GIVE_UP_AFTER = 12 * 3600.0  # seconds: a run still going after this is left to /campaign list
SETTLE = 600.0  # seconds after the last send that delivery reports are waited for


class ProgressMessages:
    def __init__(self, bot: TracklyBot) -> None:
        self.bot = bot
        self.every = bot.services.settings.discord_progress_seconds
        self._tasks: set[asyncio.Task[None]] = set()

    def follow(self, actor: Actor, run_id: int, channel: discord.abc.Messageable) -> None:
        task = asyncio.create_task(self._follow(actor, run_id, channel),
                                   name=f"campaign run {run_id} progress")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _follow(self, actor: Actor, run_id: int,
                      channel: discord.abc.Messageable) -> None:
        schedules = self.bot.services.schedules
        loop = asyncio.get_running_loop()
        began = loop.time()
        sent_all_at: float | None = None
        try:
            shown = render.progress_embed(await schedules.progress(actor, run_id))
            message = await channel.send(embed=shown)
            while loop.time() - began < GIVE_UP_AFTER:
                await asyncio.sleep(self.every)
                try:
                    now = await schedules.progress(actor, run_id)
                except Exception:  # the database blinked: the next round tries again
                    log.warning("progress of run %s: not read this round", run_id,
                                exc_info=True)
                    continue
                if now.finished and sent_all_at is None:
                    sent_all_at = loop.time()
                # the summary once every message has its outcome, or once the reports
                # had SETTLE seconds to come (some carriers never send one)
                summary = sent_all_at is not None and (
                    now.count("sent") == 0 or loop.time() - sent_all_at >= SETTLE)
                embed = render.progress_embed(now, summary=summary)
                if embed.to_dict() != shown.to_dict():
                    await message.edit(embed=embed)
                    shown = embed
                if summary:
                    return
        except (discord.NotFound, discord.Forbidden) as exc:
            log.info("progress of run %s: the message or channel is gone (%s); the run "
                     "goes on", run_id, exc)
