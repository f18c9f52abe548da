"""GET /metrics over real HTTP: Prometheus text a scraper parses, with this process's
traffic and the installation's queue, heartbeats, imports and alerts; nothing that names
an account or a number."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.contacts.models import Provider, SendingList
from core.notifications.models import Severity
from core.providers.base import OutboundSms, Outcome
from core.system.leader import SCHEDULER_LOCK, asyncpg_dsn
from core.system.service import record_beat
from tests.campaigns.helpers import audience, owner, schedule, world
from tests.conftest import IS_POSTGRES
from tests.factories import make_tenant
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.messaging.helpers import make_list, make_subscribers, queue_to
from tests.tracking.builders import make_world, queue_with_link
from tests.tracking.helpers import follow
from tests.webhooks.test_webhooks import _endpoint


@pytest.fixture
def settings(settings, infobip_fake):
    """The shared settings, with Infobip's default base URL at the fake."""
    return settings.model_copy(update={"infobip_base_url": infobip_fake.url})


@pytest.fixture
async def receiver():
    server = await WebhookReceiver().start()
    yield server
    await server.close()


async def scrape(http) -> tuple[dict[tuple[str, tuple], float], str]:
    resp = await http.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await resp.text()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    return samples, text


async def test_metrics_show_the_queue_components_alerts_and_traffic(services, http, clock):
    tenant = await make_tenant(services)
    sending_list = await make_list(tenant.account.id)
    subs = await make_subscribers(sending_list, 3, when=clock.now())
    await queue_to(subs[:1], sending_list, now=clock.now())
    clock.advance(minutes=10)
    await queue_to(subs[1:], sending_list, now=clock.now())
    await services.system.beat("scheduler")
    await record_beat("worker:host:1:abc", clock.now(), {})
    await services.notifications.raise_alert(
        tenant.account.id, dedup_key="failure_rate:list:1", kind="failure_rate",
        severity=Severity.HIGH, title="Failure rate 40%")
    clock.advance(seconds=5)
    for _ in range(2):
        await http.get("/healthz")
    await http.get("/api/v2/lists/7")  # no key: 401
    await http.get("/no/such/page")

    samples, text = await scrape(http)
    assert samples[("trackly_database_up", ())] == 1
    assert samples[("trackly_outbox_queued_messages", ())] == 3
    assert samples[("trackly_outbox_sending_messages", ())] == 0
    assert samples[("trackly_outbox_oldest_queued_age_seconds", ())] == 605
    assert samples[("trackly_heartbeat_age_seconds", (("component", "scheduler"),))] == 5
    assert samples[("trackly_live_workers", ())] == 1
    assert samples[("trackly_alerts_open", ())] == 1
    assert samples[("trackly_imports_running", ())] == 0

    def requests(route: str, status: str) -> float:
        return samples[("trackly_http_requests_total", (
            ("method", "GET"), ("route", route), ("status", status)))]
    assert requests("/healthz", "200") == 2
    assert requests("/api/v2/lists/{list_id}", "401") == 1  # the template, not the id
    assert requests("unmatched", "404") == 1
    assert samples[("trackly_http_request_duration_seconds_count",
                    (("method", "GET"), ("route", "/healthz")))] == 2
    assert ("process_resident_memory_bytes", ()) in samples
    # Public: aggregates only.
    for private in (tenant.account.name, sending_list.phone_number[2:], "/api/v2/lists/7"):
        assert private not in text


async def test_a_worker_that_stopped_beating_is_not_live(services, http, clock):
    await record_beat("worker:host:2:def", clock.now(), {})
    clock.advance(seconds=16)
    samples, _ = await scrape(http)
    assert samples[("trackly_live_workers", ())] == 0
    assert samples[("trackly_outbox_oldest_queued_age_seconds", ())] == 0


def _sample(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_a_redirect_a_webhook_a_send_and_a_failure_move_their_figures(
        services, http, receiver, infobip_fake):
    assert services.settings.infobip_base_url == infobip_fake.url
    world = await make_world(services)
    await _endpoint(http, world.tenant, receiver, ["click"])
    sent = await queue_with_link(world, world.subscribers[0], now=services.clock.now())
    before, _ = await scrape(http)
    assert _sample(before, "trackly_redirect_duration_seconds_count") == 0
    assert _sample(before, "trackly_webhook_delivery_duration_seconds_count") == 0

    resp = await follow(http, sent.link)  # the redirect
    assert resp.status == 302
    await services.redirects.recorder.flush()
    assert await services.webhook_dispatcher.deliver_due() == 1  # the click event
    assert len(receiver.received) == 1
    creds = {"api_key": "wrong-key-0123456789"}
    sending_list = await SendingList.create(
        account_id=world.tenant.account.id, phone_number="+15550001111",
        provider=Provider.INFOBIP, credentials_sealed=services.box.seal(creds),
        webhook_token="tok-metrics")
    sms = OutboundSms("abcd1234", "+15557770000", sending_list.phone_number, "Hi")
    [refused] = await services.providers.get(sending_list).send([sms])  # a failure
    assert (refused.outcome, refused.error_code) == (Outcome.REJECTED, "E401")
    sending_list.credentials_sealed = services.box.seal({**creds,
                                                         "api_key": infobip_fake.api_key})
    await sending_list.save(update_fields=["credentials_sealed"])
    [accepted] = await services.providers.get(sending_list).send([sms])  # a send
    assert accepted.outcome is Outcome.ACCEPTED

    after, text = await scrape(http)
    assert _sample(after, "trackly_redirect_duration_seconds_count") == 1
    assert _sample(after, "trackly_redirect_duration_seconds_bucket", le="+Inf") == 1
    assert 0 < _sample(after, "trackly_redirect_duration_seconds_sum") < 60
    assert _sample(after, "trackly_http_requests_total", method="GET", route="/{code}",
                   status="302") == 1
    assert _sample(after, "trackly_clicks_written_total") == 1
    assert _sample(after, "trackly_click_buffer_pending") == 0
    assert _sample(after, "trackly_click_flush_lag_seconds") == 0
    assert _sample(after, "trackly_webhook_delivery_duration_seconds_count") == 1
    assert _sample(after, "trackly_provider_sends_total", provider="infobip",
                   outcome="rejected", code="E401") == 1
    assert _sample(after, "trackly_provider_sends_total", provider="infobip",
                   outcome="accepted", code="") == 1
    assert sent.link.code not in text and receiver.url not in text


async def test_a_click_not_yet_written_shows_as_flush_lag(services, http):
    recorder = services.redirects.recorder
    await recorder.close()  # the background writer stopped: the click stays buffered
    world = await make_world(services)
    sent = await queue_with_link(world, world.subscribers[0], now=services.clock.now())
    assert (await follow(http, sent.link)).status == 302
    services.clock.advance(seconds=7)
    samples, _ = await scrape(http)
    assert _sample(samples, "trackly_click_buffer_pending") == 1
    assert _sample(samples, "trackly_click_flush_lag_seconds") == 7
    await recorder.flush()
    samples, _ = await scrape(http)
    assert _sample(samples, "trackly_click_flush_lag_seconds") == 0


async def test_scheduler_lag_and_leader(db, services, http, clock):
    clock.set(dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC))
    lists = await world(2, clock.now())
    aud = await audience(services, lists, ["A"])
    sid = await schedule(services, lists, [aud], send_date="2026-03-04")  # 10:00 New York
    await services.schedules.launch(owner(lists), sid)
    clock.set(dt.datetime(2026, 3, 4, 15, 1, 30, tzinfo=dt.UTC))  # due 90 s ago
    samples, _ = await scrape(http)
    assert _sample(samples, "trackly_scheduler_lag_seconds") == 90
    await services.schedules.dispatch_due()
    samples, _ = await scrape(http)
    assert _sample(samples, "trackly_scheduler_lag_seconds") == 0

    if IS_POSTGRES:  # the leader holds the advisory lock on a connection of its own
        assert _sample(samples, "trackly_scheduler_leaders") == 0
        held = await asyncpg.connect(asyncpg_dsn(db))  # the lock is per database
        try:
            assert await held.fetchval("SELECT pg_try_advisory_lock($1)", SCHEDULER_LOCK)
            samples, _ = await scrape(http)
            assert _sample(samples, "trackly_scheduler_leaders") == 1
        finally:
            await held.close()
    else:  # the one process leads while its scheduler beats
        await services.system.beat("scheduler")
        samples, _ = await scrape(http)
        assert _sample(samples, "trackly_scheduler_leaders") == 1
        clock.advance(seconds=46)
        samples, _ = await scrape(http)
        assert _sample(samples, "trackly_scheduler_leaders") == 0
