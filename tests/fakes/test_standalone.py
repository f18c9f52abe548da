"""The fakes run in their own process and answer their control API; the record survives
whatever happens to the sender."""

from __future__ import annotations

import asyncio

import pytest

from core.providers import cm, infobip, twilio
from core.providers.base import OutboundSms, Outcome
from tests.fakes.cm_fake import PRODUCT_TOKEN
from tests.fakes.infobip_fake import API_KEY
from tests.fakes.standalone import FakeControl, StandaloneFake
from tests.fakes.twilio_fake import ACCOUNT_SID, AUTH_TOKEN


async def start(provider: str, *args: str) -> StandaloneFake:
    return await asyncio.to_thread(StandaloneFake(provider, *args).start)


async def test_twilio_fake_in_its_own_process(client_session, webhook_sink) -> None:
    fake = await start("twilio", "--inbound-url", webhook_sink.url + "/twilio")
    try:
        control = FakeControl(fake.url, client_session)
        adapter = twilio.TwilioProvider(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                                        session=client_session, base_url=fake.url)
        await control.inject("rate_limit", retry_after="4", to="+15550100002")
        await control.stop_numbers("+15550100003")
        outcomes = await adapter.send([
            OutboundSms(f"m{i}", f"+1555010000{i}", "+15005550006", "Hi",
                        callback_url=webhook_sink.url + "/twilio") for i in (1, 2, 3)])
        assert [(o.outcome, o.error_code, o.retry_after) for o in outcomes] == [
            (Outcome.ACCEPTED, None, None), (Outcome.RETRY, "20429", 4.0),
            (Outcome.REJECTED, "21610", None)]
        record = await control.messages()
        assert record["count"] == 1 and record["received_twice"] == {}
        assert record["messages"][0]["to"] == "+15550100001"
        assert await control.inbound("+15550100001", "+15005550006", "STOP") == 200
        await control.drain()
        parsed = [twilio.parse(c) for c in webhook_sink.calls]
        assert any(e.inbound and e.inbound[0].body == "STOP" for e in parsed)
        assert all(twilio.verify(c, AUTH_TOKEN) for c in webhook_sink.calls)
        stats = await control.stats()
        assert stats["statuses"] == {"201": 1, "429": 1, "400": 1}
    finally:
        await asyncio.to_thread(fake.stop)


@pytest.mark.parametrize("provider", ["infobip", "cm"])
async def test_json_fakes_in_their_own_process(provider, client_session) -> None:
    fake = await start(provider)
    try:
        control = FakeControl(fake.url, client_session)
        if provider == "infobip":
            adapter = infobip.InfobipProvider(api_key=API_KEY, session=client_session,
                                              base_url=fake.url)
        else:
            adapter = cm.CmProvider(product_token=PRODUCT_TOKEN, session=client_session,
                                    base_url=fake.url)
        sms = OutboundSms("m1", "+15550100001", "+15005550006", "Hi")
        assert [o.outcome for o in await adapter.send([sms])] == [Outcome.ACCEPTED]
        assert [o.outcome for o in await adapter.send([sms])] == [Outcome.ACCEPTED]
        record = await control.messages()
        assert record["received_twice"] == {"+15550100001": 2}
        await control.reset()
        assert (await control.messages())["count"] == 0
    finally:
        await asyncio.to_thread(fake.stop)
