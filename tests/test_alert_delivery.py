"""Core's side of alert delivery: claims that never overlap, a lease that hands back a
claim only once it ran out (marked as a retry, so the bot looks before posting), and the
daily summary claimed once a day however many bots ask."""

from __future__ import annotations

import asyncio
import datetime as dt

from core.accounts.discord_servers import ServerChannels
from core.notifications.delivery import AlertDelivery
from core.notifications.models import Notification, NotificationStatus, Severity
from core.permissions import Actor, ActorKind, Role
from core.reports.daily import DailySummaries
from tests.factories import make_tenant

GUILD, CHANNEL = 5001, 6001


async def linked(services, account_id: int, **channels: int) -> Actor:
    owner = Actor(account_id=account_id, role=Role.OWNER, kind=ActorKind.DISCORD,
                  discord_user_id=7)
    await services.discord_servers.link(owner, GUILD, ServerChannels(
        alert_channel_id=CHANNEL, report_channel_id=channels.get("report", CHANNEL)))
    return owner


async def test_concurrent_claims_share_the_work_without_overlap(services, clock):
    tenant = await make_tenant(services)
    await linked(services, tenant.account.id)
    for i in range(30):
        await services.notifications.notify(tenant.account.id, kind="billing",
                                            severity=Severity.HIGH, title=f"n{i}")
    claimers = [AlertDelivery(clock=clock, batch=8) for _ in range(3)]
    rounds = await asyncio.gather(*(c.claim() for c in claimers))
    ids = [d.notification.id for batch in rounds for d in batch]
    assert len(ids) == len(set(ids)) == 24  # three batches of eight, none twice
    rest = await AlertDelivery(clock=clock, batch=100).claim()
    assert len(rest) == 6 and not {d.notification.id for d in rest} & set(ids)


async def test_a_claim_comes_back_after_its_lease_as_a_retry(services, clock):
    tenant = await make_tenant(services)
    await linked(services, tenant.account.id)
    await services.notifications.notify(tenant.account.id, kind="billing",
                                        severity=Severity.HIGH, title="hold")
    delivery = AlertDelivery(clock=clock, lease=dt.timedelta(seconds=60))
    [first] = await delivery.claim()
    assert not first.retry and first.channel_id == CHANNEL
    clock.advance(30)
    assert await delivery.claim() == []  # still held by the first claimer
    clock.advance(31)
    [again] = await delivery.claim()
    assert again.retry and again.notification.attempts == 2
    assert not await delivery.mark_delivered(first, 111)  # the old claim was lost
    assert await delivery.mark_delivered(again, 222)
    row = await Notification.get()
    assert (row.status, row.discord_message_id) == (NotificationStatus.DELIVERED, 222)


async def test_another_accounts_alerts_are_never_claimed_for_this_server(services, clock):
    acme = await make_tenant(services)
    rival = await make_tenant(services, "Rival", "o@rival.test")
    await linked(services, acme.account.id)
    for tenant in (acme, rival):
        await services.notifications.notify(tenant.account.id, kind="billing",
                                            severity=Severity.HIGH, title="hold")
    batch = await AlertDelivery(clock=clock).claim()
    assert [d.notification.account_id for d in batch] == [acme.account.id]


async def test_the_daily_summary_is_claimed_once_however_many_bots_ask(services, clock):
    tenant = await make_tenant(services)
    owner = await linked(services, tenant.account.id, report=6002)
    await services.discord_servers.set_summary(owner, GUILD, hour=9)
    clock.set(dt.datetime(2026, 3, 4, 13, 59, tzinfo=dt.UTC))  # 08:59 in New York
    summaries = [DailySummaries(clock=clock, reports=services.reports) for _ in range(3)]
    assert await summaries[0].claim_due() == []
    clock.advance(60)
    due = await asyncio.gather(*(s.claim_due() for s in summaries))
    [[summary]] = [d for d in due if d]
    assert (summary.channel_id, summary.period.label) == (
        6002, "yesterday: 2026-03-03 (America/New_York)")
    assert summary.week.label == "7 days: 2026-02-25 to 2026-03-03 (America/New_York)"
    clock.advance(hours=14)  # 23:00: the same day
    assert await summaries[1].claim_due() == []
    clock.advance(hours=1)  # midnight: the next day waits for 09:00
    assert await summaries[2].claim_due() == []
