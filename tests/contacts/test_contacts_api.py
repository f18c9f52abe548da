"""Contacts over the REST API, as API.md shapes them."""

from __future__ import annotations

import datetime as dt

from core.contacts.models import Contact, LineType, ListContact, SubscriptionStatus
from core.messaging.models import MessageEvent, MessageSent, MessageStatus
from core.permissions import Role
from core.system.models import IdempotencyRecord
from tests.contacts.helpers import LIST_NUMBER, make_list, queue_message
from tests.contacts.test_phones import TEN_FORMATS
from tests.factories import make_tenant


async def post(http, tenant, body, role=Role.OWNER, headers=None):
    resp = await http.post("/api/v2/contacts", headers={**tenant.headers(role),
                                                        **(headers or {})}, json=body)
    return resp.status, await resp.json()


async def test_the_same_number_in_many_formats_is_one_contact(services, http):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    ids = set()
    for i, raw in enumerate(TEN_FORMATS):
        status, body = await post(http, tenant, {"phone_number": raw,
                                                 "list_number": "(415) 555-0000"})
        assert status == (201 if i == 0 else 200), body
        assert body["is_new_contact"] is (i == 0)
        assert body["is_new_list_contact"] is (i == 0)
        ids.add((body["contact_id"], body["list_contact_id"]))
    assert len(ids) == 1
    assert await Contact.all().count() == 1
    assert await ListContact.all().count() == 1
    contact = await Contact.get()
    assert (contact.phone_number, contact.timezone, contact.state, contact.line_type) == (
        "+14155550100", "America/Los_Angeles", "CA", LineType.CELL)


async def test_upsert_shape_consent_and_zeroed_stats(services, http, clock):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    status, body = await post(http, tenant, {
        "phone_number": "+1 212 736 5000", "list_number": LIST_NUMBER,
        "signup_date": "2026-02-01", "ip_address": "203.0.113.9",
        "url": "https://deals.example/join", "custom_fields": {"zip": "02134", "vip": True},
        "first_name": "Ann", "use_journeys": True, "skip_journey_if_exists": True})
    assert status == 201
    assert set(body) == {"success", "contact_id", "list_contact_id", "is_new_contact",
                         "is_new_list_contact", "journeys_enrolled", "status"}
    assert body["journeys_enrolled"] == [] and body["status"] == "active"

    listing = await (await http.get("/api/v2/contacts", headers=tenant.headers())).json()
    [row] = listing["data"]
    assert row["phone_number"] == "+12127365000" and row["list_number"] == LIST_NUMBER
    assert row["signup_method"] == "api" and row["signup_date"] == "2026-02-01T00:00:00+00:00"
    assert row["consent_ip"] == "203.0.113.9"
    assert row["consent_url"] == "https://deals.example/join"
    assert row["custom_fields"] == {"zip": "02134", "vip": True}
    assert row["first_name"] == "Ann" and row["state"] == "NY"
    assert (row["send_count"], row["click_count"], row["conversion_count"]) == (0, 0, 0)
    assert row["revenue_total"] in ("0", "0.0000")
    assert row["last_sent_at"] is None and row["unsubscribe_reason"] is None


async def test_custom_fields_merge_replace_and_remove(services, http):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    base = {"phone_number": "4155550101", "list_number": LIST_NUMBER}
    await post(http, tenant, {**base, "custom_fields": {"a": "1", "b": 2}})
    await post(http, tenant, {**base, "custom_fields": {"b": 3, "c": False}})
    lc = await ListContact.get()
    assert lc.custom_fields == {"a": "1", "b": 3, "c": False}

    resp = await http.put("/api/v2/contacts", headers=tenant.headers(),
                          json={**base, "custom_fields": {"a": None, "d": 1.5}})
    assert resp.status == 200
    assert (await resp.json())["custom_fields"] == {"b": 3, "c": False, "d": 1.5}

    resp = await http.put("/api/v2/contacts", headers=tenant.headers(),
                          json={**base, "custom_fields": {"only": "this"},
                                "merge_fields": False})
    assert (await resp.json())["custom_fields"] == {"only": "this"}
    await post(http, tenant, {**base, "custom_fields": {"x": "y"},
                              "replace_custom_fields": True})
    assert (await ListContact.get()).custom_fields == {"x": "y"}


async def test_put_errors(services, http):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    base = {"phone_number": "4155550102", "list_number": LIST_NUMBER}
    cases = [
        ({**base, "custom_fields": {"a": 1}}, 404, "contact_not_on_list"),
        (base, 400, "missing_custom_fields"),
        ({**base, "custom_fields": {}}, 400, "missing_custom_fields"),
        ({**base, "custom_fields": {"Bad Key": 1}}, 400, "invalid_custom_fields"),
        ({**base, "custom_fields": {"a": [1, 2]}}, 400, "invalid_custom_fields"),
        ({**base, "custom_fields": {"a": {"nested": 1}}}, 400, "invalid_custom_fields"),
        ({**base, "custom_fields": "text"}, 400, "invalid_custom_fields"),
        ({**base, "list_number": "+19995550000", "custom_fields": {"a": 1}}, 404,
         "list_not_found"),
    ]
    for body, status, code in cases:
        if code == "contact_not_on_list":
            resp = await http.put("/api/v2/contacts", headers=tenant.headers(), json=body)
            assert (resp.status, (await resp.json())["code"]) == (status, code)
            await post(http, tenant, base)  # now it is on the list
            continue
        resp = await http.put("/api/v2/contacts", headers=tenant.headers(), json=body)
        assert (resp.status, (await resp.json())["code"]) == (status, code), body
    assert (await ListContact.get()).custom_fields == {}


async def test_post_errors_change_nothing(services, http):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    cases = [
        ({"list_number": LIST_NUMBER}, "missing_phone_number"),
        ({"phone_number": "4155550103"}, "missing_list_number"),
        ({"phone_number": "555-0100", "list_number": LIST_NUMBER}, "invalid_phone"),
        ({"phone_number": "4155550103", "list_number": "+13125550000"}, "list_not_found"),
        ({"phone_number": "4155550103", "list_number": LIST_NUMBER,
          "signup_date": "2030-01-01"}, "invalid_signup_date"),
        ({"phone_number": "4155550103", "list_number": LIST_NUMBER,
          "signup_date": "yesterday"}, "invalid_signup_date"),
        ({"phone_number": "4155550103", "list_number": LIST_NUMBER,
          "ip_address": "300.1.1.1"}, "invalid_ip_address"),
        ({"phone_number": "4155550103", "list_number": LIST_NUMBER,
          "url": "javascript:alert(1)"}, "invalid_url"),
        ({"phone_number": "4155550103", "list_number": LIST_NUMBER,
          "email": "not-mail"}, "invalid_email"),
        ({"phone_number": "4155550103", "list_number": LIST_NUMBER,
          "custom_fields": {"1bad": 1}}, "invalid_custom_fields"),
    ]
    for body, code in cases:
        status, answer = await post(http, tenant, body)
        assert answer["code"] == code, (body, answer)
        assert status in (400, 404)
    status, answer = await post(http, tenant, {"phone_number": "4155550103",
                                               "list_number": LIST_NUMBER},
                                role=Role.VIEWER)
    assert (status, answer["code"]) == (403, "forbidden")
    assert await ListContact.all().count() == 0


async def test_landlines_only_where_the_list_accepts_them(services, http):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    await make_list(services, tenant, "+14155550009", allow_landlines=True)
    landline = "+44 20 7946 0958"
    status, body = await post(http, tenant, {"phone_number": landline,
                                             "list_number": LIST_NUMBER})
    assert (status, body["code"]) == (400, "landline_not_allowed")
    status, body = await post(http, tenant, {"phone_number": landline,
                                             "list_number": "+14155550009"})
    assert status == 201


async def test_list_filters_order_and_page_size(services, http, clock):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    await make_list(services, tenant, "+14155550009")
    for day, phone in [(1, "4155550111"), (3, "4155550113"), (2, "4155550112")]:
        await post(http, tenant, {"phone_number": phone, "list_number": LIST_NUMBER,
                                  "signup_date": f"2026-02-0{day}"})
    await post(http, tenant, {"phone_number": "4155550114", "list_number": "+14155550009"})
    await http.delete("/api/v2/contacts", headers=tenant.headers(),
                      json={"phone_number": "4155550112", "list_number": LIST_NUMBER,
                            "confirm": True})
    got = await (await http.get(f"/api/v2/contacts?list_number={LIST_NUMBER}",
                                headers=tenant.headers(Role.VIEWER))).json()
    assert [r["phone_number"][-3:] for r in got["data"]] == ["113", "112", "111"]
    active = await (await http.get(f"/api/v2/contacts?list_number={LIST_NUMBER}&active=true",
                                   headers=tenant.headers())).json()
    assert [r["phone_number"][-3:] for r in active["data"]] == ["113", "111"]
    gone = await (await http.get("/api/v2/contacts?active=false",
                                 headers=tenant.headers())).json()
    assert [r["unsubscribe_reason"] for r in gone["data"]] == ["manual"]
    everything = await (await http.get("/api/v2/contacts?per_page=1000",
                                       headers=tenant.headers())).json()
    assert everything["pagination"]["total"] == 4
    too_many = await http.get("/api/v2/contacts?per_page=1001", headers=tenant.headers())
    assert (await too_many.json())["code"] == "invalid_per_page"
    bad = await http.get("/api/v2/contacts?active=maybe", headers=tenant.headers())
    assert (await bad.json())["code"] == "invalid_active"
    # One true/false rule for every query and form flag (the import form's dry_run=off too).
    for word in ("On", "YES", "1"):
        same = await http.get(f"/api/v2/contacts?list_number={LIST_NUMBER}&active={word}",
                              headers=tenant.headers())
        assert (await same.json())["data"] == active["data"], word
    off = await http.get("/api/v2/contacts?active=off", headers=tenant.headers())
    assert (await off.json())["data"] == gone["data"]


async def test_delete_unsubscribes_and_drops_queued_messages(services, http, clock):
    tenant = await make_tenant(services)
    sending_list = await make_list(services, tenant)
    _, body = await post(http, tenant, {"phone_number": "4155550120",
                                        "list_number": LIST_NUMBER})
    queued = await queue_message(sending_list, body["contact_id"])
    sent = await queue_message(sending_list, body["contact_id"], status=MessageStatus.SENT)
    target = {"phone_number": "(415) 555-0120", "list_number": LIST_NUMBER}

    resp = await http.delete("/api/v2/contacts", headers=tenant.headers(), json=target)
    assert (resp.status, (await resp.json())["code"]) == (400, "confirm_required")
    assert (await ListContact.get()).status == SubscriptionStatus.ACTIVE

    resp = await http.delete("/api/v2/contacts", headers=tenant.headers(),
                             json={**target, "confirm": True})
    answer = await resp.json()
    assert resp.status == 200 and answer["status"] == "unsubscribed"
    lc = await ListContact.get()
    assert (lc.status, lc.unsubscribe_reason) == (SubscriptionStatus.UNSUBSCRIBED, "manual")
    assert lc.unsubscribed_at == clock.now()
    dropped = await MessageSent.get(id=queued.id)
    assert (dropped.status, dropped.status_detail) == (MessageStatus.DROPPED, "unsubscribed")
    assert (await MessageSent.get(id=sent.id)).status == MessageStatus.SENT
    assert await MessageEvent.filter(message_id=queued.id, status="dropped").count() == 1

    again = await http.delete("/api/v2/contacts", headers=tenant.headers(),
                              json={**target, "confirm": True})
    assert again.status == 200  # idempotent
    missing = await http.delete("/api/v2/contacts", headers=tenant.headers(), json={
        "phone_number": "4155550199", "list_number": LIST_NUMBER, "confirm": True})
    assert (await missing.json())["code"] == "contact_not_on_list"


async def test_readding_after_manual_removal_but_never_after_an_opt_out(services, http):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    base = {"phone_number": "4155550130", "list_number": LIST_NUMBER}
    await post(http, tenant, base)
    await http.delete("/api/v2/contacts", headers=tenant.headers(),
                      json={**base, "confirm": True})
    status, body = await post(http, tenant, base)
    assert (status, body["status"]) == (200, "active")

    await ListContact.filter().update(status=SubscriptionStatus.UNSUBSCRIBED,
                                      unsubscribe_reason="message",
                                      unsubscribed_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    status, body = await post(http, tenant, {**base, "custom_fields": {"k": "v"}})
    assert body["status"] == "unsubscribed"
    lc = await ListContact.get()
    assert lc.status == SubscriptionStatus.UNSUBSCRIBED and lc.custom_fields == {"k": "v"}


async def test_bulk_each_entry_on_its_own(services, http):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    resp = await http.post("/api/v2/contacts/bulk", headers=tenant.headers(), json={
        "list_number": LIST_NUMBER,
        "contacts": [
            {"phone_number": "4155550140"},
            {"phone_number": "nope"},
            {"phone_number": "4155550141", "custom_fields": {"a": 1}},
            "not an object",
            {"phone_number": "4155550142", "list_number": "+19995550000"},
            {"phone_number": "4155550140", "first_name": "Dup"},
            {"list_number": LIST_NUMBER},
        ]})
    body = await resp.json()
    assert resp.status == 200
    assert body["success"] is True
    assert body["upserted_count"] == 3 and body["error_count"] == 4
    assert [(e["index"], e["code"]) for e in body["errors"]] == [
        (1, "invalid_phone"), (3, "invalid_contact"), (4, "list_not_found"),
        (6, "missing_phone_number")]
    assert all(e["error"] for e in body["errors"])
    assert [r["index"] for r in body["results"]] == [0, 2, 5]
    assert await ListContact.all().count() == 2

    too_many = await http.post("/api/v2/contacts/bulk", headers=tenant.headers(), json={
        "list_number": LIST_NUMBER, "contacts": [{"phone_number": "4155550140"}] * 1001})
    assert (await too_many.json())["code"] == "too_many_contacts"
    empty = await http.post("/api/v2/contacts/bulk", headers=tenant.headers(),
                            json={"contacts": []})
    assert (await empty.json())["code"] == "missing_contacts"


async def test_idempotency_key_replays_and_conflicts(services, http):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    key = {"Idempotency-Key": "order-42"}
    body = {"phone_number": "4155550150", "list_number": LIST_NUMBER}
    first = await http.post("/api/v2/contacts", headers={**tenant.headers(), **key}, json=body)
    assert first.status == 201
    again = await http.post("/api/v2/contacts", headers={**tenant.headers(), **key}, json=body)
    assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert await again.json() == await first.json()
    other = await http.post("/api/v2/contacts", headers={**tenant.headers(), **key},
                            json={**body, "first_name": "Changed"})
    assert (other.status, (await other.json())["code"]) == (409, "idempotency_conflict")
    assert (await ListContact.get()).first_name == ""

    # A failed request is forgotten, so the corrected retry goes through.
    bad_key = {"Idempotency-Key": "order-43"}
    failed = await http.post("/api/v2/contacts", headers={**tenant.headers(), **bad_key},
                             json={"phone_number": "x", "list_number": LIST_NUMBER})
    assert failed.status == 400
    assert not await IdempotencyRecord.filter(key="order-43").exists()

    other_tenant = await make_tenant(services, "B", "b@b.test")
    await make_list(services, other_tenant, "+14155550009")
    theirs = await http.post("/api/v2/contacts", headers={**other_tenant.headers(), **key},
                             json={"phone_number": "4155550150",
                                   "list_number": "+14155550009"})
    assert theirs.status == 201  # keys are per account
