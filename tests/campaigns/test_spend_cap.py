"""Issue 15, must show 2, through the launch itself: a campaign whose estimate would take
the month past the account's spend cap is refused over REST with the estimate and the
cap, queues nothing and is in the audit trail; one under the cap goes, priced with the
free allowance left this month."""

from __future__ import annotations

from core.messaging.models import MessageSent
from tests.billing.helpers import at, start_cycle, use
from tests.contacts.helpers import make_list, subscribe
from tests.factories import make_tenant

CONTACTS = 40
# Two segments a message: 161 GSM-7 characters.
LONG = "Spring deals: " + "x" * 147


async def _campaign(services, http, tenant, sending_list) -> int:
    h = tenant.headers()
    aud = await (await http.post("/api/v2/audiences", headers=h, json={
        "name": "all", "list_ids": [sending_list.id]})).json()
    created = await http.post("/api/v2/schedules", headers=h, json={
        "name": "Big one", "list_id": sending_list.id, "audience_ids": [aud["id"]],
        "send_type": "blast", "recurrence": "one_time", "send_date": "2026-03-10",
        "send_time": "12:00", "timezone": "UTC",
        "blasts": [{"message": LONG, "percent_audience": 100}]})
    assert created.status == 201, await created.text()
    return (await created.json())["id"]


async def test_a_launch_over_the_spend_cap_is_refused_and_one_under_it_goes(
        services, http, clock):
    clock.set(at(2026, 3, 10, 11))
    tenant = await make_tenant(services)
    h = tenant.headers()
    sending_list = await make_list(services, tenant)
    for i in range(CONTACTS):
        await subscribe(services, tenant, f"+1415555{i:04d}")
    await start_cycle(tenant.account.id, at(2026, 3, 1, 0))
    await use(tenant.account.id, 500, at(2026, 3, 5))  # the month's free allowance is gone
    sid = await _campaign(services, http, tenant, sending_list)

    dry = await (await http.post(f"/api/v2/schedules/{sid}/launch", headers=h,
                                 json={"dry_run": True})).json()
    # 40 recipients x 2 segments at $0.0045, nothing free left: $0.36
    assert (dry["recipients"], dry["segments"]) == (CONTACTS, 2 * CONTACTS), dry
    assert dry["estimated_cost"] in ("0.36", "0.3600"), dry

    capped = await http.put("/api/v2/billing", headers=h, json={"spend_cap": "0.30"})
    assert capped.status == 200, await capped.text()
    refused = await http.post(f"/api/v2/schedules/{sid}/launch", headers=h,
                              json={"now": True})
    body = await refused.json()
    assert (refused.status, body["code"]) == (409, "spend_cap_exceeded"), body
    assert "0.36" in body["error"] and "0.30" in body["error"]
    assert await MessageSent.filter(account_id=tenant.account.id).count() == 0
    got = await (await http.get(f"/api/v2/schedules/{sid}", headers=h)).json()
    assert got["status"] == "draft" and got["runs"] == []

    await http.put("/api/v2/billing", headers=h, json={"spend_cap": "1.00"})
    went = await http.post(f"/api/v2/schedules/{sid}/launch", headers=h, json={"now": True})
    assert went.status == 200, await went.text()
    await services.schedules.dispatch_due()
    await services.schedules.resume_runs()
    assert await MessageSent.filter(account_id=tenant.account.id).count() == CONTACTS

    audit = await (await http.get("/api/v2/audit?action=campaign.launch",
                                  headers=h)).json()
    outcomes = sorted(e["outcome"] for e in audit["data"])
    assert outcomes == ["ok", "refused"], audit
