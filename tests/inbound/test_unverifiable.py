"""What cannot be verified (an unsigned Twilio webhook, a list with no credentials) is
403 ``invalid_signature``, says nothing about our ids, and stores nothing."""

from __future__ import annotations

from core.contacts.models import SubscriptionStatus
from core.inbound.models import InboundMessage
from tests.inbound.helpers import (
    ALICE,
    OTHER_NUMBER,
    second_list,
    signed_twilio_form,
    subscribe,
    subscription,
)
from tests.messaging.stack import LIST_NUMBER, stack


async def test_an_unverifiable_twilio_webhook_is_403_and_leaks_nothing(db, clock, tmp_path):
    async with stack("twilio", clock=clock, tmp_path=tmp_path) as s:
        bare = await second_list(s)  # a Twilio list with no credentials yet
        await subscribe(s, ALICE, OTHER_NUMBER)
        url = s.fake.inbound_url
        assert url is not None
        inbound = {"MessageSid": "SM" + "3" * 32, "SmsStatus": "received", "Body": "STOP",
                   "From": ALICE, "To": OTHER_NUMBER}
        for headers in ({}, signed_twilio_form(url, "c" * 32, **inbound)[1]):
            resp = await s.client.post(url.removeprefix(s.base_url), data=inbound,
                                       headers=headers)
            assert resp.status == 403, await resp.text()
            answer = await resp.json()
            assert answer["code"] == "invalid_signature"
            assert str(bare.id) not in answer["error"]
        # Unsigned, about the list that has credentials.
        resp = await s.client.post(url.removeprefix(s.base_url),
                                   data={**inbound, "To": LIST_NUMBER})
        assert resp.status == 403
        assert (await resp.json())["code"] == "invalid_signature"
        assert await InboundMessage.all().count() == 0
        assert await subscription(ALICE, OTHER_NUMBER) == SubscriptionStatus.ACTIVE


async def test_a_form_that_is_not_utf8_is_403_not_a_500(db, clock, tmp_path):
    # Twilio sends UTF-8; bytes that are not cannot be a signed Twilio request.
    async with stack("twilio", clock=clock, tmp_path=tmp_path) as s:
        url = s.fake.inbound_url
        assert url is not None
        resp = await s.client.post(
            url.removeprefix(s.base_url),
            data=b"Body=STOP\xff\xfe&From=%2B12125550101&To=%2B14155550100&SmsStatus=received"
                 b"&MessageSid=SM1",
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "X-Twilio-Signature": "c2lnbmVk"})
        assert resp.status == 403, await resp.text()
        assert (await resp.json())["code"] == "invalid_signature"
        assert await InboundMessage.all().count() == 0
