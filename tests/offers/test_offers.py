from __future__ import annotations

import pytest

from core.errors import ValidationError
from core.offers.macros import fill, validate_tracking_url
from core.offers.models import Offer
from core.permissions import Role
from tests.factories import make_tenant

URL = "https://trk.example.com/c?aff={click_id}&s1={sub1}&m={message_id}"


def test_macros_fill_escapes_and_blanks_missing():
    assert fill(URL, {"click_id": "ab c", "message_id": "Xy7"}) == \
        "https://trk.example.com/c?aff=ab%20c&s1=&m=Xy7"


@pytest.mark.parametrize("bad", ["", "ftp://x.com/{click_id}", "https:///nohost",
                                 "https://x.com/?a={clickid}", "x" * 3000])
def test_tracking_url_validation(bad):
    with pytest.raises(ValidationError):
        validate_tracking_url(bad)


async def test_offer_crud_over_http(services, http):
    tenant = await make_tenant(services)
    resp = await http.post("/api/v2/offers", headers=tenant.headers(), json={
        "name": "Solar Leads", "tracking_url": URL, "payout": "12.50", "payout_type": "cpa"})
    assert resp.status == 201, await resp.text()
    offer = await resp.json()
    assert offer["payout"] == "12.5000" and offer["attribution_window_days"] == 7
    assert offer["status"] == "active" and offer["source"] == "manual"

    resp = await http.patch(f"/api/v2/offers/{offer['id']}", headers=tenant.headers(Role.MEMBER),
                            json={"status": "paused", "payout": "9"})
    assert resp.status == 200
    assert (await resp.json())["status"] == "paused"

    listing = await (await http.get("/api/v2/offers?status=paused",
                                    headers=tenant.headers(Role.VIEWER))).json()
    assert listing["pagination"] == {"page": 1, "per_page": 50, "total": 1, "total_pages": 1}
    assert listing["data"][0]["payout"] == "9.0000"


async def test_offer_validation_and_permissions(services, http):
    tenant = await make_tenant(services)
    other = await make_tenant(services, "Other", "o@other.test")
    cases = [
        ({"tracking_url": URL}, "missing_name"),
        ({"name": "x"}, "missing_tracking_url"),
        ({"name": "x", "tracking_url": "https://a.com/{nope}"}, "invalid_tracking_url"),
        ({"name": "x", "tracking_url": URL, "payout": "-1"}, "invalid_payout"),
        ({"name": "x", "tracking_url": URL, "payout": "abc"}, "invalid_payout"),
    ]
    for body, code in cases:
        resp = await http.post("/api/v2/offers", headers=tenant.headers(), json=body)
        assert resp.status == 400, body
        assert (await resp.json())["code"] == code, body
    resp = await http.post("/api/v2/offers", headers=tenant.headers(Role.VIEWER),
                           json={"name": "x", "tracking_url": URL})
    assert resp.status == 403
    assert await Offer.all().count() == 0

    created = await services.offers.create(other.owner, name="Theirs", tracking_url=URL)
    resp = await http.get(f"/api/v2/offers/{created.id}", headers=tenant.headers())
    assert resp.status == 404 and (await resp.json())["code"] == "offer_not_found"
    resp = await http.patch(f"/api/v2/offers/{created.id}", headers=tenant.headers(),
                            json={"name": "Mine now"})
    assert resp.status == 404
    assert (await Offer.get(id=created.id)).name == "Theirs"


async def test_offer_carries_its_postback_secret_and_urls_and_refuses_bad_terms(services,
                                                                               http):
    tenant = await make_tenant(services)
    resp = await http.post("/api/v2/offers", headers=tenant.headers(), json={
        "name": "Rev share", "tracking_url": URL, "payout": 30, "payout_type": "revshare",
        "attribution_window_days": 30, "advertiser": "  Sun   Co "})
    assert resp.status == 201
    offer = await resp.json()
    assert (offer["payout_type"], offer["attribution_window_days"]) == ("revshare", 30)
    assert offer["advertiser"] == "Sun Co"
    assert len(offer["postback_secret"]) >= 32
    assert offer["postback_urls"]["offer"].startswith(
        f"http://127.0.0.1:8080/conv/offer?offer_id={offer['id']}&message_id={{message_id}}")
    assert offer["postback_urls"]["offer"].endswith(f"&secret={offer['postback_secret']}")
    assert offer["postback_urls"]["tune"].endswith(
        "/api/postbacks/tune?click_id={aff_sub}&payout={payout}"
        "&conversion_id={transaction_id}")
    other = await (await http.post("/api/v2/offers", headers=tenant.headers(), json={
        "name": "B", "tracking_url": URL})).json()
    assert other["postback_secret"] != offer["postback_secret"]
    for body, code in [({"payout_type": "cpm"}, "invalid_payout_type"),
                       ({"status": "deleted"}, "invalid_status"),
                       ({"attribution_window_days": 0}, "invalid_attribution_window_days"),
                       ({"attribution_window_days": 366},
                        "invalid_attribution_window_days")]:
        resp = await http.patch(f"/api/v2/offers/{offer['id']}", headers=tenant.headers(),
                                json=body)
        assert resp.status == 400 and (await resp.json())["code"] == code, body
    for status in ("paused", "expired", "archived", "active"):
        resp = await http.patch(f"/api/v2/offers/{offer['id']}", headers=tenant.headers(),
                                json={"status": status})
        assert (await resp.json())["status"] == status
    resp = await http.get("/api/v2/offers?status=bogus", headers=tenant.headers())
    assert resp.status == 400 and (await resp.json())["code"] == "invalid_status"
