from __future__ import annotations

from core.creatives.models import MessageCreative
from core.permissions import Role
from tests.factories import make_tenant

URL = "https://trk.example.com/c?aff={click_id}"


async def make_offer(services, tenant):
    return await services.offers.create(tenant.owner, name="Solar", tracking_url=URL,
                                        payout="10")


async def test_creative_answers_counts_and_cost(services, http):
    tenant = await make_tenant(services)
    offer = await make_offer(services, tenant)
    body = "Hi {{first_name|there}}, your quote is ready: {{link1}}"
    resp = await http.post("/api/v2/creatives", headers=tenant.headers(), json={
        "name": "Quote", "body": body,
        "link_bindings": {"link1": {"offer_id": offer.id, "params": {"sub1": "spring"}}}})
    assert resp.status == 201, await resp.text()
    made = await resp.json()
    # "Acme Deals: " + body with a 7-char link on http://127.0.0.1:8080 + append text
    preview = made["preview"]
    assert preview.startswith("Acme Deals: Hi there, your quote is ready: "
                              "http://127.0.0.1:8080/")
    assert preview.endswith(" Reply STOP to opt out.")
    assert made["character_count"] == len(preview)
    assert (made["segment_count"], made["encoding"], made["cost"]) == (1, "GSM-7", "0.004500")
    assert made["link_bindings"] == {"link1": {"offer_id": offer.id,
                                               "params": {"sub1": "spring"}}}


async def test_smart_encoding_cost_is_shown_beside_the_plain_cost(services, http):
    tenant = await make_tenant(services)
    body = "We\u2019re \u201cthrilled\u201d \u2014 " + "x" * 100
    resp = await http.post("/api/v2/creatives", headers=tenant.headers(),
                           json={"name": "Curly", "body": body})
    made = await resp.json()
    assert (made["encoding"], made["segment_count"]) == ("UCS-2", 3)
    smart = made["smart_encoding"]
    assert (smart["encoding"], smart["segment_count"], smart["cost"]) == ("GSM-7", 1,
                                                                          "0.004500")
    assert made["cost"] == "0.013500"


async def test_saving_rejects_bad_creatives_and_stores_nothing(services, http):
    tenant = await make_tenant(services)
    other = await make_tenant(services, "Other", "o@other.test")
    theirs = await make_offer(services, other)
    cases = [
        ({"name": "x", "body": "Hi {{frist_name}}"}, "invalid_body"),
        ({"name": "x", "body": "Go {{link1}}"}, "missing_link_offer"),
        ({"name": "x", "body": "Go {{link1}}",
          "link_bindings": {"link1": {"offer_id": theirs.id}}}, "offer_not_found"),
        ({"name": "x", "body": "y" * 1601}, "invalid_body"),
        ({"name": "x", "body": ""}, "missing_body"),
        ({"body": "fine"}, "missing_name"),
        ({"name": "x", "body": "fine", "type": "weekly"}, "invalid_type"),
    ]
    for payload, code in cases:
        resp = await http.post("/api/v2/creatives", headers=tenant.headers(), json=payload)
        assert resp.status == 400, payload
        assert (await resp.json())["code"] == code, (payload, await resp.json())
    resp = await http.post("/api/v2/creatives", headers=tenant.headers(Role.VIEWER),
                           json={"name": "x", "body": "fine"})
    assert resp.status == 403
    assert await MessageCreative.all().count() == 0


async def test_editing_the_body_revalidates_links(services, http):
    tenant = await make_tenant(services)
    offer = await make_offer(services, tenant)
    creative = await services.creatives.create(
        tenant.owner, name="A", body="One {{link1}}",
        link_bindings={"link1": {"offer_id": offer.id}})
    resp = await http.patch(f"/api/v2/creatives/{creative.id}", headers=tenant.headers(),
                            json={"body": "Two {{link1}} {{link2}}"})
    assert resp.status == 400 and (await resp.json())["code"] == "missing_link_offer"
    assert (await MessageCreative.get(id=creative.id)).body == "One {{link1}}"

    resp = await http.patch(f"/api/v2/creatives/{creative.id}", headers=tenant.headers(),
                            json={"body": "No links now"})
    assert resp.status == 200
    stored = await MessageCreative.get(id=creative.id)
    assert (stored.body, stored.link_bindings) == ("No links now", {})
    listing = await (await http.get("/api/v2/creatives", headers=tenant.headers())).json()
    assert listing["data"][0]["segment_count"] == 1


async def test_creatives_that_could_never_be_sent_are_refused_at_save(services, http):
    tenant = await make_tenant(services)
    offer = await make_offer(services, tenant)
    for body, reason in [("Go to bit.ly/x", "bit.ly"),
                         ("Verify your Chase account now", "chase"),
                         ("Hi {{first_name|Wells Fargo}} customer", "wells fargo")]:
        resp = await http.post("/api/v2/creatives", headers=tenant.headers(),
                               json={"name": "x", "body": body})
        got = await resp.json()
        assert (resp.status, got["code"]) == (400, "blocked_content"), body
        assert reason in got["error"].lower()
    for status in ("paused", "expired", "archived"):
        gone = await services.offers.create(tenant.owner, name=status, tracking_url=URL,
                                            status=status)
        resp = await http.post("/api/v2/creatives", headers=tenant.headers(), json={
            "name": "x", "body": "Deal {{link1}}",
            "link_bindings": {"link1": {"offer_id": gone.id}}})
        got = await resp.json()
        assert (resp.status, got["code"]) == (400, "offer_inactive"), status
        assert status in got["error"]
    assert await MessageCreative.all().count() == 0

    creative = await services.creatives.create(
        tenant.owner, name="A", body="Deal {{link1}}",
        link_bindings={"link1": {"offer_id": offer.id}})
    resp = await http.patch(f"/api/v2/creatives/{creative.id}", headers=tenant.headers(),
                            json={"body": "Deal {{link1}} at tinyurl.com/x"})
    assert (resp.status, (await resp.json())["code"]) == (400, "blocked_content")
    assert (await MessageCreative.get(id=creative.id)).body == "Deal {{link1}}"


async def test_a_creative_whose_offer_stopped_is_refused_at_send(services, http):
    from core.messaging.models import MessageSent
    from tests.messaging.helpers import make_list

    tenant = await make_tenant(services)
    await make_list(tenant.account.id, "+14155550100")
    offer = await make_offer(services, tenant)
    creative = await services.creatives.create(
        tenant.owner, name="A", body="Deal {{link1}}",
        link_bindings={"link1": {"offer_id": offer.id}})
    send = {"to": "2125550101", "creative_id": creative.id, "list_number": "+14155550100"}
    resp = await http.post("/api/v2/send", headers=tenant.headers(), json=send)
    assert resp.status == 201
    for status in ("paused", "expired", "archived"):
        await http.patch(f"/api/v2/offers/{offer.id}", headers=tenant.headers(),
                         json={"status": status})
        resp = await http.post("/api/v2/send", headers=tenant.headers(), json=send)
        got = await resp.json()
        assert (resp.status, got["code"]) == (400, "offer_inactive"), status
        assert status in got["error"]
    assert await MessageSent.all().count() == 1
    # The creative can still be paused or archived; making it active again is refused
    # while its offer is not.
    resp = await http.patch(f"/api/v2/creatives/{creative.id}", headers=tenant.headers(),
                            json={"status": "archived"})
    assert resp.status == 200
    resp = await http.patch(f"/api/v2/creatives/{creative.id}", headers=tenant.headers(),
                            json={"status": "active"})
    assert (resp.status, (await resp.json())["code"]) == (400, "offer_inactive")
    await http.patch(f"/api/v2/offers/{offer.id}", headers=tenant.headers(),
                     json={"status": "active"})
    resp = await http.patch(f"/api/v2/creatives/{creative.id}", headers=tenant.headers(),
                            json={"status": "active"})
    assert resp.status == 200
    resp = await http.post("/api/v2/send", headers=tenant.headers(), json=send)
    assert resp.status == 201
