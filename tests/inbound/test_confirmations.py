"""The opt-out confirmation is never cancelled by a later opt-out of the same person."""

from __future__ import annotations

import pytest

from core.messaging.models import MessageSent, MessageStatus
from tests.inbound.helpers import ALICE, confirmations, subscribe
from tests.messaging.stack import LIST_NUMBER, stack


@pytest.mark.parametrize("provider", ["infobip", "cm"])
async def test_a_second_stop_keeps_the_first_stops_pending_confirmation(db, clock, tmp_path,
                                                                        provider):
    async with stack(provider, clock=clock, tmp_path=tmp_path) as s:
        await subscribe(s, ALICE)
        assert await s.fake.send_inbound(ALICE, LIST_NUMBER, "STOP") == 200
        # The confirmation is queued; the provider has not taken it yet.
        clock.advance(1)
        assert await s.fake.send_inbound(ALICE, LIST_NUMBER, "Stop") == 200
        reply = await MessageSent.get(is_reply=True)
        assert reply.status == MessageStatus.QUEUED
        await s.settle()
        assert len(confirmations(s, ALICE)) == 1
        assert (await MessageSent.get(is_reply=True)).status == MessageStatus.DELIVERED
