"""Text providers send us (inbound SMS, receipts) is cleaned of NUL and control
characters and processed: a STOP is a STOP, on PostgreSQL too (must-show 3)."""

from __future__ import annotations

import pytest

from core.contacts.models import SubscriptionStatus
from core.inbound.models import InboundMessage
from core.messaging.models import MessageStatus
from tests.inbound.helpers import ALICE, confirmations, signed_twilio_form, subscribe, subscription
from tests.messaging.stack import LIST_NUMBER, stack


@pytest.mark.parametrize("provider", ["infobip", "cm", "twilio"])
async def test_an_inbound_stop_carrying_a_nul_unsubscribes_and_is_confirmed_once(
        db, clock, tmp_path, provider):
    async with stack(provider, clock=clock, tmp_path=tmp_path) as s:
        await subscribe(s, ALICE)
        # Providers retry a webhook until it is answered 2xx: the same payload twice.
        if provider == "infobip":
            payload = {"results": [{"from": ALICE.lstrip("+"), "to": LIST_NUMBER.lstrip("+"),
                                    "messageId": "a2", "text": "STOP\u0000"}]}
            for _ in range(2):
                assert await s.fake.post(s.fake.inbound_url, json_body=payload) == 200
        else:
            assert await s.fake.send_inbound(ALICE, LIST_NUMBER, "STOP\u0000") == 200
        assert await subscription(ALICE) == SubscriptionStatus.UNSUBSCRIBED
        stored = await InboundMessage.get(from_number=ALICE)
        assert stored.body == "STOP" and stored.action_taken == "unsubscribed"
        await s.settle()
        if provider == "twilio":  # Twilio's own opt-out handling answers a STOP
            assert confirmations(s, ALICE) == []
        else:
            assert len(confirmations(s, ALICE)) == 1


async def test_a_receipt_with_control_characters_is_stored_clean(db, clock, tmp_path):
    async with stack("twilio", clock=clock, tmp_path=tmp_path) as s:
        s.fake.receipt_mode = s.fake.receipt_mode.NONE  # only ours
        sent = await s.send(ALICE)
        await s.executor.drain()
        row = await s.row(sent["message_id"])
        url = f"{s.fake.receipt_url}&message_id={sent['message_id']}"
        params, headers = signed_twilio_form(
            url, s.fake.auth_token, From=LIST_NUMBER, To=ALICE,
            MessageSid=row.provider_message_id or "", MessageStatus="undelivered",
            ErrorCode="30003\u0000", ErrorMessage="Unreachable\u0000 handset\u0007")
        assert await s.fake.post(url, data=params, headers=headers) == 200
        row = await s.row(sent["message_id"])
        assert (row.status, row.error_code, row.error_message) == (
            MessageStatus.UNDELIVERED, "30003", "Unreachable handset")
