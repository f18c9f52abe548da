"""Must show 2: for Twilio, Infobip and CM, through our HTTP endpoints against each
provider's fake: send, receipt, failure, 429 with retry, and an inbound STOP."""

from __future__ import annotations

import pytest

from core.contacts.models import ListContact, SubscriptionStatus
from core.inbound.models import InboundMessage
from core.messaging.models import MessageSent
from tests.fakes.base import Fault
from tests.messaging.stack import LIST_NUMBER, stack

PROVIDERS = ["twilio", "infobip", "cm"]
ALICE = "+12125550101"
BOB = "+12125550102"


@pytest.fixture(params=PROVIDERS)
async def e2e(request, db, clock, tmp_path):
    async with stack(request.param, clock=clock, tmp_path=tmp_path) as s:
        yield s


async def test_send_and_delivery_receipt(e2e):
    sent = await e2e.send(ALICE, "Hi {{first_name|there}}, deals today")
    assert sent["status"] == "queued" and sent["segments"] == 1
    await e2e.settle()
    message = await e2e.message(sent["message_id"])
    assert message["status"] == "delivered", message
    assert message["body"] == "Acme: Hi there, deals today Reply STOP to opt out."
    seen = {(h["status"], h["source"]) for h in message["history"]}
    assert {("queued", "outbox"), ("sent", "executor"),
            ("delivered", f"webhook:{e2e.provider}")} <= seen
    assert [m.to for m in e2e.fake.accepted] == [ALICE]
    assert e2e.fake.accepted[0].body == message["body"]


async def test_undeliverable_receipt_marks_the_message_with_the_code(e2e):
    e2e.fake.undeliverable[BOB] = "30003" if e2e.provider == "twilio" else "8"
    sent = await e2e.send(BOB)
    await e2e.settle()
    message = await e2e.message(sent["message_id"])
    assert message["status"] == "undelivered", message
    assert message["error_code"] == e2e.fake.undeliverable[BOB]
    assert message["failed_at"] is not None


async def test_429_is_retried_after_backoff_and_then_delivered(e2e):
    e2e.fake.inject(Fault.RATE_LIMIT, times=1, retry_after="2")
    sent = await e2e.send(ALICE)
    await e2e.executor.drain()
    row = await e2e.row(sent["message_id"])
    assert row.status == "queued" and row.attempts == 1
    assert row.not_before is not None and row.not_before > e2e.clock.now()
    assert e2e.fake.accepted == []
    e2e.clock.advance(5)
    await e2e.settle()
    message = await e2e.message(sent["message_id"])
    assert message["status"] == "delivered" and message["attempts"] == 2
    assert "retry 1" in " ".join(h["detail"] or "" for h in message["history"])
    assert e2e.fake.received_twice() == {}


async def test_inbound_stop_unsubscribes_confirms_once_and_blocks_sends(e2e):
    resp = await e2e.client.post("/api/v2/contacts", headers=e2e.tenant.headers(),
                                 json={"phone_number": ALICE, "list_number": LIST_NUMBER})
    assert resp.status == 201, await resp.text()

    assert await e2e.fake.send_inbound(ALICE, LIST_NUMBER, "STOP") == 200
    sub = await ListContact.get(contact__phone_number=ALICE)
    assert sub.status == SubscriptionStatus.UNSUBSCRIBED and sub.unsubscribe_reason == "message"
    await e2e.settle()
    confirmations = [m for m in e2e.fake.accepted if m.to == ALICE]
    if e2e.provider == "twilio":  # Advanced Opt-Out answers STOP itself; we add nothing
        assert confirmations == []
    else:
        assert len(confirmations) == 1 and "unsubscribed" in confirmations[0].body

    assert await e2e.fake.send_inbound(ALICE, LIST_NUMBER, "stop") == 200
    await e2e.settle()
    assert [m for m in e2e.fake.accepted if m.to == ALICE] == confirmations  # no second
    assert await InboundMessage.filter(from_number=ALICE).count() == 2

    resp = await e2e.client.post("/api/v2/send", headers=e2e.tenant.headers(),
                                 json={"to": ALICE, "body": "x", "list_number": LIST_NUMBER})
    assert resp.status == 400
    assert (await resp.json())["code"] == "contact_unsubscribed"


async def test_forged_webhooks_are_403_and_store_nothing(e2e):
    if e2e.provider == "twilio":
        e2e.fake.forge_with = "0" * 32  # signs with the wrong auth token
    else:
        e2e.fake.inbound_url = e2e.fake.inbound_url.replace("token=", "token=x")
        e2e.fake.receipt_url = e2e.fake.inbound_url
    sent = await e2e.send(ALICE)
    await e2e.settle()
    assert await e2e.fake.send_inbound(ALICE, LIST_NUMBER, "STOP") == 403
    assert await InboundMessage.all().count() == 0
    assert await MessageSent.filter(is_reply=True).count() == 0
    forged_receipts = e2e.provider != "infobip"  # Infobip posts to the URL we sent with it
    if forged_receipts:
        assert {status for _, status in e2e.fake.webhook_calls} == {403}
        assert (await e2e.row(sent["message_id"])).status == "sent"
    assert (await ListContact.filter(status=SubscriptionStatus.UNSUBSCRIBED).count()) == 0


async def test_unreadable_payload_with_a_valid_token_is_400_and_stores_nothing(e2e):
    if e2e.provider == "twilio":
        pytest.skip("a Twilio payload is signed form data; forged ones are 403 above")
    resp = await e2e.client.post(e2e.fake.inbound_url.removeprefix(e2e.base_url),
                                 data=b'{"results": [{"from": 1}]', headers={
                                     "Content-Type": "application/json"})
    assert resp.status == 400
    assert (await resp.json())["code"] == "invalid_webhook_payload"
    assert await InboundMessage.all().count() == 0


async def test_receipts_for_unknown_messages_are_accepted_and_change_nothing(e2e):
    sent = await e2e.send(ALICE)
    await e2e.settle()
    if e2e.provider == "twilio":
        # A status callback is about the number it is from, and only that list's auth
        # token may sign it: the fake's ghost comes from a number no list has (403).
        url = e2e.fake.receipt_url
        params = {"AccountSid": e2e.fake.account_sid, "From": LIST_NUMBER, "To": ALICE,
                  "MessageSid": "SM" + "9" * 32, "MessageStatus": "delivered"}
        status = await e2e.fake.post(url, data=params, headers=e2e.fake.sign(url, params))
    else:
        status = await e2e.fake.send_unknown_receipt()
    assert status in (200, 204)
    assert (await e2e.row(sent["message_id"])).status == "delivered"


async def test_the_providers_own_status_word_and_segment_count_are_kept(e2e):
    """Dead data no more: the receipt's raw status is in the history, and the parts the
    provider says it billed are on the message beside ours (billing reconciles them)."""
    sent = await e2e.send(ALICE, "Привет! " * 12)  # UCS-2, two parts with the footer
    await e2e.settle()
    message = await e2e.message(sent["message_id"])
    [delivered] = [h for h in message["history"] if h["status"] == "delivered"]
    assert delivered["provider_status"] == {
        "twilio": "delivered", "infobip": "DELIVERED_TO_HANDSET", "cm": "2"}[e2e.provider]
    assert (message["segments"], message["provider_segments"]) == (2, 2)
    assert e2e.fake.accepted[0].segments == 2


async def test_where_the_provider_counts_fewer_parts_both_counts_are_on_the_message(
        db, clock, tmp_path):
    """The finding pinned in tests/fakes/test_segments.py, end to end: a symbol built
    with joiners straddles a part boundary; we bill 3 segments, Twilio says 2, and the
    message carries both for billing to reconcile."""
    family = "👨\u200d👩\u200d👧\u200d👦"
    async with stack("twilio", clock=clock, tmp_path=tmp_path) as s:
        sent = await s.send(ALICE, "Ж" * 51 + family + "Ж" * 34)
        await s.settle()
        message = await s.message(sent["message_id"])
        assert (message["segments"], message["provider_segments"]) == (3, 2)
