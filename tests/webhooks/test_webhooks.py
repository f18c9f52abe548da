"""Outbound webhooks: endpoints with a secret shown once, events from where they happen
(receipts, inbound messages, conversions, the click recorder's emit), signed both ways,
delivered from the outbox, retried at 1m, 5m, 15m, 1h, 2h, then paused with the owner
alerted; the delivery log and a replay that resumes."""

from __future__ import annotations

import datetime as dt

import pytest

from core.events import EventType
from core.notifications.models import Notification
from core.permissions import Role
from core.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories import make_tenant
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.messaging.stack import stack
from tests.tracking.builders import make_world, queue_with_link
from tests.tracking.helpers import PREVIEW_UA
from tests.tracking.helpers import click as click_link


@pytest.fixture
async def receiver():
    server = await WebhookReceiver().start()
    yield server
    await server.close()


async def _endpoint(http, tenant, receiver, events) -> dict:
    resp = await http.post("/api/v2/webhooks", headers=tenant.headers(), json={
        "url": receiver.url, "events": events})
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    receiver.secret = created["secret"]
    return created


async def test_the_secret_is_shown_once_and_only_owners_manage_endpoints(services, http,
                                                                         receiver):
    tenant = await make_tenant(services)
    created = await _endpoint(http, tenant, receiver, ["delivery", "conversion"])
    assert created["secret"].startswith("whsec_") and created["status"] == "active"
    listing = await (await http.get("/api/v2/webhooks", headers=tenant.headers(
        Role.VIEWER))).json()
    assert listing["pagination"]["total"] == 1
    assert "secret" not in listing["data"][0]
    one = await (await http.get(f"/api/v2/webhooks/{created['id']}",
                                headers=tenant.headers())).json()
    assert "secret" not in one and one["events"] == ["delivery", "conversion"]
    stored = await WebhookEndpoint.get(id=created["id"])
    assert created["secret"] not in stored.secret_sealed

    for body, code in [({"url": receiver.url, "events": ["opens"]}, "invalid_events"),
                       ({"url": receiver.url, "events": []}, "missing_events"),
                       ({"url": "ftp://x.test/", "events": ["click"]}, "invalid_url"),
                       ({"url": "http://[::1", "events": ["click"]}, "invalid_url")]:
        resp = await http.post("/api/v2/webhooks", headers=tenant.headers(), json=body)
        assert resp.status == 400 and (await resp.json())["code"] == code, body
    resp = await http.post("/api/v2/webhooks", headers=tenant.headers(Role.MEMBER),
                           json={"url": receiver.url, "events": ["click"]})
    assert resp.status == 403

    other = await make_tenant(services, "Other", "o@other.test")
    resp = await http.delete(f"/api/v2/webhooks/{created['id']}", headers=other.headers(),
                             json={"confirm": True})
    assert resp.status == 404 and (await resp.json())["code"] == "webhook_not_found"
    resp = await http.delete(f"/api/v2/webhooks/{created['id']}", headers=tenant.headers())
    assert resp.status == 400 and (await resp.json())["code"] == "confirm_required"
    resp = await http.delete(f"/api/v2/webhooks/{created['id']}", headers=tenant.headers(),
                             json={"confirm": True})
    assert resp.status == 200
    assert await WebhookEndpoint.all().count() == 0


async def test_delivery_reply_and_unsubscribe_events_reach_the_receiver_signed(
        db, clock, tmp_path, receiver):
    async with stack("twilio", clock=clock, tmp_path=tmp_path) as s:
        await _endpoint(s.client, s.tenant, receiver, ["delivery", "reply", "unsubscribe"])
        s.fake.undeliverable["+12125550102"] = "30003"
        delivered = await s.send("+12125550101")
        failed = await s.send("+12125550102")
        await s.settle()
        await s.fake.send_inbound("+12125550101", s.sending_list.phone_number, "STOP")
        assert await s.services.webhook_dispatcher.deliver_due() == 4

    by_type: dict[str, list[dict]] = {}
    for got in receiver.received:
        assert got.standard_ok and got.simple_ok, got.headers
        assert got.headers["webhook-timestamp"] == str(int(clock.now().timestamp()))
        assert got.headers["webhook-id"] == got.json["id"]
        by_type.setdefault(got.json["type"], []).append(got.json["data"])
    assert sorted((d["message_id"], d["status"], d["error_code"])
                  for d in by_type["delivery"]) == sorted([
        (delivered["message_id"], "delivered", None),
        (failed["message_id"], "undelivered", "30003")])
    [reply] = by_type["reply"]
    assert (reply["from"], reply["body"], reply["action"]) == ("+12125550101", "STOP",
                                                               "unsubscribed")
    [unsubscribe] = by_type["unsubscribe"]
    assert unsubscribe["from"] == "+12125550101" and unsubscribe["reason"] == "message"
    # Each event once: a 'sent' receipt is no delivery event.
    assert len(receiver.received) == 4


async def test_conversion_and_click_events(services, http, receiver):
    world = await make_world(services)
    await _endpoint(http, world.tenant, receiver, ["conversion", "click"])
    sent = await queue_with_link(world, world.subscribers[0], now=services.clock.now())
    # The click recorder emits the click event through the same port; a repeat and a
    # bot's request emit none.
    counted = await click_link(http, services, sent.link)
    assert counted is not None
    await click_link(http, services, sent.link)
    await click_link(http, services, sent.link, user_agent=PREVIEW_UA)
    resp = await http.get(f"/conv?click_id={counted.click_id}&revenue=4.5&txn_id=T")
    assert resp.status == 201
    assert (await http.get(f"/conv?click_id={counted.click_id}&revenue=4.5&txn_id=T")
            ).status == 200  # a repeat: no second event
    assert await services.webhook_dispatcher.deliver_due() == 2
    events = {r.json["type"]: r.json["data"] for r in receiver.received}
    assert events["click"]["click_id"] == counted.click_id
    assert events["click"]["message_id"] == sent.public_id
    assert events["conversion"]["revenue"] == "4.5000"
    assert events["conversion"]["message_id"] == sent.public_id


async def test_an_account_without_an_endpoint_costs_no_round_trip(services, receiver):
    tenant = await make_tenant(services)
    emitter = services.events
    for _ in range(3):
        assert await emitter.emit(EventType.DELIVERY, [(tenant.account.id, {"x": 1})]) == 0
    assert emitter.lookups == 1  # the first call learnt the account has none
    created = await services.webhooks.create(tenant.owner, url=receiver.url,
                                             events=["delivery"])
    assert await emitter.emit(EventType.DELIVERY, [(tenant.account.id, {"x": 1})]) == 1
    assert await emitter.emit(EventType.REPLY, [(tenant.account.id, {"x": 1})]) == 0
    assert emitter.lookups == 2  # the change was seen at once in this process
    await services.webhooks.delete(tenant.owner, created.endpoint.id)
    assert await emitter.emit(EventType.DELIVERY, [(tenant.account.id, {"x": 1})]) == 0


async def test_retries_at_1m_5m_15m_1h_2h_then_paused_alerted_and_replayed(services, http,
                                                                            receiver):
    tenant = await make_tenant(services)
    created = await _endpoint(http, tenant, receiver, ["click"])
    receiver.status = 500
    clock = services.clock
    dispatcher = services.webhook_dispatcher
    await services.events.emit(EventType.CLICK, [(tenant.account.id, {"n": 1})])
    start = clock.now()
    assert await dispatcher.deliver_due() == 1
    tried_at = [dt.timedelta(0)]
    for wait in (60, 300, 900, 3600, 7200):
        clock.advance(wait - 1)
        assert await dispatcher.deliver_due() == 0  # not a second early
        clock.advance(1)
        assert await dispatcher.deliver_due() == 1
        tried_at.append(clock.now() - start)
    assert tried_at == [dt.timedelta(seconds=s) for s in (0, 60, 360, 1260, 4860, 12060)]
    assert len(receiver.received) == 6
    [delivery] = await WebhookDelivery.all()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        "failed", 6, 500)
    endpoint = await WebhookEndpoint.get(id=created["id"])
    assert endpoint.status == "paused" and endpoint.consecutive_failures == 6
    [alert] = await Notification.filter(kind="webhook_paused")
    assert alert.severity == "high" and not alert.is_resolution

    # Paused: new events wait, however long.
    await services.events.emit(EventType.CLICK, [(tenant.account.id, {"n": 2})])
    clock.advance(days=1)
    assert await dispatcher.deliver_due() == 0
    log = await (await http.get(f"/api/v2/webhooks/{created['id']}/deliveries",
                                headers=tenant.headers(Role.VIEWER))).json()
    assert [(d["status"], d["attempts"]) for d in log["data"]] == [("pending", 0),
                                                                   ("failed", 6)]
    assert log["data"][1]["last_error"] == "HTTP 500"

    receiver.status = 204
    resp = await http.post(f"/api/v2/webhooks/{created['id']}/deliveries/{delivery.id}"
                           "/replay", headers=tenant.headers(Role.MEMBER))
    assert resp.status == 200 and (await resp.json())["status"] == "pending"
    assert await dispatcher.deliver_due() == 2
    assert [r.json["data"]["n"] for r in receiver.received[-2:]] == [1, 2]
    assert receiver.received[-2].headers["webhook-id"] == delivery.event_id  # same id
    assert (await WebhookEndpoint.get(id=created["id"])).status == "active"
    assert await Notification.filter(kind="webhook_paused", is_resolution=True).count() == 1
    resp = await http.post(f"/api/v2/webhooks/{created['id']}/deliveries/999/replay",
                           headers=tenant.headers())
    assert resp.status == 404 and (await resp.json())["code"] == "delivery_not_found"
