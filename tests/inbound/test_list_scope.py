"""A list's webhook secret (Infobip and CM token, Twilio auth token) acts only for that
list and its number; anything that cannot be verified is 403 and stores nothing."""

from __future__ import annotations

import pytest

from core.contacts.models import ListContact, SubscriptionStatus
from core.ids import message_public_id
from core.inbound.models import InboundMessage
from core.messaging.models import Encoding, MessageSent, MessageStatus
from tests.inbound.helpers import (
    ALICE,
    OTHER_NUMBER,
    OTHER_TWILIO,
    second_list,
    signed_twilio_form,
    subscribe,
    subscription,
)
from tests.messaging.stack import Stack, stack


@pytest.mark.parametrize("provider", ["infobip", "cm"])
async def test_a_lists_token_cannot_act_for_another_lists_number(db, clock, tmp_path,
                                                                 provider):
    async with stack(provider, clock=clock, tmp_path=tmp_path) as s:
        await second_list(s)
        await subscribe(s, ALICE, OTHER_NUMBER)
        # List A's URL and token, a STOP addressed to list B's number.
        assert await s.fake.send_inbound(ALICE, OTHER_NUMBER, "STOP") == 403
        assert await subscription(ALICE, OTHER_NUMBER) == SubscriptionStatus.ACTIVE
        assert await InboundMessage.all().count() == 0


@pytest.mark.parametrize("provider", ["infobip", "cm"])
async def test_a_lists_token_cannot_move_another_lists_messages(db, clock, tmp_path,
                                                                provider):
    async with stack(provider, clock=clock, tmp_path=tmp_path) as s:
        other = await second_list(s)
        public_id = message_public_id()
        await MessageSent.create(
            public_id=public_id, account_id=s.tenant.account.id, sending_list_id=other.id,
            contact_id=(await ListContact.first() or await _contact(s)).contact_id,
            to_number=ALICE, from_number=OTHER_NUMBER, body="x", segments=1,
            encoding=Encoding.GSM7, provider=provider, status=MessageStatus.SENT,
            provider_message_id=public_id, queued_at=clock.now(), sent_at=clock.now())
        if provider == "infobip":
            report = {"results": [{"messageId": public_id, "to": ALICE.lstrip("+"),
                                   "status": {"groupName": "DELIVERED", "id": 5,
                                              "name": "DELIVERED_TO_HANDSET"}}]}
        else:
            report = {"messages": {"msg": {"reference": public_id, "to": ALICE,
                                           "status": {"code": "2"}}}}
        status = await s.fake.post(s.fake.receipt_url, json_body=report)
        assert status in (200, 403)
        assert (await MessageSent.get(public_id=public_id)).status == MessageStatus.SENT
        # The list's own token does move it.
        own = s.fake.receipt_url.replace(s.sending_list.webhook_token, other.webhook_token)
        assert await s.fake.post(own, json_body=report) == 200
        assert (await MessageSent.get(public_id=public_id)).status == \
            MessageStatus.DELIVERED


async def _contact(s: Stack) -> ListContact:
    await subscribe(s, ALICE, OTHER_NUMBER)
    return await ListContact.get(contact__phone_number=ALICE)


async def test_a_twilio_request_is_verified_with_the_token_of_the_list_it_is_about(
        db, clock, tmp_path):
    async with stack("twilio", clock=clock, tmp_path=tmp_path) as s:
        await second_list(s, credentials=OTHER_TWILIO)
        await subscribe(s, ALICE, OTHER_NUMBER)
        url = s.fake.inbound_url
        assert url is not None
        inbound = {"MessageSid": "SM" + "1" * 32, "SmsStatus": "received", "Body": "STOP",
                   "From": ALICE, "To": OTHER_NUMBER}
        # Signed with list A's auth token, about list B's number.
        params, headers = signed_twilio_form(url, s.fake.auth_token, **inbound)
        assert await s.fake.post(url, data=params, headers=headers) == 403
        assert await subscription(ALICE, OTHER_NUMBER) == SubscriptionStatus.ACTIVE
        assert await InboundMessage.all().count() == 0
        # A receipt from list B's number, signed with list A's token.
        receipt = {"MessageSid": "SM" + "2" * 32, "MessageStatus": "delivered",
                   "From": OTHER_NUMBER, "To": ALICE}
        params, headers = signed_twilio_form(url, s.fake.auth_token, **receipt)
        assert await s.fake.post(url, data=params, headers=headers) == 403
        # List B's own token is accepted.
        params, headers = signed_twilio_form(url, OTHER_TWILIO["auth_token"], **inbound)
        assert await s.fake.post(url, data=params, headers=headers) == 200
        assert await subscription(ALICE, OTHER_NUMBER) == SubscriptionStatus.UNSUBSCRIBED
