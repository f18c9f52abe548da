"""The audit trail of sensitive actions: keys, credentials, suspension, data exports,
filterable, owners only, never a secret; and suspension holds on the new endpoints."""

from __future__ import annotations

from core.accounts.models import AccountStatus
from core.permissions import Role
from tests.factories import make_tenant

TWILIO = {"account_sid": "AC" + "a1" * 16, "auth_token": "f0" * 16}


async def trail(http, tenant, **query):
    resp = await http.get("/api/v2/audit", params=query, headers=tenant.headers())
    assert resp.status == 200, await resp.text()
    return (await resp.json())["data"]


async def test_keys_credentials_exports_and_suspension_are_recorded_without_secrets(
        services, http, clock):
    tenant = await make_tenant(services)
    resp = await http.post("/api/v2/api-keys", json={"name": "ci", "role": "member"},
                           headers=tenant.headers())
    key = await resp.json()
    await http.delete(f"/api/v2/api-keys/{key['id']}", json={"confirm": True},
                      headers=tenant.headers())
    resp = await http.post("/api/v2/lists", headers=tenant.headers(), json={
        "name": "Deals", "phone_number": "(415) 555-0000", "provider": "twilio",
        "credentials": TWILIO, "brand_name": "Acme"})
    assert resp.status == 201
    clock.advance(minutes=5)
    resp = await http.get("/api/v2/reports/performance?format=csv", headers=tenant.headers())
    assert resp.status == 200

    events = await trail(http, tenant)
    mine = [(e["action"], e["face"], e["actor"]) for e in events
            if e["action"] != "api_key.create" or e["changes"]["name"] == "ci"]
    _, owner = await services.accounts.authenticate(tenant.keys[Role.OWNER])
    owner_key = f"api_key:{owner.id}"
    assert mine == [("export.performance", "api", owner_key),
                    ("credentials.set", "api", owner_key),
                    ("api_key.revoke", "api", owner_key),
                    ("api_key.create", "api", owner_key)]
    text = str(events)
    assert key["key"] not in text and TWILIO["auth_token"] not in text
    [created] = [e for e in events if e["target"] == f"api_key:{key['id']}"
                 and e["action"] == "api_key.create"]
    assert created["changes"] == {"prefix": key["prefix"], "role": "member", "name": "ci"}

    # Filters: a family, a time window, a face.
    assert [e["action"] for e in await trail(http, tenant, action="api_key")][:2] == [
        "api_key.revoke", "api_key.create"]
    since = clock.now().isoformat()
    assert [e["action"] for e in await trail(http, tenant, since=since)] == [
        "export.performance"]
    assert await trail(http, tenant, face="discord") == []

    await services.accounts.set_status(tenant.account.id, AccountStatus.SUSPENDED)
    for path in ("/api/v2/audit", "/api/v2/usage", "/api/v2/invoices", "/api/v2/team",
                 "/api/v2/balance"):
        resp = await http.get(path, headers=tenant.headers())
        assert resp.status == 403 and (await resp.json())["code"] == "account_suspended"
    invited = await services.team.invite(tenant.owner, "late@acme.test", "member")
    resp = await http.post("/api/v2/team/accept", json={"token": invited.token})
    assert resp.status == 403 and (await resp.json())["code"] == "account_suspended"
    await services.accounts.set_status(tenant.account.id, AccountStatus.ACTIVE)
    actions = [e["action"] for e in await trail(http, tenant, action="account")]
    assert actions == ["account.active", "account.suspended"]
