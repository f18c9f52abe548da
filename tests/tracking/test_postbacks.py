"""Must show 2: the same postback three times counts once; a wrong secret or an unknown
click id changes nothing and answers a clear error. And every other road in: the Everflow
postback, /conv, /conv/offer, the pixel, POST /revenue[/bulk], refunds, the window."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.contacts.models import ListContact
from core.creatives.models import MessageCreative
from core.offers.models import Offer
from core.permissions import Role
from core.tracking.models import Conversion
from tests.factories import make_tenant
from tests.tracking.builders import make_world, queue_with_link
from tests.tracking.helpers import click as click_link


async def _counted(world, subscriber) -> dict[str, Any]:
    """Everything a conversion moves, as the account would see it."""
    lc = await ListContact.get(id=subscriber.id)
    offer = await Offer.get(id=world.offer.id)
    return {"conversions": await Conversion.filter(attributed=True).count(),
            "rows": await Conversion.all().count(),
            "contact": (lc.conversion_count, Decimal(lc.revenue_total)),
            "offer": (offer.conversion_count, Decimal(offer.revenue_total))}


async def _clicked(services, http, world, index: int = 0):
    """A message and a person's click on its link (a real request to the redirect)."""
    sent = await queue_with_link(world, world.subscribers[index], now=services.clock.now())
    counted = await click_link(http, services, sent.link)
    assert counted is not None
    return sent, counted


async def test_the_same_tune_postback_three_times_counts_once(services, http):
    world = await make_world(services)
    _, click = await _clicked(services, http, world)
    url = f"/api/postbacks/tune?click_id={click.click_id}&payout=12.50&conversion_id=TX-1"
    answers = []
    for _ in range(3):
        resp = await http.get(url)
        answers.append((resp.status, await resp.json()))
    assert [status for status, _ in answers] == [201, 200, 200]
    first = answers[0][1]
    assert first["duplicate"] is False and first["attributed"] is True
    assert first["revenue"] == "12.5000"
    assert all(body["duplicate"] and body["conversion_id"] == first["conversion_id"]
               for _, body in answers[1:])
    assert await _counted(world, world.subscribers[0]) == {
        "conversions": 1, "rows": 1, "contact": (1, Decimal("12.5")),
        "offer": (1, Decimal("12.5"))}
    stored = await Conversion.get(id=first["conversion_id"])
    assert stored.source == "tune" and stored.txn_id == "TX-1"
    assert stored.payload["conversion_id"] == "TX-1"
    assert stored.message_id == click.message_id and stored.contact_id == click.contact_id
    assert stored.sending_list_id == world.sending_list.id
    lc = await ListContact.get(id=world.subscribers[0].id)
    assert lc.last_revenue_at == services.clock.now()


async def test_a_wrong_secret_changes_nothing_and_says_so(services, http):
    world = await make_world(services)
    sent, click = await _clicked(services, http, world)
    before = await _counted(world, world.subscribers[0])
    resp = await http.get(f"/conv/offer?offer_id={world.offer.id}&message_id="
                          f"{sent.public_id}&revenue=20&txn_id=T9&secret=not-the-secret")
    assert resp.status == 403
    body = await resp.json()
    assert body["code"] == "invalid_secret"
    assert body["error"] == "The offer id and secret do not match."
    # The click-id roads check a secret when the network sends one.
    resp = await http.get(f"/conv?click_id={click.click_id}&revenue=20&txn_id=T9&secret=x")
    assert resp.status == 403 and (await resp.json())["code"] == "invalid_secret"
    assert await _counted(world, world.subscribers[0]) == before == {
        "conversions": 0, "rows": 0, "contact": (0, Decimal(0)), "offer": (0, Decimal(0))}

    # The right secret, three times: one conversion.
    secret = (await Offer.get(id=world.offer.id)).postback_secret
    url = (f"/conv/offer?offer_id={world.offer.id}&message_id={sent.public_id}"
           f"&revenue=20&txn_id=T9&secret={secret}")
    statuses = [(await http.get(url)).status for _ in range(3)]
    assert statuses == [201, 200, 200]
    assert await _counted(world, world.subscribers[0]) == {
        "conversions": 1, "rows": 1, "contact": (1, Decimal(20)), "offer": (1, Decimal(20))}


async def test_an_unknown_click_id_changes_nothing_and_says_so(services, http):
    world = await make_world(services)
    await _clicked(services, http, world)
    for url in ("/api/postbacks/tune?click_id=nosuchclick&payout=5&conversion_id=A",
                "/api/postbacks/everflow?click_id=nosuchclick&payout=5&transaction_id=A",
                "/conv?click_id=nosuchclick&revenue=5&txn_id=A"):
        resp = await http.get(url)
        assert resp.status == 404, url
        body = await resp.json()
        assert body == {"error": "No click with that id.", "code": "click_not_found"}, url
    resp = await http.get("/api/postbacks/tune?payout=5&conversion_id=A")
    assert resp.status == 400 and (await resp.json())["code"] == "missing_click_id"
    for path in ("/pixel/nosuchclick.gif", "/pixel/a%00b.gif"):
        resp = await http.get(path)
        assert resp.status == 404 and resp.content_type == "image/gif"
        assert resp.headers["X-Trackly-Error"] == "click_not_found"
    assert await Conversion.all().count() == 0


async def test_refunds_are_negative_and_not_conversions(services, http):
    world = await make_world(services)
    _, click = await _clicked(services, http, world)
    base = f"/api/postbacks/everflow?click_id={click.click_id}&transaction_id=E1"
    assert (await http.get(f"{base}&payout=30")).status == 201
    # The network says "refund" with a positive amount, or a signed one: stored negative.
    resp = await http.get(f"{base}&payout=30&event_type=refund")
    assert resp.status == 201 and (await resp.json())["revenue"] == "-30.0000"
    assert (await http.get(f"{base}&payout=-30&event_type=refund")).status == 200
    resp = await http.get(f"{base}&payout=5&event_type=chargeback")
    assert (await resp.json())["revenue"] == "-5.0000"
    assert await _counted(world, world.subscribers[0]) == {
        "conversions": 3, "rows": 3, "contact": (1, Decimal(-5)), "offer": (1, Decimal(-5))}
    resp = await http.get(f"{base}&payout=1&event_type=bogus")
    assert resp.status == 400 and (await resp.json())["code"] == "invalid_event_type"


async def test_a_conversion_after_the_window_is_kept_but_not_attributed(services, http):
    world = await make_world(services, window_days=7)
    _, click = await _clicked(services, http, world)
    services.clock.advance(days=7, seconds=1)
    url = f"/conv?click_id={click.click_id}&revenue=9&txn_id=LATE"
    resp = await http.get(url)
    body = await resp.json()
    assert resp.status == 201 and body["attributed"] is False
    assert body["unattributed_reason"] == "outside_window"
    assert (await http.get(url)).status == 200  # still a duplicate
    assert await _counted(world, world.subscribers[0]) == {
        "conversions": 0, "rows": 1, "contact": (0, Decimal(0)), "offer": (0, Decimal(0))}


async def test_the_pixel_counts_once_per_click_and_pays_the_offer(services, http):
    world = await make_world(services, payout="7.25")
    _, click = await _clicked(services, http, world)
    creative = await MessageCreative.create(account_id=world.tenant.account.id, name="c",
                                            body="x {{link1}}")
    sent2 = await queue_with_link(world, world.subscribers[1], now=services.clock.now(),
                                  creative_id=creative.id)
    click2 = await click_link(http, services, sent2.link)
    for _ in range(2):
        resp = await http.get(f"/pixel/{click.click_id}.gif")
        assert resp.content_type == "image/gif"
    resp = await http.get(f"/pixel/{click2.click_id}.gif?event_type=lead")
    assert resp.status == 201
    assert await Conversion.filter(attributed=True).count() == 2
    assert (await Offer.get(id=world.offer.id)).revenue_total == Decimal("14.5")
    stored = await MessageCreative.get(id=creative.id)
    assert (stored.conversion_count, stored.revenue_total) == (1, Decimal("7.25"))


async def test_revenue_api_by_click_or_message_with_duplicates(services, http):
    world = await make_world(services)
    sent, click = await _clicked(services, http, world)
    headers = world.tenant.headers()
    body = {"click_id": click.click_id, "revenue": "12.50", "txn_id": "abc",
            "event_type": "sale"}
    resp = await http.post("/api/v2/revenue", headers=headers, json=body)
    assert resp.status == 201, await resp.text()
    first = await resp.json()
    assert first["duplicate"] is False
    resp = await http.post("/api/v2/revenue", headers=headers, json=body)
    assert resp.status == 200 and (await resp.json())["duplicate"] is True
    # By message id: the same click earned it (the window runs from the click).
    resp = await http.post("/api/v2/revenue", headers=headers, json={
        "message_id": sent.public_id, "revenue": 3, "txn_id": "abc", "event_type": "rebill"})
    assert resp.status == 201
    assert (await Conversion.get(id=(await resp.json())["conversion_id"])).click_id == click.id
    resp = await http.post("/api/v2/revenue", headers=world.tenant.headers(Role.VIEWER),
                           json=body)
    assert resp.status == 403
    resp = await http.post("/api/v2/revenue", headers=headers, json={"txn_id": "x"})
    assert resp.status == 400 and (await resp.json())["code"] == "missing_click_id"

    sent2 = await queue_with_link(world, world.subscribers[1], now=services.clock.now())
    resp = await http.post("/api/v2/revenue/bulk", headers=headers, json={"conversions": [
        {"click_id": click.click_id, "revenue": "12.50", "txn_id": "abc"},  # a repeat
        {"message_id": sent2.public_id, "revenue": "4", "txn_id": "m2"},  # no click yet
        {"click_id": "nope", "revenue": "1", "txn_id": "z"},
        {"click_id": click.click_id, "revenue": "x", "txn_id": "q"},
    ]})
    assert resp.status == 200, await resp.text()
    out = await resp.json()
    assert (out["recorded_count"], out["duplicate_count"], out["error_count"]) == (1, 1, 2)
    assert [(e["index"], e["code"]) for e in out["errors"]] == [
        (2, "click_not_found"), (3, "invalid_revenue")]
    assert await _counted(world, world.subscribers[0]) == {
        "conversions": 3, "rows": 3, "contact": (2, Decimal("15.5")),
        "offer": (3, Decimal("19.5"))}


async def test_another_accounts_click_is_not_found_through_the_api(services, http):
    world = await make_world(services)
    _, click = await _clicked(services, http, world)
    other = await make_tenant(services, "Other", "o@other.test")
    resp = await http.post("/api/v2/revenue", headers=other.headers(), json={
        "click_id": click.click_id, "revenue": "1", "txn_id": "t"})
    assert resp.status == 404 and (await resp.json())["code"] == "click_not_found"
    assert await Conversion.all().count() == 0
