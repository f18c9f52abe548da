"""/report: the key numbers of a period by a grouping, and a chart."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import actor_of, linked
from bot.options import TextOption
from bot.render import reports as render
from bot.replies import thinking

if TYPE_CHECKING:
    from bot.client import TracklyBot

DayOption = app_commands.Transform[str, TextOption("date", max_length=10)]
PeriodChoice = Literal["today", "yesterday", "7d", "30d", "custom"]
GroupChoice = Literal["day", "list", "campaign", "creative", "offer", "journey", "carrier"]


class ReportCog(commands.Cog):
    def __init__(self, bot: TracklyBot) -> None:
        self.bot = bot
        self.services = bot.services

    @app_commands.command(name="report", description="Sends, clicks, conversions and "
                                                     "revenue, with a chart")
    @app_commands.describe(period="Days in your account's timezone (custom: since and "
                                  "until)", group="One row per...",
                           since="custom: first day, YYYY-MM-DD",
                           until="custom: last day, YYYY-MM-DD")
    @linked()
    async def report(self, interaction: discord.Interaction, period: PeriodChoice = "7d",
                     group: GroupChoice = "day", since: DayOption | None = None,
                     until: DayOption | None = None) -> None:
        await thinking(interaction)
        bounds, report = await self.services.reports.for_period(
            actor_of(interaction), period=period, grouping=group, since=since, until=until)
        png = await self.bot.charts.png(render.chart_of(bounds, report, group))
        await interaction.edit_original_response(
            embed=render.report_embed(bounds, report, group),
            attachments=[render.chart_file(png)])
