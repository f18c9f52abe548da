"""Sending lists over the REST API: validation, roles, write-only credentials."""

from __future__ import annotations

from core.contacts.models import NumberType, SendingList
from core.permissions import Role
from core.providers.credentials import open_credentials
from tests.factories import make_tenant

TWILIO = {"account_sid": "AC" + "a1" * 16, "auth_token": "f0" * 16}


async def test_owner_creates_a_twilio_list_credentials_never_come_back(services, http):
    tenant = await make_tenant(services)
    resp = await http.post("/api/v2/lists", headers=tenant.headers(), json={
        "name": "Deals", "phone_number": "(415) 555-0000", "provider": "twilio",
        "credentials": TWILIO, "brand_name": "Acme"})
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["phone_number"] == "+14155550000"
    assert body["number_type"] == "long_code" and body["country_code"] == "US"
    assert body["has_credentials"] is True
    assert body["credential_fields"] == ["account_sid", "auth_token"]
    assert body["rate_limit_per_minute"] == 17_000 and body["status"] == "active"
    assert TWILIO["auth_token"] not in await resp.text()

    stored = await SendingList.get(id=body["id"])
    assert TWILIO["auth_token"] not in (stored.credentials_sealed or "")
    assert open_credentials(services.box, stored) == TWILIO
    assert len(stored.webhook_token) >= 32

    for role in Role:
        got = await http.get(f"/api/v2/lists/{body['id']}", headers=tenant.headers(role))
        text = await got.text()
        assert got.status == 200 and TWILIO["auth_token"] not in text
        assert TWILIO["account_sid"] not in text
        shown = await got.json()
        assert (shown["webhook_token"] is not None) == (role == Role.OWNER)


async def test_member_builds_lists_but_cannot_touch_credentials(services, http):
    tenant = await make_tenant(services)
    member = tenant.headers(Role.MEMBER)
    resp = await http.post("/api/v2/lists", headers=member, json={
        "phone_number": "+14155550001", "provider": "twilio", "credentials": TWILIO})
    assert (resp.status, (await resp.json())["code"]) == (403, "forbidden")
    assert await SendingList.all().count() == 0

    resp = await http.post("/api/v2/lists", headers=member, json={
        "phone_number": "+14155550001", "provider": "twilio"})
    assert resp.status == 201
    created = await resp.json()
    assert created["has_credentials"] is False

    resp = await http.patch(f"/api/v2/lists/{created['id']}", headers=member,
                            json={"credentials": TWILIO})
    assert resp.status == 403
    resp = await http.patch(f"/api/v2/lists/{created['id']}", headers=tenant.headers(),
                            json={"credentials": TWILIO})
    assert resp.status == 200 and (await resp.json())["has_credentials"] is True

    resp = await http.patch(f"/api/v2/lists/{created['id']}", headers=member,
                            json={"rate_limit_per_minute": 600, "status": "inactive"})
    assert resp.status == 200
    assert (await resp.json())["rate_limit_per_minute"] == 600

    viewer = tenant.headers(Role.VIEWER)
    resp = await http.post("/api/v2/lists", headers=viewer, json={
        "phone_number": "+14155550002", "provider": "simulator"})
    assert resp.status == 403


async def test_bad_lists_are_refused_and_nothing_is_stored(services, http):
    tenant = await make_tenant(services)
    cases = [
        ({"provider": "simulator"}, "missing_phone_number"),
        ({"phone_number": "+14155550003", "provider": "nexmo"}, "invalid_provider"),
        ({"phone_number": "not a number", "provider": "simulator"}, "invalid_phone"),
        ({"phone_number": "1234", "provider": "simulator"}, "invalid_phone"),
        ({"phone_number": "+14155550003", "provider": "twilio",
          "credentials": {"account_sid": "AC123"}}, "invalid_credentials"),
        ({"phone_number": "+14155550003", "provider": "twilio",
          "credentials": {**TWILIO, "password": "x"}}, "invalid_credentials"),
        ({"phone_number": "+14155550003", "provider": "twilio",
          "credentials": {"account_sid": "AC" + "z" * 32, "auth_token": "f0" * 16}},
         "invalid_credentials"),
        ({"phone_number": "+14155550003", "provider": "cm",
          "credentials": {"product_token": "not-a-uuid"}}, "invalid_credentials"),
        ({"phone_number": "+14155550003", "provider": "infobip", "credentials": {}},
         "invalid_credentials"),
        ({"phone_number": "+14155550003", "provider": "simulator",
          "credentials": {"api_key": "x" * 20}}, "invalid_credentials"),
        ({"phone_number": "+14155550003", "provider": "simulator",
          "rate_limit_per_minute": 0}, "invalid_rate_limit_per_minute"),
        ({"phone_number": "+14155550003", "provider": "simulator", "status": "paused"},
         "invalid_status"),
        ({"phone_number": "+14155550003", "provider": "simulator", "surprise": 1},
         "unknown_field"),
    ]
    for body, code in cases:
        resp = await http.post("/api/v2/lists", headers=tenant.headers(), json=body)
        assert resp.status == 400, body
        assert (await resp.json())["code"] == code, body
    assert await SendingList.all().count() == 0


async def test_other_providers_and_short_codes(services, http):
    tenant = await make_tenant(services)
    resp = await http.post("/api/v2/lists", headers=tenant.headers(), json={
        "phone_number": "55 55 55", "provider": "cm",
        "credentials": {"product_token": "0b8e6a3c-8d64-4b59-9d1b-3a4f0b6a8e21"}})
    assert resp.status == 201
    body = await resp.json()
    assert (body["phone_number"], body["number_type"]) == ("555555", NumberType.SHORT_CODE)
    resp = await http.post("/api/v2/lists", headers=tenant.headers(), json={
        "phone_number": "1-800-555-1234", "provider": "infobip",
        "credentials": {"api_key": "k" * 40, "base_url": "https://xyz.api.infobip.com"}})
    assert resp.status == 201
    assert (await resp.json())["number_type"] == "toll_free"


async def test_one_number_is_one_list_system_wide(services, http):
    a = await make_tenant(services, "A", "a@a.test")
    b = await make_tenant(services, "B", "b@b.test")
    ok = await http.post("/api/v2/lists", headers=a.headers(),
                         json={"phone_number": "+14155550004", "provider": "simulator"})
    assert ok.status == 201
    taken = await http.post("/api/v2/lists", headers=b.headers(),
                            json={"phone_number": "415 555 0004", "provider": "simulator"})
    assert (taken.status, (await taken.json())["code"]) == (409, "list_number_taken")
    list_id = (await ok.json())["id"]
    for method in ("get", "patch"):
        resp = await getattr(http, method)(f"/api/v2/lists/{list_id}", headers=b.headers(),
                                           json={"name": "mine now"})
        assert (resp.status, (await resp.json())["code"]) == (404, "list_not_found")
    assert (await SendingList.get(id=list_id)).name == ""
    listing = await (await http.get("/api/v2/lists", headers=b.headers())).json()
    assert listing["data"] == [] and listing["pagination"]["total"] == 0


async def test_changing_provider_drops_the_old_credentials(services, http):
    tenant = await make_tenant(services)
    made = await (await http.post("/api/v2/lists", headers=tenant.headers(), json={
        "phone_number": "+14155550005", "provider": "twilio", "credentials": TWILIO})).json()
    member = tenant.headers(Role.MEMBER)
    resp = await http.patch(f"/api/v2/lists/{made['id']}", headers=member,
                            json={"provider": "infobip"})
    assert resp.status == 403  # would throw away credentials: owner only
    resp = await http.patch(f"/api/v2/lists/{made['id']}", headers=tenant.headers(),
                            json={"provider": "infobip"})
    body = await resp.json()
    assert body["provider"] == "infobip" and body["has_credentials"] is False


async def test_list_pagination(services, http):
    tenant = await make_tenant(services)
    for i in range(3):
        await http.post("/api/v2/lists", headers=tenant.headers(),
                        json={"phone_number": f"+1415555010{i}", "provider": "simulator"})
    page = await (await http.get("/api/v2/lists?per_page=2&page=2",
                                 headers=tenant.headers())).json()
    assert page["pagination"] == {"page": 2, "per_page": 2, "total": 3, "total_pages": 2}
    assert [x["phone_number"] for x in page["data"]] == ["+14155550102"]


async def test_provider_defaults_to_the_installation_setting(services, http):
    from tests.factories import make_tenant

    tenant = await make_tenant(services, "Defaults", "d@d.test")
    resp = await http.post("/api/v2/lists", headers=tenant.headers(),
                           json={"phone_number": "+14155550009"})
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["provider"] == services.settings.default_provider == "simulator"
