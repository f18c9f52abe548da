"""POST /send, /send/bulk and GET /messages as API.md shapes them, over real HTTP."""

from __future__ import annotations

import datetime as dt

import pytest

from core.contacts.models import Block, ListContact, SubscriptionStatus
from core.messaging.models import MessageSent, MessageShortLink
from core.permissions import Role
from tests.factories import make_tenant
from tests.messaging.helpers import make_list
from trackly.bootstrap import build_executor

NUMBER = "+14155550100"


@pytest.fixture
async def tenant(services):
    tenant = await make_tenant(services)
    await make_list(tenant.account.id, NUMBER)
    return tenant


async def post(http, tenant, body, role=Role.OWNER, **headers):
    resp = await http.post("/api/v2/send", json=body,
                           headers={**tenant.headers(role), **headers})
    return resp.status, await resp.json()


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"body": "hi", "list_number": NUMBER}, 400, "missing_to"),
    ({"to": "2125550101", "list_number": NUMBER}, 400, "missing_body"),
    ({"to": "2125550101", "body": "hi"}, 400, "missing_list_number"),
    ({"to": "12345", "body": "hi", "list_number": NUMBER}, 400, "invalid_phone"),
    ({"to": "2125550101", "body": "hi", "list_number": "+14155550199"}, 404,
     "list_not_found"),
    ({"to": "2125550101", "body": "Go {{link1}}", "list_number": NUMBER}, 400,
     "missing_link_offer"),
    ({"to": "2125550101", "body": "Hi {{nmae}}", "list_number": NUMBER}, 400, "invalid_body"),
    ({"to": "2125550101", "body": "x" * 1601, "list_number": NUMBER}, 400, "invalid_body"),
    ({"to": "2125550101", "body": "Claim at bit.ly/x", "list_number": NUMBER}, 400,
     "blocked_content"),
    ({"to": "2125550101", "creative_id": 999, "list_number": NUMBER}, 404,
     "creative_not_found"),
    ({"to": "2125550101", "body": "hi", "list_number": NUMBER, "from": "x"}, 400,
     "unknown_field"),
])
async def test_bad_sends_are_refused_and_queue_nothing(http, tenant, body, status, code):
    got_status, got = await post(http, tenant, body)
    assert (got_status, got["code"]) == (status, code), got
    assert await MessageSent.all().count() == 0


async def test_viewers_cannot_send(http, tenant):
    status, body = await post(http, tenant, {"to": "2125550101", "body": "hi",
                                             "list_number": NUMBER}, Role.VIEWER)
    assert (status, body["code"]) == (403, "forbidden")
    assert await MessageSent.all().count() == 0


async def test_opted_out_and_blocked_numbers(http, services, tenant):
    status, _ = await post(http, tenant, {"to": "2125550101", "body": "hi",
                                          "list_number": NUMBER})
    assert status == 201
    sub = await ListContact.get_or_none(contact__phone_number="+12125550101")
    assert sub is None  # a one-off send does not subscribe anyone
    await services.contacts.upsert_contact(tenant.owner, _entry("+12125550102"))
    await services.contacts.unsubscribe(tenant.owner, phone_number="+12125550102",
                                        list_number=NUMBER)
    status, body = await post(http, tenant, {"to": "(212) 555-0102", "body": "hi",
                                             "list_number": NUMBER})
    assert (status, body["code"]) == (400, "contact_unsubscribed")
    assert (await ListContact.get(contact__phone_number="+12125550102")).status == \
        SubscriptionStatus.UNSUBSCRIBED
    await Block.create(account_id=tenant.account.id, phone_number="+12125550103")
    status, body = await post(http, tenant, {"to": "2125550103", "body": "hi",
                                             "list_number": NUMBER})
    assert status == 201  # queued; the executor drops it (contact_blocked) before it leaves


def _entry(phone):
    from core.contacts.service import ContactInput

    return ContactInput(phone_number=phone, list_number=NUMBER)


async def test_idempotency_key_returns_the_first_message(http, tenant):
    body = {"to": "2125550101", "body": "Your code is 1234", "list_number": NUMBER,
            "transactional": True}
    first_status, first = await post(http, tenant, body, **{"Idempotency-Key": "k-1"})
    again_status, again = await post(http, tenant, body, **{"Idempotency-Key": "k-1"})
    assert (first_status, again_status) == (201, 201)
    assert again == first
    assert await MessageSent.all().count() == 1
    status, conflict = await post(http, tenant, {**body, "body": "other"},
                                  **{"Idempotency-Key": "k-1"})
    assert (status, conflict["code"]) == (409, "idempotency_conflict")
    assert await MessageSent.all().count() == 1


async def test_creative_send_makes_one_short_link_per_link_key(http, services, tenant):
    offer = await services.offers.create(tenant.owner, name="Solar",
                                         tracking_url="https://trk.example/c?id={click_id}")
    creative = await services.creatives.create(
        tenant.owner, name="Q", body="Quote {{link1}} or call {{link2}}",
        link_bindings={"link1": {"offer_id": offer.id, "params": {"sub1": "a"}},
                       "link2": {"offer_id": offer.id}})
    status, sent = await post(http, tenant, {"to": "2125550101", "creative_id": creative.id,
                                             "list_number": NUMBER})
    assert status == 201, sent
    row = await MessageSent.get(public_id=sent["message_id"])
    links = await MessageShortLink.filter(message_id=row.id).order_by("link_key")
    assert [link.link_key for link in links] == ["link1", "link2"]
    for link in links:
        assert f"http://127.0.0.1:8080/{link.code}" in row.body and len(link.code) == 7
    assert links[0].destination_url == "https://trk.example/c?id={click_id}&sub1=a"
    assert (row.creative_id, row.offer_id) == (creative.id, offer.id)
    assert sent["segments"] == row.segments and sent["encoding"] == "GSM-7"


async def test_a_body_and_a_creative_together_are_refused(http, services, tenant):
    """Which one would the client get? Neither: it says what to fix."""
    offer = await services.offers.create(tenant.owner, name="Solar",
                                         tracking_url="https://trk.example/c")
    creative = await services.creatives.create(
        tenant.owner, name="Q", body="Quote {{link1}}",
        link_bindings={"link1": {"offer_id": offer.id}})
    status, body = await post(http, tenant, {"to": "2125550101", "body": "Hello there",
                                             "creative_id": creative.id,
                                             "list_number": NUMBER})
    assert (status, body["code"]) == (400, "body_and_creative_id"), body
    assert "not both" in body["error"]
    assert await MessageSent.all().count() == 0


async def test_bulk_send_queues_each_on_its_own(http, tenant):
    resp = await http.post("/api/v2/send/bulk", headers=tenant.headers(), json={
        "list_number": NUMBER, "messages": [
            {"to": "2125550101", "body": "one"}, {"to": "nope", "body": "two"},
            {"to": "2125550103"}, {"to": "2125550104", "body": "four"}]})
    assert resp.status == 201
    body = await resp.json()
    assert (body["queued_count"], body["error_count"]) == (2, 2)
    assert [(e["index"], e["code"]) for e in body["errors"]] == [(1, "invalid_phone"),
                                                                  (2, "missing_body")]
    assert await MessageSent.all().count() == 2

    for payload, code in [({"list_number": NUMBER}, "missing_messages"),
                          ({"list_number": NUMBER, "messages": [{"to": "1", "body": "x"}] *
                            1001}, "too_many_messages")]:
        resp = await http.post("/api/v2/send/bulk", headers=tenant.headers(), json=payload)
        assert (resp.status, (await resp.json())["code"]) == (400, code)
    assert await MessageSent.all().count() == 2


async def test_listing_messages_filters_and_pages(http, tenant):
    for n in range(3):
        await post(http, tenant, {"to": f"212555010{n}", "body": f"m{n}",
                                  "list_number": NUMBER})
    resp = await http.get("/api/v2/messages?status=queued&per_page=2",
                          headers=tenant.headers(Role.VIEWER))
    page = await resp.json()
    assert page["pagination"] == {"page": 1, "per_page": 2, "total": 3, "total_pages": 2}
    assert [m["body"][-19:] for m in page["data"]] == ["m2 Reply STOP to opt out."[-19:],
                                                       "m1 Reply STOP to opt out."[-19:]]
    for query, code in [("status=lost", "invalid_status"), ("since=yesterday", "invalid_since"),
                        ("list_number=%2B14155550199", "list_not_found")]:
        resp = await http.get(f"/api/v2/messages?{query}", headers=tenant.headers())
        assert (await resp.json())["code"] == code


async def test_another_accounts_message_is_404(http, services, tenant):
    _, sent = await post(http, tenant, {"to": "2125550101", "body": "hi",
                                        "list_number": NUMBER})
    other = await make_tenant(services, "Other", "o@other.test")
    resp = await http.get(f"/api/v2/messages/{sent['message_id']}", headers=other.headers())
    assert (resp.status, (await resp.json())["code"]) == (404, "message_not_found")


async def test_bulk_items_of_the_wrong_type_are_item_errors_never_a_500(http, tenant):
    """A body that is no string used to be a 500 that queued nothing; "false" (a string)
    made a marketing message transactional, exempt from quiet hours."""
    resp = await http.post("/api/v2/send/bulk", headers=tenant.headers(), json={
        "list_number": NUMBER, "messages": [
            {"to": "2125550101", "body": 123}, {"to": "2125550102", "body": ["x"]},
            {"to": "2125550103", "body": "fine"},
            {"to": "2125550104", "body": "hi", "transactional": "false"},
            {"to": ["2125550105"], "body": "hi"},
            {"to": "2125550106", "body": "urgent", "transactional": True}]})
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert [(e["index"], e["code"]) for e in body["errors"]] == [
        (0, "invalid_body"), (1, "invalid_body"), (3, "invalid_transactional"),
        (4, "invalid_to")]
    assert [m["index"] for m in body["messages"]] == [2, 5]
    rows = {m.to_number: m.transactional for m in await MessageSent.all()}
    assert rows == {"+12125550103": False, "+12125550106": True}


async def test_listing_by_list_number_takes_any_form_the_send_takes(http, tenant):
    """?list_number=+14155550100 arrives as " 14155550100" ('+' is a space in a query);
    /send accepted the number in any form while GET /messages wanted exact E.164, and a
    NUL byte in it was a 500 on PostgreSQL."""
    await post(http, tenant, {"to": "2125550101", "body": "hi", "list_number": NUMBER})
    for raw in ["+14155550100", "4155550100", "%2B1%20(415)%20555-0100"]:
        resp = await http.get(f"/api/v2/messages?list_number={raw}",
                              headers=tenant.headers())
        assert resp.status == 200, (raw, await resp.text())
        assert (await resp.json())["pagination"]["total"] == 1
    for raw in ["%00", "4155550199"]:
        resp = await http.get(f"/api/v2/messages?list_number={raw}",
                              headers=tenant.headers())
        assert (resp.status, (await resp.json())["code"]) == (404, "list_not_found")


@pytest.mark.parametrize("query", ["since=0001-01-01T00:00:00%2B01:00",
                                   "until=9999-12-31T23:59:59-01:00"])
async def test_times_past_the_calendar_in_utc_are_refused_not_a_500(http, tenant, query):
    resp = await http.get(f"/api/v2/messages?{query}", headers=tenant.headers())
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["code"] == f"invalid_{query.split('=')[0]}"


async def test_a_message_held_by_quiet_hours_shows_why_and_until_when(http, services, clock,
                                                                       tenant):
    """Item 21: a marketing message at 07:30 in New York waits for 08:00, and the message
    says so itself (not only its history), in GET /messages/{id} and in the listing."""
    clock.set(dt.datetime(2026, 3, 3, 12, 30, tzinfo=dt.UTC))  # 07:30 in New York
    status, sent = await post(http, tenant, {"to": "2125550101", "body": "Deals",
                                             "list_number": NUMBER})
    assert status == 201, sent
    executor = build_executor(services)
    assert (await executor.drain()).deferred == 1

    resp = await http.get(f"/api/v2/messages/{sent['message_id']}", headers=tenant.headers())
    one = await resp.json()
    assert (one["status"], one["status_detail"], one["release_at"]) == (
        "queued", "quiet_hours", "2026-03-03T13:00:00+00:00")
    resp = await http.get("/api/v2/messages", headers=tenant.headers())
    [listed] = (await resp.json())["data"]
    assert (listed["status_detail"], listed["release_at"]) == (
        "quiet_hours", "2026-03-03T13:00:00+00:00")

    clock.set(dt.datetime(2026, 3, 3, 13, 0, tzinfo=dt.UTC))
    assert (await executor.drain()).sent == 1
    resp = await http.get(f"/api/v2/messages/{sent['message_id']}", headers=tenant.headers())
    after = await resp.json()
    assert after["status"] in ("sent", "delivered")
    assert (after["status_detail"], after["release_at"]) == (None, None)
    await services.providers.close()


async def test_the_openapi_document_names_every_status_detail(http):
    """status_detail is one documented set: the drop reasons and the other details."""
    resp = await http.get("/api/v2/openapi.json")
    schemas = (await resp.json())["components"]["schemas"]
    message = schemas["MessageOut"]["properties"]
    assert "release_at" in message
    documented = {value for ref in ("DropReason", "StatusDetail")
                  for value in schemas[ref]["enum"]}
    assert documented >= {"stale", "blocked_content", "contact_blocked", "inactive_list",
                          "billing_expired", "quiet_hours_expired", "orphan",
                          "quiet_hours", "billing_hold"}
