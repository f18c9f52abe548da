"""Builds the AsyncIOScheduler and its ticks. Jobs hold no business state: each asks
the database what is due, so a restart loses nothing."""

from __future__ import annotations

import logging
import os
import socket

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.services import Services
from core.webhooks.delivery import BATCH

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15
ALERT_CHECK_SECONDS = 30
UPLOAD_SWEEP_MINUTES = 60
WEBHOOK_SECONDS = 5
TUNE_SYNC_MINUTES = 60
BILLING_MINUTES = 5  # thresholds are noticed within this; month end too
JOURNEY_SECONDS = 10
SELECTION_REFRESH_MINUTES = 15
CAMPAIGN_SECONDS = 15
AUDIENCE_SIZE_MINUTES = 5
PARTITION_MINUTES = 60


def build_scheduler(services: Services) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")

    async def heartbeat() -> None:
        await services.system.beat("scheduler", host=socket.gethostname(), pid=os.getpid())

    async def failure_rates() -> None:
        changed = await services.failure_monitor.check()
        if changed:
            log.info("failure-rate alerts: %s", ", ".join(changed))

    async def import_uploads() -> None:
        await services.imports.sweep_uploads()

    async def webhooks() -> None:
        while await services.webhook_dispatcher.deliver_due() == BATCH:
            pass  # a full batch: more may be due

    scheduler.add_job(heartbeat, "interval", seconds=HEARTBEAT_SECONDS, id="heartbeat",
                      max_instances=1, coalesce=True, next_run_time=services.clock.now())
    scheduler.add_job(failure_rates, "interval", seconds=ALERT_CHECK_SECONDS,
                      id="failure_rates", max_instances=1, coalesce=True)
    scheduler.add_job(import_uploads, "interval", minutes=UPLOAD_SWEEP_MINUTES,
                      id="import_uploads", max_instances=1, coalesce=True)
    async def tune_sync() -> None:
        for result in await services.tune.sync_all():
            log.info("TUNE sync for account %s: %d fetched, %d new, %d already known%s",
                     result.account_id, result.fetched, result.recorded, result.duplicates,
                     f"; failed: {result.error}" if result.error else "")

    scheduler.add_job(tune_sync, "interval", minutes=TUNE_SYNC_MINUTES, id="tune_sync",
                      max_instances=1, coalesce=True)
    scheduler.add_job(webhooks, "interval", seconds=WEBHOOK_SECONDS, id="webhooks",
                      max_instances=1, coalesce=True)

    async def billing() -> None:
        issued = await services.billing.run_all()
        if issued:
            log.info("billing: %d invoice(s) issued", issued)

    scheduler.add_job(billing, "interval", minutes=BILLING_MINUTES, id="billing",
                      max_instances=1, coalesce=True)
    async def journeys() -> None:
        advanced = await services.journeys.run_due()
        if advanced:
            log.info("journeys: %d enrollments advanced", advanced)

    async def selection_stats() -> None:
        await services.selection.refresh_all()

    scheduler.add_job(journeys, "interval", seconds=JOURNEY_SECONDS, id="journeys",
                      max_instances=1, coalesce=True)
    scheduler.add_job(selection_stats, "interval", minutes=SELECTION_REFRESH_MINUTES,
                      id="selection_stats", max_instances=1, coalesce=True)
    async def campaigns() -> None:
        # Interrupted launches first (a restart), then due runs, then finished tests.
        await services.schedules.resume_runs()
        started = await services.schedules.dispatch_due()
        decided = await services.schedules.decide_winners()
        if started or decided:
            log.info("campaigns: %d runs started, %d test winners decided", started, decided)

    async def audience_sizes() -> None:
        await services.audiences.refresh_sizes()

    scheduler.add_job(campaigns, "interval", seconds=CAMPAIGN_SECONDS, id="campaigns",
                      max_instances=1, coalesce=True, next_run_time=services.clock.now())
    scheduler.add_job(audience_sizes, "interval", minutes=AUDIENCE_SIZE_MINUTES,
                      id="audience_sizes", max_instances=1, coalesce=True)

    async def partitions() -> None:
        upkeep = await services.system.maintain_partitions()
        if upkeep.created or upkeep.dropped:
            log.info("partitions: created %s; dropped %s", upkeep.created or "none",
                     upkeep.dropped or "none")

    scheduler.add_job(partitions, "interval", minutes=PARTITION_MINUTES, id="partitions",
                      max_instances=1, coalesce=True, next_run_time=services.clock.now())
    return scheduler
