"""The daily summary: yesterday's numbers (and the week's chart data) for each account
that chose an hour, once a local day, when that hour has come in the account's timezone.

Each server's day is claimed by a conditional UPDATE of ``summary_sent_on`` before the
report is computed, so two bots (or a restart) never post the same day twice; a bot that
dies between the claim and the post loses that day's summary rather than repeating it."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace

from tortoise.expressions import Q

from core.accounts.models import DiscordServer
from core.clock import Clock
from core.permissions import Actor
from core.reports.periods import Period, zone
from core.reports.service import Performance, ReportService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DueSummary:
    account_id: int
    channel_id: int
    period: Period  # yesterday, local
    report: Performance  # yesterday's totals
    week: Period  # the seven days to yesterday
    week_report: Performance  # by day, for the chart


class DailySummaries:
    def __init__(self, *, clock: Clock, reports: ReportService) -> None:
        self.clock = clock
        self.reports = reports

    async def claim_due(self) -> list[DueSummary]:
        now = self.clock.now()
        out: list[DueSummary] = []
        servers = await DiscordServer.filter(
            summary_hour__isnull=False, report_channel_id__isnull=False).prefetch_related(
            "account")
        for server in servers:
            local = now.astimezone(zone(server.account.default_timezone))
            today = local.date()
            if local.hour < (server.summary_hour or 0) or (
                    server.summary_sent_on is not None and server.summary_sent_on >= today):
                continue
            claimed = await DiscordServer.filter(
                Q(summary_sent_on__isnull=True) | Q(summary_sent_on__lt=today),
                id=server.id).update(summary_sent_on=today)
            if not claimed:
                continue  # another bot took this day
            actor = Actor.system(server.account_id)
            period, report = await self.reports.for_period(actor, period="yesterday")
            yesterday = period.since.astimezone(zone(server.account.default_timezone)).date()
            first = yesterday - dt.timedelta(days=6)
            week, week_report = await self.reports.for_period(
                actor, period="custom", since=first.isoformat(), until=yesterday.isoformat())
            week = replace(week, label=f"7 days: {first} to {yesterday} "
                                       f"({server.account.default_timezone})")
            out.append(DueSummary(server.account_id, server.report_channel_id or 0, period,
                                  report, week, week_report))
            log.info("daily summary for account %s (%s) is due", server.account_id, today)
        return out
