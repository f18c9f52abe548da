"""Must show 1: a scenario counted by hand (sends, deliveries, a failure, human and bot
clicks, a repeat click, conversions by every road, a postback repeated, a refund, a
conversion after the offer's window, an opt-out) where every report metric matches
exactly, by day, schedule, creative, offer, carrier, list and journey, with the LTV
cohort and the CSV; on both backends.

The messages go out through the real executor to the Twilio fake, whose receipts come
back to our webhook. Clicks are real requests to the short links (the redirect answers
302; the click recorder writes them, its buffer flushed after each), and the detector
decides which are bots.

The story, in UTC (D1 is Tuesday 2026-03-03):

  D1 15:00  campaign "Spring" queues m1..m3 (creative K1, offer A: $10, 7-day window,
            1 segment, $0.0045 each) to c1..c3 (Verizon) and m4, m5 (creative K2, offer
            B: $25, 1-day window, 2 segments, $0.0090 each) to c4, c5 (T-Mobile); m5 is
            undeliverable.
            clicks: m1 iMessage's previewer (15:00:02), m3 a carrier's link scanner
            (a phone browser's agent, but 4 seconds after the send: 15:00:04),
            m2 human (15:30), m1 human (16:00), m4 human (16:00), m1 human again (17:00)
  D1 16:00  Everflow: lead for m2's click, $4 (E2)
  D1 18:00  TUNE: sale for m1's click, $10 (T1), posted three times
  D1 18:00  /conv/offer: rebill for m2 by message id with the offer's secret, $6 (E2)
  D1 20:00  c3 replies STOP
  D2 15:00  an API message m6 (K1, offer A, no campaign) to c6 (carrier unknown);
            human click at 15:10; POST /revenue sale $12.50 (R6) at 16:00
  D2 17:00  TUNE: refund of T1, $10
  D3 16:00  TUNE: sale for m4's click, two days after it: outside offer B's window

  sends 6, delivered 5, failed 1; clicks 7 (bots 2, humans 5), unique 4;
  conversions 4 (T1, E2 lead, E2 rebill, R6; the refund is no conversion, the late one
  is not attributed); revenue 10 - 10 + 4 + 6 + 12.50 = 22.50; segments 8;
  cost 4 x 0.0045 + 2 x 0.0090 = 0.0360; opt-outs 1.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from core.campaigns.models import Schedule
from core.contacts.models import Contact
from core.ids import short_code
from core.messaging.models import MessageSent, MessageShortLink
from core.messaging.outbox import NewLink, NewMessage, enqueue
from core.offers.models import Offer
from core.tracking.models import MessageShortLinkClick
from tests.messaging.helpers import make_subscribers
from tests.messaging.stack import stack
from tests.tracking.helpers import PREVIEW_UA, click

D1 = dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC)
ANDROID_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/123.0.6312.80 Mobile Safari/537.36")
OFFER_URL = "https://network.example/c?aff_sub={click_id}"


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return D1.replace(hour=hour, minute=minute, second=second) + dt.timedelta(days=day - 1)


def expected(*, sends, delivered, failed, delivery_rate, failure_rate, clicks,
             human_clicks, bot_clicks, unique_clicks, click_rate, conversions,
             conversion_rate, revenue, epc, revenue_per_send, rpm, segments, cost, profit,
             opt_outs, opt_out_rate):
    """Every metric, spelt out by hand in the test (no arithmetic here)."""
    return dict(sends=sends, delivered=delivered, failed=failed,
                delivery_rate=delivery_rate, failure_rate=failure_rate, clicks=clicks,
                human_clicks=human_clicks, bot_clicks=bot_clicks,
                unique_clicks=unique_clicks, click_rate=click_rate,
                conversions=conversions, conversion_rate=conversion_rate,
                revenue=revenue, epc=epc, revenue_per_send=revenue_per_send, rpm=rpm,
                segments=segments, cost=cost, profit=profit, opt_outs=opt_outs,
                opt_out_rate=opt_out_rate)


TOTALS = expected(
    sends=6, delivered=5, failed=1, delivery_rate="0.8333", failure_rate="0.1667",
    clicks=7, human_clicks=5, bot_clicks=2, unique_clicks=4, click_rate="0.8000",
    conversions=4, conversion_rate="1.0000", revenue="22.5000", epc="5.6250",
    revenue_per_send="3.7500", rpm="3750.0000", segments=8, cost="0.0360",
    profit="22.4640", opt_outs=1, opt_out_rate="0.2000")
# m1..m5: the campaign, all sent on D1 (m1 keeps its refund although it came on D2).
CAMPAIGN = expected(
    sends=5, delivered=4, failed=1, delivery_rate="0.8000", failure_rate="0.2000",
    clicks=6, human_clicks=4, bot_clicks=2, unique_clicks=3, click_rate="0.7500",
    conversions=3, conversion_rate="1.0000", revenue="10.0000", epc="3.3333",
    revenue_per_send="2.0000", rpm="2000.0000", segments=7, cost="0.0315",
    profit="9.9685", opt_outs=1, opt_out_rate="0.2500")
# m6: the API message of D2.
API_MESSAGE = expected(
    sends=1, delivered=1, failed=0, delivery_rate="1.0000", failure_rate="0.0000",
    clicks=1, human_clicks=1, bot_clicks=0, unique_clicks=1, click_rate="1.0000",
    conversions=1, conversion_rate="1.0000", revenue="12.5000", epc="12.5000",
    revenue_per_send="12.5000", rpm="12500.0000", segments=1, cost="0.0045",
    profit="12.4955", opt_outs=0, opt_out_rate="0.0000")
# m1, m2, m3, m6: creative K1, offer A.
K1 = expected(
    sends=4, delivered=4, failed=0, delivery_rate="1.0000", failure_rate="0.0000",
    clicks=6, human_clicks=4, bot_clicks=2, unique_clicks=3, click_rate="0.7500",
    conversions=4, conversion_rate="1.3333", revenue="22.5000", epc="7.5000",
    revenue_per_send="5.6250", rpm="5625.0000", segments=4, cost="0.0180",
    profit="22.4820", opt_outs=1, opt_out_rate="0.2500")
# m4, m5: creative K2, offer B; T-Mobile.
K2 = expected(
    sends=2, delivered=1, failed=1, delivery_rate="0.5000", failure_rate="0.5000",
    clicks=1, human_clicks=1, bot_clicks=0, unique_clicks=1, click_rate="1.0000",
    conversions=0, conversion_rate="0.0000", revenue="0.0000", epc="0.0000",
    revenue_per_send="0.0000", rpm="0.0000", segments=4, cost="0.0180",
    profit="-0.0180", opt_outs=0, opt_out_rate="0.0000")
# m1, m2, m3: Verizon.
VERIZON = expected(
    sends=3, delivered=3, failed=0, delivery_rate="1.0000", failure_rate="0.0000",
    clicks=5, human_clicks=3, bot_clicks=2, unique_clicks=2, click_rate="0.6667",
    conversions=3, conversion_rate="1.5000", revenue="10.0000", epc="5.0000",
    revenue_per_send="3.3333", rpm="3333.3333", segments=3, cost="0.0135",
    profit="9.9865", opt_outs=1, opt_out_rate="0.3333")


async def _play(s) -> dict[str, object]:
    """Run the story; returns what the report test needs to name things."""
    client, headers, clock = s.client, s.tenant.headers(), s.clock
    account = s.tenant.account.id
    offers = {}
    for name, payout, window in (("A", "10", 7), ("B", "25", 1)):
        resp = await client.post("/api/v2/offers", headers=headers, json={
            "name": f"Offer {name}", "tracking_url": OFFER_URL, "payout": payout,
            "attribution_window_days": window})
        assert resp.status == 201, await resp.text()
        offers[name] = await Offer.get(id=(await resp.json())["id"])
    k1 = await s.services.creatives.create(
        s.tenant.owner, name="K1", body="Solar deal {{link1}}",
        link_bindings={"link1": {"offer_id": offers["A"].id}})
    k2 = await s.services.creatives.create(
        s.tenant.owner, name="K2", body="Roof deal {{link1}}",
        link_bindings={"link1": {"offer_id": offers["B"].id}})
    spring = await Schedule.create(account_id=account, name="Spring",
                                   sending_list_id=s.sending_list.id)
    subs = await make_subscribers(s.sending_list, 6, when=clock.now())
    for sub, carrier in zip(subs, ["Verizon"] * 3 + ["T-Mobile"] * 2 + [""], strict=True):
        await Contact.filter(id=sub.contact_id).update(carrier=carrier)
    s.fake.undeliverable[subs[4].contact.phone_number] = "30003"

    async def queue(sub, creative, offer, *, schedule=None, segments=1):
        code = short_code()
        [queued] = await enqueue([NewMessage(
            account_id=account, sending_list_id=s.sending_list.id,
            contact_id=sub.contact_id, list_contact_id=sub.id,
            to_number=sub.contact.phone_number, from_number=s.sending_list.phone_number,
            body=f"Acme: deal http://t.example/{code} Reply STOP to opt out.",
            segments=segments, encoding="GSM-7", price=Decimal("0.0045") * segments,
            provider="twilio", creative_id=creative.id, offer_id=offer.id,
            schedule_id=schedule.id if schedule else None,
            links=[NewLink(code=code, link_key="link1", destination_url=offer.tracking_url,
                           offer_id=offer.id)])], now=clock.now())
        return queued, await MessageShortLink.get(message_id=queued.id)

    # D1 15:00: the campaign.
    m = {}
    for i in range(3):
        m[i + 1] = await queue(subs[i], k1, offers["A"], schedule=spring)
    for i in (3, 4):
        m[i + 1] = await queue(subs[i], k2, offers["B"], schedule=spring, segments=2)
    await s.settle()
    link = {n: m[n][1] for n in m}

    async def tap(n: int, when: dt.datetime, user_agent: str = ANDROID_UA):
        clock.set(when)
        return await click(client, s.services, link[n], user_agent=user_agent)

    assert await tap(1, at(1, 15, 0, 2), PREVIEW_UA) is None
    assert await tap(3, at(1, 15, 0, 4)) is None
    c2 = await tap(2, at(1, 15, 30))
    c1 = await tap(1, at(1, 16))
    c4 = await tap(4, at(1, 16))
    assert c1 and c2 and c4
    assert (await tap(1, at(1, 17))).id == c1.id  # the repeat counts nothing new
    verdicts = await MessageShortLinkClick.all().order_by("id").values_list(
        "verdict", "bot_reason")
    assert verdicts == [("preview", "agent:imessage_preview"),
                        ("scanner", "seconds_after_send")] + [("human", None)] * 4

    clock.set(at(1, 16))
    resp = await client.get(f"/api/postbacks/everflow?click_id={c2.click_id}&payout=4"
                            "&transaction_id=E2&event_type=lead")
    assert resp.status == 201
    clock.set(at(1, 18))
    for status in (201, 200, 200):
        resp = await client.get(f"/api/postbacks/tune?click_id={c1.click_id}&payout=10"
                                "&conversion_id=T1")
        assert resp.status == status
    resp = await client.get(
        f"/conv/offer?offer_id={offers['A'].id}&message_id={m[2][0].public_id}&revenue=6"
        f"&txn_id=E2&event_type=rebill&secret={offers['A'].postback_secret}")
    assert resp.status == 201
    clock.set(at(1, 20))
    await s.fake.send_inbound(subs[2].contact.phone_number, s.sending_list.phone_number,
                              "STOP")

    # D2: an API message, its click and its revenue; the refund of T1.
    clock.set(at(2, 15))
    m[6] = await queue(subs[5], k1, offers["A"])
    await s.settle()
    link[6] = m[6][1]
    c6 = await tap(6, at(2, 15, 10))
    assert c6 is not None
    clock.set(at(2, 16))
    resp = await client.post("/api/v2/revenue", headers=headers, json={
        "click_id": c6.click_id, "revenue": "12.50", "txn_id": "R6", "event_type": "sale"})
    assert resp.status == 201
    clock.set(at(2, 17))
    resp = await client.get(f"/api/postbacks/tune?click_id={c1.click_id}&payout=10"
                            "&conversion_id=T1&event_type=refund")
    assert resp.status == 201 and (await resp.json())["revenue"] == "-10.0000"

    # D3 16:00: two days after m4's click; offer B's window is one day.
    clock.set(at(3, 16))
    resp = await client.get(f"/api/postbacks/tune?click_id={c4.click_id}&payout=25"
                            "&conversion_id=B1")
    assert resp.status == 201 and (await resp.json())["attributed"] is False

    statuses = sorted(await MessageSent.filter(id__in=[q.id for q, _ in m.values()])
                      .values_list("status", flat=True))
    assert statuses == ["delivered"] * 5 + ["undelivered"]
    return {"offers": offers, "k1": k1, "k2": k2, "spring": spring}


async def test_every_report_metric_matches_the_hand_count(db, clock, tmp_path):
    clock.set(D1)
    async with stack("twilio", clock=clock, tmp_path=tmp_path) as s:
        names = await _play(s)
        headers = s.tenant.headers()

        async def report(group_by: str, fmt: str = "json"):
            resp = await s.client.get(
                "/api/v2/reports/performance", headers=headers,
                params={"group_by": group_by, "since": "2026-03-03T00:00:00Z",
                        "until": "2026-03-05T00:00:00Z", "format": fmt})
            assert resp.status == 200, await resp.text()
            return await (resp.text() if fmt == "csv" else resp.json())

        def rows(body):
            return {row["key"]: {k: v for k, v in row.items() if k not in ("key", "name")}
                    for row in body["data"]}

        by_day = await report("day")
        assert by_day["totals"] == TOTALS
        assert rows(by_day) == {"2026-03-03": CAMPAIGN, "2026-03-04": API_MESSAGE}

        by_schedule = await report("schedule")
        assert rows(by_schedule) == {names["spring"].id: CAMPAIGN, None: API_MESSAGE}
        assert by_schedule["data"][0]["name"] == "Spring"
        assert by_schedule["totals"] == TOTALS

        assert rows(await report("creative")) == {names["k1"].id: K1, names["k2"].id: K2}
        by_offer = await report("offer")
        assert rows(by_offer) == {names["offers"]["A"].id: K1, names["offers"]["B"].id: K2}
        assert [r["name"] for r in by_offer["data"]] == ["Offer A", "Offer B"]
        assert rows(await report("carrier")) == {"Verizon": VERIZON, "T-Mobile": K2,
                                                 None: API_MESSAGE}
        assert rows(await report("list")) == {s.sending_list.id: TOTALS}
        assert rows(await report("journey")) == {None: TOTALS}

        table = list(csv.reader(io.StringIO(await report("day", "csv"))))
        assert table[0][:4] == ["key", "name", "sends", "delivered"]
        assert [r[0] for r in table[1:]] == ["2026-03-03", "2026-03-04", "total"]
        header = table[0]
        assert dict(zip(header[2:], table[-1][2:], strict=True)) == {
            k: str(v) for k, v in TOTALS.items()}

        resp = await s.client.get("/api/v2/reports/cohorts", headers=headers, params={
            "since": "2026-02-23T00:00:00Z", "until": "2026-03-09T00:00:00Z"})
        assert resp.status == 200
        assert (await resp.json())["data"] == [{
            "week": "2026-03-02", "contacts": 6,
            "revenue_7d": "22.5000", "ltv_7d": "3.7500", "complete_7d": False,
            "revenue_30d": "22.5000", "ltv_30d": "3.7500", "complete_30d": False,
            "revenue_90d": "22.5000", "ltv_90d": "3.7500", "complete_90d": False}]
