"""The report endpoints' contract: validation, roles, tenancy, empty periods."""

from __future__ import annotations

import datetime as dt

from core.permissions import Role
from core.reports.metrics import METRICS, Totals
from tests.factories import make_tenant


def test_an_empty_group_has_zero_rates_not_errors():
    metrics = Totals().metrics()
    assert tuple(metrics) == METRICS
    assert metrics["click_rate"] == "0.0000" and metrics["epc"] == "0.0000"
    assert metrics["profit"] == "0.0000"


async def test_report_parameters_are_checked(services, http):
    tenant = await make_tenant(services)
    url = "/api/v2/reports/performance"
    for query, code in [({"group_by": "hour"}, "invalid_group_by"),
                        ({"since": "yesterday"}, "invalid_since"),
                        ({"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
                         "invalid_since"),
                        ({"since": "2024-01-01T00:00:00Z"}, "invalid_since"),
                        ({"until": "0001-01-02T00:00:00Z"}, "invalid_until"),
                        ({"format": "xml"}, "invalid_format")]:
        resp = await http.get(url, headers=tenant.headers(), params=query)
        assert resp.status == 400, query
        assert (await resp.json())["code"] == code, query
    resp = await http.get(url, headers=tenant.headers(Role.VIEWER))
    assert resp.status == 200
    body = await resp.json()
    assert body["data"] == [] and body["totals"]["sends"] == 0
    assert body["group_by"] == "day" and body["until"] == "2026-03-03T15:00:00+00:00"
    resp = await http.get("/api/v2/reports/cohorts", headers=tenant.headers(Role.VIEWER),
                          params={"format": "csv"})
    assert resp.status == 200 and resp.content_type == "text/csv"
    assert (await resp.text()).startswith("week,contacts,revenue_7d,ltv_7d,complete_7d")
    assert (await http.get(url)).status == 401


async def test_another_accounts_messages_are_not_in_my_report(services, http):
    from core.messaging.models import MessageSent
    from tests.tracking.builders import make_world, queue_with_link

    world = await make_world(services)
    sent = await queue_with_link(world, world.subscribers[0], now=services.clock.now())
    a_minute_ago = services.clock.now() - dt.timedelta(minutes=1)
    await MessageSent.filter(id=sent.message_id).update(status="delivered",
                                                        sent_at=a_minute_ago)
    other = await make_tenant(services, "Other", "o@other.test")
    mine = await (await http.get("/api/v2/reports/performance",
                                 headers=world.tenant.headers())).json()
    theirs = await (await http.get("/api/v2/reports/performance",
                                   headers=other.headers())).json()
    assert mine["totals"]["sends"] == 1 and theirs["totals"]["sends"] == 0
