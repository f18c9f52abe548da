"""The scheduler's ticks for revenue work: webhooks every few seconds, TUNE hourly."""

from __future__ import annotations

from core.events import EventType
from core.webhooks.models import WebhookDelivery
from scheduler.jobs import TUNE_SYNC_MINUTES, WEBHOOK_SECONDS, build_scheduler
from tests.factories import make_tenant
from tests.fakes.webhook_receiver import WebhookReceiver


async def test_the_webhook_tick_delivers_what_is_due(services):
    receiver = await WebhookReceiver().start()
    try:
        tenant = await make_tenant(services)
        created = await services.webhooks.create(tenant.owner, url=receiver.url,
                                                 events=["reply"])
        receiver.secret = created.secret
        await services.events.emit(EventType.REPLY, [(tenant.account.id, {"body": "hi"})])
        scheduler = build_scheduler(services)
        job = scheduler.get_job("webhooks")
        assert job.trigger.interval.total_seconds() == WEBHOOK_SECONDS
        await job.func()
        assert [r.json["data"] for r in receiver.received] == [{"body": "hi"}]
        assert (await WebhookDelivery.get()).status == "succeeded"
        tune = scheduler.get_job("tune_sync")
        assert tune.trigger.interval.total_seconds() == TUNE_SYNC_MINUTES * 60
        await tune.func()  # no account is connected: nothing to do, nothing fails
    finally:
        await receiver.close()
