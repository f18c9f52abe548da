"""The Twilio adapter against the Twilio fake, over real HTTP."""

from __future__ import annotations

import aiohttp
import pytest

from core.providers import twilio
from core.providers.base import DeliveryState, OutboundSms, Outcome, SentSms, WebhookRequest
from core.providers.common import Timeouts
from tests.fakes.base import Fault, ReceiptMode
from tests.fakes.fixtures import WebhookSink
from tests.fakes.twilio_fake import TwilioFake

FROM = "+15005550006"


def sms(n: int = 1, *, callback: str | None = None, body: str = "Hello there") -> OutboundSms:
    return OutboundSms(message_id=f"msg{n:05d}", to=f"+1555010{n:04d}", from_=FROM,
                       body=body, callback_url=callback)


def provider(fake: TwilioFake, session: aiohttp.ClientSession, **kw: object
             ) -> twilio.TwilioProvider:
    return twilio.TwilioProvider(account_sid=fake.account_sid, auth_token=fake.auth_token,
                                 session=session, base_url=fake.url, **kw)  # type: ignore[arg-type]


async def test_send_accepted(twilio_fake: TwilioFake, client_session) -> None:
    adapter = provider(twilio_fake, client_session)
    outcomes = await adapter.send([sms(1), sms(2, body="Ж" * 71)])
    assert [o.outcome for o in outcomes] == [Outcome.ACCEPTED, Outcome.ACCEPTED]
    assert all(o.provider_message_id and o.provider_message_id.startswith("SM")
               and len(o.provider_message_id) == 34 for o in outcomes)
    assert [o.segments for o in outcomes] == [1, 2]
    assert [(m.to, m.body) for m in twilio_fake.accepted] == [
        ("+15550100001", "Hello there"), ("+15550100002", "Ж" * 71)]


async def test_status_callback_carries_our_message_id(twilio_fake, client_session,
                                                      webhook_sink: WebhookSink) -> None:
    adapter = provider(twilio_fake, client_session)
    [outcome] = await adapter.send([sms(7, callback=webhook_sink.url + "/twilio?account=3")])
    await twilio_fake.drain()
    events = [twilio.parse(call) for call in webhook_sink.calls]
    receipts = [r for e in events for r in e.receipts]
    assert [(r.state, r.message_id, r.provider_message_id) for r in receipts] == [
        (DeliveryState.SENT, "msg00007", outcome.provider_message_id),
        (DeliveryState.DELIVERED, "msg00007", outcome.provider_message_id),
    ]
    assert all(twilio.verify(call, twilio_fake.auth_token) for call in webhook_sink.calls)
    assert webhook_sink.calls[0].query["account"] == "3"
    assert twilio_fake.accepted[0].reference == "msg00007"


async def test_wrong_credentials_are_rejected(twilio_fake, client_session) -> None:
    adapter = twilio.TwilioProvider(account_sid=twilio_fake.account_sid, auth_token="wrong",
                                    session=client_session, base_url=twilio_fake.url)
    [outcome] = await adapter.send([sms()])
    assert (outcome.outcome, outcome.error_code) == (Outcome.REJECTED, "20003")
    assert twilio_fake.accepted == []


@pytest.mark.parametrize(("to", "code"), [("+1555", "21211"), ("12345", "21211")])
async def test_permanent_rejection_carries_the_code(twilio_fake, client_session, to,
                                                    code) -> None:
    adapter = provider(twilio_fake, client_session)
    [outcome] = await adapter.send([OutboundSms("m1", to, FROM, "hi")])
    assert (outcome.outcome, outcome.error_code) == (Outcome.REJECTED, code)
    assert "not a valid phone number" in (outcome.error_message or "")


@pytest.mark.parametrize(("status", "code", "outcome"), [
    (400, 21408, Outcome.REJECTED),  # region not enabled
    (400, 21614, Outcome.REJECTED),  # not a mobile number
    (400, 21612, Outcome.REJECTED),  # cannot route to this number
    (400, 30007, Outcome.REJECTED),  # carrier filtering
    (400, 21611, Outcome.RETRY),  # the From number's queue is full: nothing queued
    (429, 14107, Outcome.RETRY),  # send rate exceeded
    (503, 20503, Outcome.UNKNOWN),  # may have been queued
])
async def test_error_code_table(twilio_fake, client_session, status, code, outcome) -> None:
    twilio_fake.errors_for["+15550100001"] = (status, code, "Twilio says no")
    [result] = await provider(twilio_fake, client_session).send([sms(1)])
    assert (result.outcome, result.error_code, result.error_message) == (
        outcome, str(code), "Twilio says no")


async def test_21610_for_a_number_that_sent_stop(twilio_fake, client_session) -> None:
    twilio_fake.stop_numbers.add("+15550100001")
    adapter = provider(twilio_fake, client_session)
    outcomes = await adapter.send([sms(1), sms(2)])
    assert [(o.outcome, o.error_code) for o in outcomes] == [
        (Outcome.REJECTED, "21610"), (Outcome.ACCEPTED, None)]
    assert [m.to for m in twilio_fake.accepted] == ["+15550100002"]


@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), (None, None)])
async def test_429_is_retry_with_retry_after(twilio_fake, client_session, header,
                                             expected) -> None:
    twilio_fake.inject(Fault.RATE_LIMIT, retry_after=header)
    adapter = provider(twilio_fake, client_session)
    [outcome] = await adapter.send([sms()])
    assert (outcome.outcome, outcome.error_code, outcome.retry_after) == (
        Outcome.RETRY, "20429", expected)
    assert twilio_fake.accepted == []
    [again] = await adapter.send([sms()])
    assert again.outcome is Outcome.ACCEPTED


async def test_500_is_unknown_and_never_resent(twilio_fake, client_session) -> None:
    twilio_fake.inject(Fault.SERVER_ERROR)
    adapter = provider(twilio_fake, client_session)
    [outcome] = await adapter.send([sms()])
    assert (outcome.outcome, outcome.error_code) == (Outcome.UNKNOWN, "20500")
    assert twilio_fake.requests == 1  # the SDK's retry layer is off


async def test_accept_then_500_is_unknown(twilio_fake, client_session) -> None:
    twilio_fake.inject(Fault.ACCEPT_THEN_ERROR)
    adapter = provider(twilio_fake, client_session)
    [outcome] = await adapter.send([sms()])
    assert outcome.outcome is Outcome.UNKNOWN
    assert len(twilio_fake.accepted) == 1 and twilio_fake.requests == 1


async def test_timeout_is_unknown(twilio_fake, client_session) -> None:
    twilio_fake.inject(Fault.TIMEOUT)  # Twilio takes it and holds its answer back
    adapter = provider(twilio_fake, client_session, timeouts=Timeouts(total=0.3))
    [outcome] = await adapter.send([sms()])
    assert outcome.outcome is Outcome.UNKNOWN
    assert "Timeout" in (outcome.error_message or "")
    assert twilio_fake.holding == 1  # we gave up on our own timeout, not on its answer
    assert len(twilio_fake.accepted) == 1


async def test_connection_refused_is_retry(client_session, unused_tcp_port) -> None:
    adapter = twilio.TwilioProvider(account_sid="AC" + "1" * 32, auth_token="x",
                                    session=client_session,
                                    base_url=f"http://127.0.0.1:{unused_tcp_port}")
    [outcome] = await adapter.send([sms()])
    assert outcome.outcome is Outcome.RETRY


async def test_a_batch_mixes_outcomes(twilio_fake, client_session) -> None:
    twilio_fake.inject(Fault.RATE_LIMIT, to="+15550100002", retry_after="1")
    twilio_fake.stop_numbers.add("+15550100003")
    adapter = provider(twilio_fake, client_session)
    outcomes = await adapter.send([sms(i) for i in range(1, 5)])
    assert {o.message_id: o.outcome for o in outcomes} == {
        "msg00001": Outcome.ACCEPTED, "msg00002": Outcome.RETRY,
        "msg00003": Outcome.REJECTED, "msg00004": Outcome.ACCEPTED}


async def test_signature_rejects_tampering(twilio_fake, client_session, webhook_sink) -> None:
    adapter = provider(twilio_fake, client_session)
    await adapter.send([sms(1, callback=webhook_sink.url + "/twilio")])
    await twilio_fake.drain()
    call = webhook_sink.calls[-1]
    assert twilio.verify(call, twilio_fake.auth_token)
    forged = dict(call.form, MessageStatus="failed")
    assert not twilio.verify(_replace(call, form=forged), twilio_fake.auth_token)
    assert not twilio.verify(_replace(call, url=call.url + "&x=1"), twilio_fake.auth_token)
    assert not twilio.verify(call, "another-token")
    assert not twilio.verify(_replace(call, headers={}), twilio_fake.auth_token)


async def test_undelivered_receipt_carries_error_code(twilio_fake, client_session,
                                                      webhook_sink) -> None:
    twilio_fake.undeliverable["+15550100001"] = "30003"
    adapter = provider(twilio_fake, client_session)
    await adapter.send([sms(1, callback=webhook_sink.url + "/twilio")])
    await twilio_fake.drain()
    final = twilio.parse(webhook_sink.calls[-1]).receipts[0]
    assert (final.state, final.error_code, final.raw_status) == (
        DeliveryState.UNDELIVERED, "30003", "undelivered")


async def test_out_of_order_and_duplicate_receipts_parse(twilio_fake, client_session,
                                                         webhook_sink) -> None:
    twilio_fake.receipt_mode = ReceiptMode.OUT_OF_ORDER
    adapter = provider(twilio_fake, client_session)
    await adapter.send([sms(1, callback=webhook_sink.url + "/t")])
    twilio_fake.receipt_mode = ReceiptMode.DUPLICATE
    await adapter.send([sms(2, callback=webhook_sink.url + "/t")])
    await twilio_fake.drain()
    states = [(r.message_id, r.state) for c in webhook_sink.calls
              for r in twilio.parse(c).receipts]
    assert states[:2] == [("msg00001", DeliveryState.DELIVERED),
                          ("msg00001", DeliveryState.SENT)]
    assert sorted(states[2:]) == [("msg00002", DeliveryState.DELIVERED)] * 2 + [
        ("msg00002", DeliveryState.SENT)] * 2


async def test_receipt_for_unknown_id_has_no_message_id(twilio_fake, webhook_sink) -> None:
    assert await twilio_fake.send_unknown_receipt(webhook_sink.url + "/t") == 200
    [receipt] = twilio.parse(webhook_sink.calls[0]).receipts
    assert receipt.message_id is None and receipt.provider_message_id.startswith("SM")
    assert twilio.verify(webhook_sink.calls[0], twilio_fake.auth_token)


async def test_inbound_stop_parses_and_verifies(twilio_fake, webhook_sink) -> None:
    twilio_fake.inbound_url = webhook_sink.url + "/twilio?account=9"
    assert await twilio_fake.send_inbound("+15550100001", FROM, "STOP") == 200
    call = webhook_sink.calls[0]
    assert twilio.verify(call, twilio_fake.auth_token)
    events = twilio.parse(call)
    assert events.receipts == []
    [inbound] = events.inbound
    assert (inbound.from_number, inbound.to_number, inbound.body) == (
        "+15550100001", FROM, "STOP")
    assert inbound.provider_message_id.startswith("SM")


async def test_after_an_inbound_stop_twilio_answers_21610(twilio_fake, client_session,
                                                          webhook_sink) -> None:
    twilio_fake.inbound_url = webhook_sink.url + "/twilio"
    adapter = provider(twilio_fake, client_session)
    await twilio_fake.send_inbound("+15550100001", FROM, " stop ")
    [blocked] = await adapter.send([sms(1)])
    assert (blocked.outcome, blocked.error_code) == (Outcome.REJECTED, "21610")
    await twilio_fake.send_inbound("+15550100001", FROM, "START")
    [again] = await adapter.send([sms(1)])
    assert again.outcome is Outcome.ACCEPTED


def test_parse_refuses_what_twilio_never_sends_and_skips_unknown_statuses() -> None:
    from core.errors import ValidationError

    bare = WebhookRequest(url="http://x/t", method="POST", headers={}, query={}, form={})
    with pytest.raises(ValidationError):
        twilio.parse(bare)
    odd = WebhookRequest(url="http://x/t", method="POST", headers={}, query={},
                         form={"MessageSid": "SM1", "MessageStatus": "exploded"})
    unknown = twilio.parse(odd)  # nothing to store, and nothing for Twilio to retry
    assert (unknown.receipts, unknown.unreadable) == ([], ["unknown MessageStatus 'exploded'"])
    queued = WebhookRequest(url="http://x/t", method="POST", headers={}, query={},
                            form={"MessageSid": "SM1", "MessageStatus": "queued"})
    assert twilio.parse(queued).receipts == []


def test_status_callback_url_replaces_an_existing_id() -> None:
    url = twilio.status_callback_url("https://h/api/webhook-feedbacks/twilio?account=5"
                                     "&message_id=old", "NEW12345")
    assert url == "https://h/api/webhook-feedbacks/twilio?account=5&message_id=NEW12345"


def _replace(call: WebhookRequest, **changes: object) -> WebhookRequest:
    import dataclasses

    return dataclasses.replace(call, **changes)  # type: ignore[arg-type]


async def test_forged_callbacks_fail_verification(twilio_fake, webhook_sink) -> None:
    twilio_fake.inbound_url = webhook_sink.url + "/twilio"
    twilio_fake.forge_with = "not-the-auth-token"
    await twilio_fake.send_inbound("+15550100001", FROM, "STOP")
    assert not twilio.verify(webhook_sink.calls[0], twilio_fake.auth_token)


def sent(n: int, *, queued_at, body: str = "Hello there", sid: str | None = None) -> SentSms:
    return SentSms(message_id=f"msg{n:05d}", to=f"+1555010{n:04d}", from_=FROM, body=body,
                   queued_at=queued_at, provider_message_id=sid)


async def test_lookup_by_sid_when_the_send_got_that_far(twilio_fake, client_session,
                                                        clock) -> None:
    twilio_fake.now = clock.now
    twilio_fake.undeliverable["+15550100002"] = "30003"
    adapter = provider(twilio_fake, client_session)
    first, second = await adapter.send([sms(1), sms(2)])
    answer = await adapter.lookup([
        sent(1, queued_at=clock.now(), sid=first.provider_message_id),
        sent(2, queued_at=clock.now(), sid=second.provider_message_id),
        sent(3, queued_at=clock.now(), sid="SM" + "0" * 32)])
    assert (answer["msg00001"].state, answer["msg00001"].provider_message_id) == (
        DeliveryState.DELIVERED, first.provider_message_id)
    assert (answer["msg00002"].state, answer["msg00002"].error_code) == (
        DeliveryState.UNDELIVERED, "30003")
    assert answer["msg00003"] is None  # 404: Twilio has no such message


async def test_lookup_without_a_sid_finds_ours_among_the_recipients_messages(
        twilio_fake, client_session, clock) -> None:
    twilio_fake.now = clock.now
    adapter = provider(twilio_fake, client_session)
    queued = clock.now()
    [accepted] = await adapter.send([sms(1, body="Your code is 1234")])
    await adapter.send([sms(2, body="Twice"), sms(2, body="Twice")])  # two alike
    answer = await adapter.lookup([sent(1, queued_at=queued, body="Your code is 1234"),
                                   sent(2, queued_at=queued, body="Twice"),
                                   sent(3, queued_at=queued)])
    assert answer["msg00001"].provider_message_id == accepted.provider_message_id
    assert answer["msg00001"].segments == 1
    assert "msg00002" not in answer  # ambiguous: cannot tell
    assert answer["msg00003"] is None  # nothing from us to them since it was queued
    clock.advance(hours=1)
    late = await adapter.lookup([sent(1, queued_at=clock.now(), body="Your code is 1234")])
    assert late == {"msg00001": None}  # what Twilio holds was created before this one was queued


async def test_lookup_that_fails_tells_nothing(client_session, clock,
                                               unused_tcp_port) -> None:
    adapter = twilio.TwilioProvider(account_sid="AC" + "1" * 32, auth_token="x",
                                    session=client_session,
                                    base_url=f"http://127.0.0.1:{unused_tcp_port}")
    assert await adapter.lookup([sent(1, queued_at=clock.now()),
                                 sent(2, queued_at=clock.now(), sid="SM1")]) == {}
