"""The outbox executor's mechanics against the real database."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from core.accounts.models import AccountStatus, BillingStatus
from core.billing.gate import AccountBillingGate
from core.billing.models import UsageRecord
from core.messaging.executor import WORKER_BEAT, Executor, ExecutorConfig
from core.messaging.models import MessageSent, MessageStatus
from core.providers.base import Outcome, SendOutcome
from core.reasons import DropReason
from core.system.models import Heartbeat
from tests.conftest import IS_POSTGRES
from tests.factories import make_tenant
from tests.helpers import eventually
from tests.messaging.helpers import make_list, make_subscribers, queue_to
from tests.messaging.scripted import ScriptedProvider, accept


def executor(services, clock, provider, **config) -> Executor:
    return Executor(clock=clock, providers=provider, policy=services.compliance,
                    billing=AccountBillingGate(clock=clock), callback_url=lambda lst, mid: f"http://cb.test/{mid}",
                    config=ExecutorConfig(**{"batch_size": 50, **config}))


async def setup(services, clock, count=10):
    tenant = await make_tenant(services)
    lst = await make_list(tenant.account.id)
    subs = await make_subscribers(lst, count, when=clock.now())
    queued = await queue_to(subs, lst, now=clock.now())
    return tenant, lst, subs, queued


async def test_queued_messages_are_sent_once_with_usage_and_history(services, clock):
    _, _, subs, queued = await setup(services, clock, count=120)
    provider = ScriptedProvider()
    report = await executor(services, clock, provider).drain()
    assert report.claimed == 120 and report.sent == 120
    assert sorted(provider.attempts.values()) == [1] * 120
    assert await MessageSent.filter(status=MessageStatus.SENT).count() == 120
    one = await MessageSent.get(public_id=queued[0].public_id)
    assert one.provider_message_id == f"P{one.public_id}" and one.sent_at == clock.now()
    assert one.attempts == 1 and one.claim_token is None
    assert await UsageRecord.filter(message_id=one.id, segments=1).exists()
    history = await services.messages.history(one)
    assert [(h.status, h.source, h.at) for h in history] == [
        ("queued", "outbox", clock.now()), ("sent", "executor", clock.now())]
    sub = await type(subs[0]).get(id=subs[0].id)
    assert sub.send_count == 1 and sub.last_sent_at == clock.now()
    assert (await executor(services, clock, provider).drain()).claimed == 0


async def test_429_is_retried_with_backoff_then_sent(services, clock):
    await setup(services, clock, count=3)

    def busy_twice(sms, attempt):
        if attempt <= 2:
            return SendOutcome(sms.message_id, Outcome.RETRY, error_code="429",
                               retry_after=30 if attempt == 1 else None)
        return accept(sms, attempt)

    provider = ScriptedProvider(busy_twice)
    ex = executor(services, clock, provider)
    assert (await ex.drain()).retried == 3
    row = await MessageSent.first()
    assert row.status == MessageStatus.QUEUED and row.error_code == "429"
    assert 30 <= (row.not_before - clock.now()).total_seconds() <= 31  # Retry-After wins
    assert (await ex.drain()).claimed == 0  # not due yet
    clock.advance(31)
    assert (await ex.drain()).retried == 3
    clock.advance(10)
    assert (await ex.drain()).sent == 3
    assert await MessageSent.filter(status=MessageStatus.SENT, attempts=3).count() == 3


async def test_retries_are_bounded(services, clock):
    await setup(services, clock, count=1)
    provider = ScriptedProvider(lambda sms, n: SendOutcome(sms.message_id, Outcome.RETRY,
                                                           error_code="500"))
    ex = executor(services, clock, provider, max_attempts=3)
    for _ in range(5):
        await ex.drain()
        clock.advance(600)
    row = await MessageSent.first()
    assert row.status == MessageStatus.FAILED and row.status_detail == "retries_exhausted"
    assert provider.attempts[row.public_id] == 3


async def test_permanent_rejection_fails_with_provider_code(services, clock):
    await setup(services, clock, count=1)
    provider = ScriptedProvider(lambda sms, n: SendOutcome(
        sms.message_id, Outcome.REJECTED, error_code="21610",
        error_message="Attempt to send to unsubscribed recipient"))
    await executor(services, clock, provider).drain()
    row = await MessageSent.first()
    assert (row.status, row.error_code, row.status_detail) == (
        MessageStatus.FAILED, "21610", "provider_rejected")
    assert row.failed_at == clock.now()
    assert not await UsageRecord.exists()


async def test_unknown_outcome_is_never_resent_and_ends_orphaned(services, clock):
    await setup(services, clock, count=4)
    provider = ScriptedProvider(lambda sms, n: SendOutcome(sms.message_id, Outcome.UNKNOWN,
                                                           error_message="timeout"))
    ex = executor(services, clock, provider, unknown_grace=dt.timedelta(minutes=10))
    assert (await ex.drain()).unknown == 4
    clock.advance(minutes=5)
    assert (await ex.drain()).claimed == 0
    assert await ex.reconcile() == 0
    clock.advance(minutes=6)
    assert await ex.reconcile() == 4
    rows = await MessageSent.all()
    assert {(r.status, r.status_detail) for r in rows} == {(MessageStatus.ORPHANED, "orphan")}
    assert all("timeout" in r.error_message for r in rows)
    assert sum(provider.attempts.values()) == 4


async def test_claimed_but_unsent_rows_return_after_the_lease(services, clock):
    """A crash between claiming and sending leaves rows queued under a dead lease: they are
    claimed again later and sent, never lost."""
    from core.messaging import queries

    await setup(services, clock, count=5)
    now = clock.now()
    claimed = await queries.claim_queued(token="dead", now=now,
                                         lease_until=now + dt.timedelta(seconds=60), limit=10)
    assert len(claimed) == 5
    provider = ScriptedProvider()
    ex = executor(services, clock, provider)
    assert (await ex.drain()).claimed == 0  # leased to the dead executor
    clock.advance(61)
    assert (await ex.drain()).sent == 5


async def test_stale_blocked_and_suspended_are_dropped_with_reasons(services, clock):
    tenant, lst, subs, _ = await setup(services, clock, count=2)
    await queue_to(subs[:1], lst, now=clock.now(), body="Win big http://bit.ly/abc")
    clock.advance(minutes=31)
    await queue_to(subs[1:], lst, now=clock.now(), body="Fresh news")
    await executor(services, clock, ScriptedProvider()).drain()
    got = sorted((m.body[:5], m.status, m.status_detail) for m in await MessageSent.all())
    assert got == [("Acme:", "dropped", "stale"), ("Acme:", "dropped", "stale"),
                   ("Fresh", "sent", None), ("Win b", "dropped", "stale")]

    await queue_to(subs[:1], lst, now=clock.now(), body="Claim at bit.ly/abc now")
    await executor(services, clock, ScriptedProvider()).drain()
    assert await MessageSent.filter(status_detail="blocked_content").count() == 1

    await services.accounts.set_status(tenant.account.id, AccountStatus.SUSPENDED)
    await queue_to(subs[:1], lst, now=clock.now(), body="Later")
    provider = ScriptedProvider()
    await executor(services, clock, provider).drain()
    assert await MessageSent.filter(status_detail="account_suspended").count() == 1
    assert provider.requests == []
    # One set of drop reasons, whoever dropped the message.
    dropped = await MessageSent.filter(status=MessageStatus.DROPPED)
    assert {DropReason(m.status_detail) for m in dropped} == {
        DropReason.STALE, DropReason.BLOCKED_CONTENT, DropReason.ACCOUNT_SUSPENDED}


async def test_billing_hold_defers_then_expires(services, clock):
    tenant, *_ = await setup(services, clock, count=1)
    tenant.account.billing_status = BillingStatus.PAYMENT_FAILED
    tenant.account.billing_status_since = clock.now()
    await tenant.account.save(update_fields=["billing_status", "billing_status_since"])
    provider = ScriptedProvider()
    ex = executor(services, clock, provider)
    for _ in range(5):
        await ex.drain()
        clock.advance(minutes=12)
    row = await MessageSent.first()
    assert row.status == MessageStatus.QUEUED  # still held at 48 minutes
    clock.advance(minutes=13)
    await ex.drain()
    row = await MessageSent.first()
    assert (row.status, row.status_detail) == (MessageStatus.DROPPED, "billing_expired")
    assert provider.requests == []


@pytest.mark.skipif(not IS_POSTGRES, reason="SKIP LOCKED concurrency is PostgreSQL's")
async def test_concurrent_executors_never_send_twice(services, clock):
    await setup(services, clock, count=400)
    provider = ScriptedProvider()
    executors = [executor(services, clock, provider, batch_size=25) for _ in range(4)]
    await asyncio.gather(*(ex.drain() for ex in executors))
    assert len(provider.attempts) == 400
    assert set(provider.attempts.values()) == {1}


async def test_live_workers_split_each_lists_rate_limit(services, clock):
    """The rate limit runs on the injected clock: a list at 600 a minute sends ten at
    once (one second of burst), then ten a second; with two live workers each sends
    half as fast; when one dies, the other takes the whole limit back."""
    tenant = await make_tenant(services)
    lst = await make_list(tenant.account.id, rate=600)
    subs = await make_subscribers(lst, 60, when=clock.now())
    sent_at: list[dt.datetime] = []

    def stamp(sms, attempt):
        sent_at.append(clock.now())
        return accept(sms, attempt)

    first, second = (executor(services, clock, ScriptedProvider(stamp)) for _ in range(2))

    async def seconds_to_send_20(batch, *, live) -> float:
        clock.advance(16)  # a dead worker's last beat is too old by now
        for worker in live:  # the others beat too; the first counts them
            await worker.announce_presence()
        assert await first.announce_presence() == len(live)
        clock.advance(10)  # a full bucket to start from
        sent_at.clear()
        start = clock.now()
        await queue_to(batch, lst, now=start)
        await first.drain()
        assert len(sent_at) == 20
        return (sent_at[-1] - start).total_seconds()

    # 10 at once, then 10 a second
    assert await seconds_to_send_20(subs[:20], live=[first]) == pytest.approx(1.0)
    # 5 at once, then 5 a second
    assert await seconds_to_send_20(subs[20:40], live=[first, second]) == pytest.approx(3.0)
    # The second stops beating (killed): its share comes back to the first.
    assert await seconds_to_send_20(subs[40:], live=[first]) == pytest.approx(1.0)


async def test_a_stopped_worker_leaves_at_once(services, clock):
    worker = executor(services, clock, ScriptedProvider())
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))

    async def beating() -> bool:
        return await Heartbeat.filter(component__startswith=WORKER_BEAT).count() == 1

    await eventually(beating, what="the worker's first beat")
    stop.set()
    await running
    assert await Heartbeat.filter(component__startswith=WORKER_BEAT).count() == 0
    other = executor(services, clock, ScriptedProvider())
    assert await other.announce_presence() == 1


async def test_a_slow_list_rechecks_before_sending_past_21_00(services, clock):
    """A list at one message a second takes minutes for a batch. The checks made when it
    was claimed (quiet hours here) must not wave through a message that leaves after
    21:00: what waits that long goes back to the queue and is checked again."""
    clock.set(dt.datetime(2026, 3, 4, 1, 59, tzinfo=dt.UTC))  # 20:59 in New York
    tenant = await make_tenant(services)
    lst = await make_list(tenant.account.id, rate=60)  # one token a second
    subs = await make_subscribers(lst, 3, when=clock.now())
    await queue_to(subs, lst, now=clock.now())

    def slow(sms, attempt):  # each send takes two minutes of the clock
        clock.advance(minutes=2)
        return accept(sms, attempt)

    provider = ScriptedProvider(slow)
    await executor(services, clock, provider).drain()
    rows = await MessageSent.all().order_by("id")
    assert len(provider.requests) == 1  # the one that left at 20:59
    assert [r.status for r in rows] == [MessageStatus.SENT, MessageStatus.QUEUED,
                                        MessageStatus.QUEUED]
    morning = dt.datetime(2026, 3, 4, 13, 0, tzinfo=dt.UTC)  # 08:00 in New York
    assert [r.not_before for r in rows[1:]] == [morning, morning]


async def test_a_saturday_evening_message_to_a_state_without_sundays_waits_for_monday(
        services, clock):
    """Alabama allows no marketing on Sundays: Saturday 20:30 local waits ~36 hours for
    Monday 08:00. Delayed, not dropped (PRODUCT.md section 3)."""
    central = dt.timezone(dt.timedelta(hours=-6))  # Alabama in March, before DST
    clock.set(dt.datetime(2026, 3, 7, 20, 30, tzinfo=central))  # a Saturday
    tenant = await make_tenant(services)
    lst = await make_list(tenant.account.id)
    [sub] = await make_subscribers(lst, 1, when=clock.now())
    await type(sub.contact).filter(id=sub.contact_id).update(state="AL",
                                                              timezone="America/Chicago")
    [queued] = await queue_to([sub], lst, now=clock.now())
    provider = ScriptedProvider()
    report = await executor(services, clock, provider).drain()
    assert report.deferred == 1 and not report.dropped
    message = await MessageSent.get(public_id=queued.public_id)
    assert message.status == MessageStatus.QUEUED
    # 08:00 Monday in Chicago, which is CDT by then (DST began that Sunday).
    assert message.not_before == dt.datetime(2026, 3, 9, 13, 0, tzinfo=dt.UTC)
