"""The CM adapter against the CM fake, over real HTTP."""

from __future__ import annotations

import dataclasses

import pytest

from core.errors import ValidationError
from core.providers import cm
from core.providers.base import DeliveryState, OutboundSms, Outcome, WebhookRequest
from core.providers.common import Timeouts
from tests.fakes.base import Fault, ReceiptMode
from tests.fakes.cm_fake import CmFake

FROM = "+15005550006"


def sms(n: int = 1, *, body: str = "Hello there", to: str | None = None) -> OutboundSms:
    return OutboundSms(message_id=f"cm{n:06d}", to=to or f"+1555010{n:04d}", from_=FROM,
                       body=body)


def provider(fake: CmFake, session, **kw) -> cm.CmProvider:
    return cm.CmProvider(product_token=fake.product_token, session=session,
                         base_url=fake.url, **kw)


async def test_batch_accepted(cm_fake, client_session) -> None:
    outcomes = await provider(cm_fake, client_session).send([sms(1), sms(2, body="Ж" * 71)])
    assert [(o.outcome, o.provider_message_id, o.segments) for o in outcomes] == [
        (Outcome.ACCEPTED, "cm000001", 1), (Outcome.ACCEPTED, "cm000002", 2)]
    assert [(m.to, m.reference) for m in cm_fake.accepted] == [
        ("+15550100001", "cm000001"), ("+15550100002", "cm000002")]
    assert cm_fake.requests == 1


async def test_partial_acceptance(cm_fake, client_session) -> None:
    cm_fake.stop_numbers.add("+15550100002")
    outcomes = await provider(cm_fake, client_session).send(
        [sms(1), sms(2), sms(3, to="+12"), sms(4, body="")])
    assert [(o.outcome, o.error_code) for o in outcomes] == [
        (Outcome.ACCEPTED, None), (Outcome.REJECTED, "402"), (Outcome.REJECTED, "303"),
        (Outcome.REJECTED, "304")]
    assert [m.to for m in cm_fake.accepted] == ["+15550100001"]


async def test_all_rejected_is_a_400_with_details(cm_fake, client_session) -> None:
    outcomes = await provider(cm_fake, client_session).send([sms(1, to="+12")])
    assert [(o.outcome, o.error_code) for o in outcomes] == [(Outcome.REJECTED, "303")]
    assert cm_fake.statuses[400] == 1


async def test_wrong_token_rejects_everything(cm_fake, client_session) -> None:
    adapter = cm.CmProvider(product_token="bad", session=client_session, base_url=cm_fake.url)
    outcomes = await adapter.send([sms(1), sms(2)])
    assert {(o.outcome, o.error_code) for o in outcomes} == {(Outcome.REJECTED, "101")}


@pytest.mark.parametrize(("header", "expected"), [("5", 5.0), (None, None)])
async def test_429_is_retry(cm_fake, client_session, header, expected) -> None:
    cm_fake.inject(Fault.RATE_LIMIT, retry_after=header)
    outcomes = await provider(cm_fake, client_session).send([sms(1)])
    assert [(o.outcome, o.retry_after) for o in outcomes] == [(Outcome.RETRY, expected)]


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.ACCEPT_THEN_ERROR])
async def test_5xx_is_unknown(cm_fake, client_session, fault) -> None:
    cm_fake.inject(fault)
    outcomes = await provider(cm_fake, client_session).send([sms(1), sms(2)])
    assert {o.outcome for o in outcomes} == {Outcome.UNKNOWN}


async def test_timeout_is_unknown(cm_fake, client_session) -> None:
    cm_fake.inject(Fault.TIMEOUT)
    adapter = provider(cm_fake, client_session, timeouts=Timeouts(total=0.3))
    assert [o.outcome for o in await adapter.send([sms()])] == [Outcome.UNKNOWN]
    assert cm_fake.holding == 1  # its answer never came
    assert len(cm_fake.accepted) == 1


async def test_connection_refused_is_retry(client_session, unused_tcp_port) -> None:
    adapter = cm.CmProvider(product_token="t", session=client_session,
                            base_url=f"http://127.0.0.1:{unused_tcp_port}")
    assert [o.outcome for o in await adapter.send([sms()])] == [Outcome.RETRY]


async def test_status_reports(cm_fake, client_session, webhook_sink) -> None:
    cm_fake.receipt_url = webhook_sink.url + "/cm?account=2&token=tk"
    cm_fake.undeliverable["+15550100002"] = "5"
    await provider(cm_fake, client_session).send([sms(1), sms(2)])
    await cm_fake.drain()
    assert all(cm.verify(c, "tk") for c in webhook_sink.calls)
    receipts = [r for c in webhook_sink.calls for r in cm.parse(c).receipts]
    final = {r.message_id: r for r in receipts if r.state is not DeliveryState.SENT}
    assert final["cm000001"].state is DeliveryState.DELIVERED
    assert (final["cm000002"].state, final["cm000002"].error_code) == (
        DeliveryState.UNDELIVERED, "5")
    assert sum(r.state is DeliveryState.SENT for r in receipts) == 2


async def test_duplicate_out_of_order_and_unknown_reports(cm_fake, client_session,
                                                          webhook_sink) -> None:
    cm_fake.receipt_url = webhook_sink.url + "/cm"
    cm_fake.receipt_mode = ReceiptMode.OUT_OF_ORDER
    await provider(cm_fake, client_session).send([sms(1)])
    await cm_fake.drain()
    cm_fake.receipt_mode = ReceiptMode.DUPLICATE
    await provider(cm_fake, client_session).send([sms(2)])
    await cm_fake.drain()
    await cm_fake.send_unknown_receipt()
    states = [(r.message_id, r.state) for c in webhook_sink.calls
              for r in cm.parse(c).receipts]
    assert states[:2] == [("cm000001", DeliveryState.DELIVERED),
                          ("cm000001", DeliveryState.SENT)]
    assert sorted(states[2:6]) == [("cm000002", DeliveryState.DELIVERED)] * 2 + [
        ("cm000002", DeliveryState.SENT)] * 2
    assert states[6] == ("NOSUCHREF1", DeliveryState.DELIVERED)


async def test_inbound_stop(cm_fake, webhook_sink) -> None:
    cm_fake.inbound_url = webhook_sink.url + "/cm?token=tk"
    await cm_fake.send_inbound("+15550100001", FROM, "STOP")
    [first] = cm.parse(webhook_sink.calls[0]).inbound
    assert (first.from_number, first.to_number, first.body) == ("+15550100001", FROM, "STOP")
    assert cm.verify(webhook_sink.calls[0], "tk")
    assert first.provider_message_id.startswith("cm-")


def test_verify_refuses_a_wrong_token() -> None:
    request = WebhookRequest(url="http://x/c?token=a", method="POST", headers={},
                             query={"token": "a"})
    assert cm.verify(request, "a")
    assert not cm.verify(request, "b")
    assert not cm.verify(dataclasses.replace(request, query={}), "a")


@pytest.mark.parametrize("body", [b"[]", b"{}", b'{"messages": {}}'])
def test_parse_refuses_what_is_not_a_report(body: bytes) -> None:
    request = WebhookRequest(url="http://x/c", method="POST", headers={}, query={}, body=body)
    with pytest.raises(ValidationError):
        cm.parse(request)


def test_parse_leaves_out_only_the_reports_it_cannot_read() -> None:
    body = (b'{"messages": {"msg": [{"status": {"code": "9"}, "reference": "a"}, "x", '
            b'{"status": {"code": "2"}, "reference": "b"}]}}')
    events = cm.parse(WebhookRequest(url="http://x/c", method="POST", headers={}, query={},
                                     body=body))
    assert [r.message_id for r in events.receipts] == ["b"]
    assert len(events.unreadable) == 2 and "'9'" in events.unreadable[0]
