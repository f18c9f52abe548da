"""GET /metrics over real HTTP: Prometheus text a scraper parses, with this process's
traffic and the installation's queue, heartbeats, imports and alerts; nothing that names
an account or a number."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from core.notifications.models import Severity
from core.system.service import record_beat
from tests.factories import make_tenant
from tests.messaging.helpers import make_list, make_subscribers, queue_to


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
