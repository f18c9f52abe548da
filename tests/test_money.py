"""Money in responses is a decimal string at one scale per kind of amount, the same on
create and on read (API.md: "Money: decimal strings"); requests may give a string or a
number, read as a Decimal."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_tenant
from tests.messaging.helpers import make_list

AMOUNT = re.compile(r"^\d+\.\d{4}$")  # payouts and revenue
PRICE = re.compile(r"^\d+\.\d{6}$")  # what a message costs
LIST = "+14155550100"


@pytest.fixture
async def tenant(services):
    tenant = await make_tenant(services)
    await make_list(tenant.account.id, LIST)
    return tenant


async def _json(resp, status):
    body = await resp.json()
    assert resp.status == status, body
    return body


@pytest.mark.parametrize(("payout", "expected"), [
    (None, "0.0000"), (0, "0.0000"), (12.5, "12.5000"), ("7", "7.0000"),
    ("0.1", "0.1000"), (0.1, "0.1000"), (99999999.9999, "99999999.9999")])
async def test_offer_money_on_create_and_read(http, tenant, payout, expected):
    body = {"name": "Solar", "tracking_url": "https://trk.example/c"}
    if payout is not None:
        body["payout"] = payout
    created = await _json(await http.post("/api/v2/offers", headers=tenant.headers(),
                                           json=body), 201)
    read = await _json(await http.get(f"/api/v2/offers/{created['id']}",
                                      headers=tenant.headers()), 200)
    listed = await _json(await http.get("/api/v2/offers", headers=tenant.headers()), 200)
    for offer in (created, read, listed["data"][0]):
        assert (offer["payout"], offer["performance"]["revenue"]) == (expected, "0.0000")


async def test_creative_contact_and_message_money_on_create_and_read(http, tenant):
    offer = await _json(await http.post("/api/v2/offers", headers=tenant.headers(), json={
        "name": "Solar", "tracking_url": "https://trk.example/c"}), 201)
    created = await _json(await http.post("/api/v2/creatives", headers=tenant.headers(), json={
        "name": "Q", "body": "Quote {{link1}}",
        "link_bindings": {"link1": {"offer_id": offer["id"]}}}), 201)
    read = await _json(await http.get(f"/api/v2/creatives/{created['id']}",
                                      headers=tenant.headers()), 200)
    for creative in (created, read):
        assert AMOUNT.match(creative["performance"]["revenue"]), creative
        assert PRICE.match(creative["cost"]) and PRICE.match(
            creative["smart_encoding"]["cost"]), creative
    assert created["performance"] == read["performance"]

    await _json(await http.post("/api/v2/contacts", headers=tenant.headers(), json={
        "phone_number": "2125550101", "list_number": LIST}), 201)
    contacts = await _json(await http.get("/api/v2/contacts", headers=tenant.headers()), 200)
    assert contacts["data"][0]["revenue_total"] == "0.0000"

    sent = await _json(await http.post("/api/v2/send", headers=tenant.headers(), json={
        "to": "2125550101", "creative_id": created["id"], "list_number": LIST}), 201)
    message = await _json(await http.get(f"/api/v2/messages/{sent['message_id']}",
                                         headers=tenant.headers()), 200)
    assert PRICE.match(sent["price"]) and sent["price"] == message["price"]
    bulk = await _json(await http.post("/api/v2/send/bulk", headers=tenant.headers(), json={
        "list_number": LIST, "messages": [{"to": "2125550102", "body": "Hi"}]}), 201)
    assert PRICE.match(bulk["messages"][0]["price"])


@pytest.mark.parametrize("payout", [True, "1e400", "NaN", "-0.01", "12.5.0", [], {}])
async def test_money_that_is_not_an_amount_is_refused(http, tenant, payout):
    resp = await http.post("/api/v2/offers", headers=tenant.headers(), json={
        "name": "Solar", "tracking_url": "https://trk.example/c", "payout": payout})
    assert resp.status == 400, await resp.text()
