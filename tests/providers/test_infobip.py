"""The Infobip adapter against the Infobip fake, over real HTTP."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from core.errors import ValidationError
from core.providers import infobip
from core.providers.base import DeliveryState, OutboundSms, Outcome, SentSms, WebhookRequest
from core.providers.common import Timeouts
from tests.fakes.base import Fault, ReceiptMode
from tests.fakes.infobip_fake import InfobipFake

FROM = "+15005550006"


def sms(n: int = 1, *, callback: str | None = None, body: str = "Hello there",
        to: str | None = None) -> OutboundSms:
    return OutboundSms(message_id=f"ib{n:06d}", to=to or f"+1555010{n:04d}", from_=FROM,
                       body=body, callback_url=callback)


def provider(fake: InfobipFake, session, **kw) -> infobip.InfobipProvider:
    return infobip.InfobipProvider(api_key=fake.api_key, session=session,
                                   base_url=fake.url, **kw)


async def test_batch_accepted_with_our_ids(infobip_fake, client_session) -> None:
    outcomes = await provider(infobip_fake, client_session).send(
        [sms(1), sms(2, body="€" * 81)])
    assert [(o.outcome, o.provider_message_id, o.segments) for o in outcomes] == [
        (Outcome.ACCEPTED, "ib000001", 1), (Outcome.ACCEPTED, "ib000002", 2)]
    assert [(m.to, m.reference) for m in infobip_fake.accepted] == [
        ("+15550100001", "ib000001"), ("+15550100002", "ib000002")]
    assert infobip_fake.requests == 1  # one request per batch


async def test_wrong_api_key_rejects_everything(infobip_fake, client_session) -> None:
    adapter = infobip.InfobipProvider(api_key="nope", session=client_session,
                                      base_url=infobip_fake.url)
    outcomes = await adapter.send([sms(1), sms(2)])
    assert {(o.outcome, o.error_code) for o in outcomes} == {(Outcome.REJECTED, "E401")}


async def test_rejected_destination_in_a_batch(infobip_fake, client_session) -> None:
    infobip_fake.stop_numbers.add("+15550100002")
    outcomes = await provider(infobip_fake, client_session).send([sms(1), sms(2)])
    assert [(o.outcome, o.error_code) for o in outcomes] == [
        (Outcome.ACCEPTED, None), (Outcome.REJECTED, "52")]
    assert "REJECTED_DESTINATION" in (outcomes[1].error_message or "")


async def test_a_validation_error_rejects_only_the_named_message(infobip_fake,
                                                                 client_session) -> None:
    outcomes = await provider(infobip_fake, client_session).send(
        [sms(1), sms(2, body=""), sms(3)])
    assert [o.outcome for o in outcomes] == [Outcome.RETRY, Outcome.REJECTED, Outcome.RETRY]
    assert "content.text" in (outcomes[1].error_message or "")
    assert infobip_fake.accepted == []  # the whole request was refused: nothing left


@pytest.mark.parametrize(("header", "expected"), [("12", 12.0), (None, None)])
async def test_429_is_retry(infobip_fake, client_session, header, expected) -> None:
    infobip_fake.inject(Fault.RATE_LIMIT, retry_after=header)
    outcomes = await provider(infobip_fake, client_session).send([sms(1), sms(2)])
    assert {(o.outcome, o.retry_after) for o in outcomes} == {(Outcome.RETRY, expected)}
    assert infobip_fake.accepted == []


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.ACCEPT_THEN_ERROR])
async def test_5xx_is_unknown(infobip_fake, client_session, fault) -> None:
    infobip_fake.inject(fault)
    outcomes = await provider(infobip_fake, client_session).send([sms(1), sms(2)])
    assert {(o.outcome, o.error_code) for o in outcomes} == {(Outcome.UNKNOWN, "E500")}
    assert len(infobip_fake.accepted) == (2 if fault is Fault.ACCEPT_THEN_ERROR else 0)


async def test_timeout_is_unknown(infobip_fake, client_session) -> None:
    infobip_fake.inject(Fault.TIMEOUT)
    adapter = provider(infobip_fake, client_session, timeouts=Timeouts(total=0.3))
    [outcome] = await adapter.send([sms()])
    assert outcome.outcome is Outcome.UNKNOWN
    assert infobip_fake.holding == 1  # its answer never came
    assert len(infobip_fake.accepted) == 1


async def test_connection_refused_is_retry(client_session, unused_tcp_port) -> None:
    adapter = infobip.InfobipProvider(api_key="k", session=client_session,
                                      base_url=f"http://127.0.0.1:{unused_tcp_port}")
    assert [o.outcome for o in await adapter.send([sms(1), sms(2)])] == [Outcome.RETRY] * 2


async def test_delivery_reports_arrive_in_batches(infobip_fake, client_session,
                                                  webhook_sink) -> None:
    infobip_fake.undeliverable["+15550100003"] = "27"
    callback = webhook_sink.url + "/infobip?account=4&token=s3cret"
    await provider(infobip_fake, client_session).send(
        [sms(i, callback=callback) for i in range(1, 4)])
    await infobip_fake.drain()
    assert all(infobip.verify(call, "s3cret") for call in webhook_sink.calls)
    receipts = [r for c in webhook_sink.calls for r in infobip.parse(c).receipts]
    assert len(receipts) == 6 and len(webhook_sink.calls) < 6  # batched
    final = {r.message_id: r for r in receipts if r.state is not DeliveryState.SENT}
    assert final["ib000001"].state is DeliveryState.DELIVERED
    assert final["ib000001"].error_code is None
    assert (final["ib000003"].state, final["ib000003"].error_code) == (
        DeliveryState.UNDELIVERED, "27")
    assert final["ib000001"].occurred_at is not None


async def test_out_of_order_duplicate_and_unknown_reports(infobip_fake, client_session,
                                                          webhook_sink) -> None:
    infobip_fake.receipt_mode = ReceiptMode.OUT_OF_ORDER
    await provider(infobip_fake, client_session).send(
        [sms(1, callback=webhook_sink.url + "/i")])
    await infobip_fake.drain()
    infobip_fake.receipt_mode = ReceiptMode.DUPLICATE
    await provider(infobip_fake, client_session).send(
        [sms(2, callback=webhook_sink.url + "/i")])
    await infobip_fake.drain()
    await infobip_fake.send_unknown_receipt(webhook_sink.url + "/i")
    states = [(r.message_id, r.state) for c in webhook_sink.calls
              for r in infobip.parse(c).receipts]
    assert states[:2] == [("ib000001", DeliveryState.DELIVERED),
                          ("ib000001", DeliveryState.SENT)]
    assert sorted(states[2:6]) == [("ib000002", DeliveryState.DELIVERED)] * 2 + [
        ("ib000002", DeliveryState.SENT)] * 2
    ghost = states[6][0]
    assert ghost not in ("ib000001", "ib000002")


async def test_inbound_stop(infobip_fake, webhook_sink) -> None:
    infobip_fake.inbound_url = webhook_sink.url + "/infobip?token=tok"
    assert await infobip_fake.send_inbound("+15550100001", FROM, "STOP") == 200
    call = webhook_sink.calls[0]
    assert infobip.verify(call, "tok") and not infobip.verify(call, "other")
    [inbound] = infobip.parse(call).inbound
    assert (inbound.from_number, inbound.to_number, inbound.body) == (
        "+15550100001", FROM, "STOP")
    assert inbound.received_at is not None


def test_verify_needs_the_token() -> None:
    bare = WebhookRequest(url="http://x/i", method="POST", headers={}, query={})
    assert not infobip.verify(bare, "tok")
    assert not infobip.verify(dataclasses.replace(bare, query={"token": "tok"}), "")


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"results": {}}', b"[]"])
def test_parse_refuses_what_is_not_a_batch(body: bytes) -> None:
    request = WebhookRequest(url="http://x/i", method="POST", headers={}, query={}, body=body)
    with pytest.raises(ValidationError):
        infobip.parse(request)


def test_parse_leaves_out_only_the_items_it_cannot_read() -> None:
    good = {"messageId": "b", "status": {"groupName": "DELIVERED", "name": "DELIVERED"}}
    body = json.dumps({"results": [
        {"x": 1}, {"messageId": "a", "status": {"groupName": "WEIRD"}}, good,
        {"from": "15550100001", "to": "15005550006", "messageId": "in1", "text": "STOP"},
        {"from": "15550100001", "text": "no to"}]}).encode()
    events = infobip.parse(WebhookRequest(url="http://x/i", method="POST", headers={},
                                          query={}, body=body))
    assert [r.message_id for r in events.receipts] == ["b"]
    assert [m.body for m in events.inbound] == ["STOP"]
    assert [u.split()[1].rstrip(":") for u in events.unreadable] == [
        "results[0]", "results[1]", "results[4]"]


def test_parse_reads_the_documented_report_shape() -> None:
    payload = {"results": [{
        "bulkId": "BULK-ID-123-xyz", "price": {"pricePerMessage": 0.01, "currency": "EUR"},
        "status": {"groupId": 3, "groupName": "DELIVERED", "id": 5,
                   "name": "DELIVERED_TO_HANDSET", "description": "Message delivered"},
        "error": {"groupId": 0, "groupName": "OK", "id": 0, "name": "NO_ERROR",
                  "description": "No Error", "permanent": False},
        "messageId": "MESSAGE-ID-123-xyz", "to": "41793026727", "sender": "InfoSMS",
        "sentAt": "2023-08-01T16:10:00+05:30", "doneAt": "2023-08-01T16:10:00+05:30",
        "messageCount": 1}]}
    request = WebhookRequest(url="http://x/i", method="POST", headers={}, query={},
                             body=json.dumps(payload).encode())
    [receipt] = infobip.parse(request).receipts
    assert (receipt.message_id, receipt.state, receipt.raw_status) == (
        "MESSAGE-ID-123-xyz", DeliveryState.DELIVERED, "DELIVERED_TO_HANDSET")
    assert receipt.occurred_at is not None and receipt.occurred_at.hour == 10


def sent(n: int, *, queued_at, body: str = "Hello there") -> SentSms:
    return SentSms(message_id=f"ib{n:06d}", to=f"+1555010{n:04d}", from_=FROM, body=body,
                   queued_at=queued_at)


async def test_lookup_reads_the_message_logs_by_our_id(infobip_fake, client_session,
                                                       clock) -> None:
    infobip_fake.undeliverable["+15550100002"] = "27"
    adapter = provider(infobip_fake, client_session, clock=clock)
    await adapter.send([sms(1), sms(2)])
    answer = await adapter.lookup([sent(1, queued_at=clock.now()),
                                   sent(2, queued_at=clock.now()),
                                   sent(3, queued_at=clock.now()),  # never sent
                                   sent(4, queued_at=clock.now() - dt.timedelta(days=3))])
    assert (answer["ib000001"].state, answer["ib000001"].raw_status) == (
        DeliveryState.DELIVERED, "DELIVERED_TO_HANDSET")
    assert (answer["ib000002"].state, answer["ib000002"].error_code) == (
        DeliveryState.UNDELIVERED, "27")
    assert answer["ib000003"] is None  # Infobip has no log of it
    assert "ib000004" not in answer  # older than the logs are kept: cannot tell
    assert infobip_fake.lookups == 1  # one request for the lot


async def test_lookup_that_fails_tells_nothing(infobip_fake, client_session, clock,
                                               unused_tcp_port) -> None:
    wrong = infobip.InfobipProvider(api_key="nope", session=client_session,
                                    base_url=infobip_fake.url, clock=clock)
    assert await wrong.lookup([sent(1, queued_at=clock.now())]) == {}
    down = infobip.InfobipProvider(api_key="k", session=client_session, clock=clock,
                                   base_url=f"http://127.0.0.1:{unused_tcp_port}")
    assert await down.lookup([sent(1, queued_at=clock.now())]) == {}
