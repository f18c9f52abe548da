"""Item 12: a message whose send outcome is unknown is not given up on blindly. Where the
provider can be asked (Infobip's message logs by our id; Twilio's Messages by sid, or
from our number to the recipient), the reconciler asks before it orphans anything, and
records the answer. Against the provider fakes over HTTP, on both backends."""

from __future__ import annotations

import pytest

from core.billing.models import UsageRecord
from core.messaging.models import MessageStatus
from tests.fakes.base import Fault, ReceiptMode
from tests.messaging.stack import stack

ALICE = "+12125550101"
BOB = "+12125550102"


@pytest.mark.parametrize("provider", ["infobip", "twilio"])
async def test_the_reconciler_asks_the_provider_before_giving_up(db, clock, tmp_path,
                                                                 provider):
    async with stack(provider, clock=clock, tmp_path=tmp_path) as s:
        s.fake.receipt_mode = ReceiptMode.NONE  # the reports never come
        s.fake.inject(Fault.ACCEPT_THEN_ERROR)  # it took Alice's, then answered 500
        taken = await s.send(ALICE)
        await s.executor.drain()
        s.fake.inject(Fault.SERVER_ERROR)  # it never took Bob's, and answered 500
        lost = await s.send(BOB)
        await s.executor.drain()
        for sent in (taken, lost):
            row = await s.row(sent["message_id"])
            assert (row.status, row.status_detail) == ("sending", "outcome_unknown")

        s.clock.advance(minutes=11)  # past the grace for a late receipt
        assert await s.executor.reconcile() == 1  # only Bob's ends orphaned

        alice = await s.message(taken["message_id"])
        assert alice["status"] == "delivered"
        assert alice["provider_message_id"] == s.fake.accepted[0].provider_id
        [answer] = [h for h in alice["history"] if h["source"] == f"reconciler:{provider}"]
        assert (answer["status"], answer["provider_status"]) == (
            "delivered", "DELIVERED_TO_HANDSET" if provider == "infobip" else "delivered")
        # The provider took it, so it is billed like any accepted send.
        row = await s.row(taken["message_id"])
        assert await UsageRecord.filter(message_id=row.id).count() == 1

        bob = await s.message(lost["message_id"])
        assert (bob["status"], bob["status_detail"]) == ("orphaned", "orphan")
        assert f"{provider} has no record of it" in bob["history"][-1]["detail"]
        assert not await UsageRecord.filter(message_id=(await s.row(lost["message_id"])).id
                                            ).exists()
        assert s.fake.lookups >= 1
        assert [m.to for m in s.fake.accepted] == [ALICE]  # nothing was sent again
        assert await s.executor.reconcile() == 0


async def test_a_provider_that_cannot_be_asked_still_orphans_with_the_reason(
        db, clock, tmp_path):
    async with stack("cm", clock=clock, tmp_path=tmp_path) as s:
        s.fake.receipt_mode = ReceiptMode.NONE
        s.fake.inject(Fault.ACCEPT_THEN_ERROR)
        sent = await s.send(ALICE)
        await s.executor.drain()
        s.clock.advance(minutes=11)
        assert await s.executor.reconcile() == 1
        message = await s.message(sent["message_id"])
        assert message["status"] == MessageStatus.ORPHANED
        assert "cm could not tell" in message["history"][-1]["detail"]
        # A late report still settles it.
        reference = s.fake.accepted[0].reference
        report = s.fake.report(s.fake.accepted[0], "2", None, reference)
        assert await s.fake.post(s.fake.receipt_url, json_body=report) == 200
        assert (await s.message(sent["message_id"]))["status"] == "delivered"
