"""Item 11: a provider's webhook batch with one item we cannot read is stored for the
rest and answered 200 (a 4xx makes the provider retry the whole batch forever, and the
good receipts beside the bad one are never stored). Through our HTTP endpoint, on both
backends, with payloads shaped as each provider sends them."""

from __future__ import annotations

import logging

from core.messaging.models import MessageStatus
from tests.fakes.base import ReceiptMode
from tests.messaging.stack import stack

ALICE = "+12125550101"
BOB = "+12125550102"


def _left_out(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "left out" in r.getMessage()]


async def test_an_infobip_batch_stores_what_it_can_read(db, clock, tmp_path, caplog):
    async with stack("infobip", clock=clock, tmp_path=tmp_path) as s:
        s.fake.receipt_mode = ReceiptMode.NONE  # this test posts the reports itself
        alice, bob = await s.send(ALICE), await s.send(BOB)
        await s.executor.drain()
        to_alice, to_bob = s.fake.accepted
        delivered = s.fake.report(to_alice, "DELIVERED_TO_HANDSET", None)
        undelivered = s.fake.report(to_bob, "UNDELIVERABLE_NOT_DELIVERED", "27")
        undelivered["error"] = {**undelivered["error"],
                                "description": "Absent\u0000 subscriber"}  # NUL from them
        unmapped = s.fake.report(to_bob, "DELIVERED_TO_HANDSET", None)
        unmapped["status"] = {**unmapped["status"], "groupName": "PENDING_REVIEW"}
        no_id = s.fake.report(to_alice, "DELIVERED_TO_HANDSET", None)
        del no_id["messageId"]
        caplog.set_level(logging.WARNING)

        status = await s.fake.post(to_alice.callback_url, json_body={
            "results": [unmapped, delivered, no_id, "junk", undelivered]})

        assert status == 200
        assert (await s.row(alice["message_id"])).status == MessageStatus.DELIVERED
        row = await s.row(bob["message_id"])
        assert (row.status, row.error_code) == (MessageStatus.UNDELIVERED, "27")
        assert row.error_message == "EC_ABSENT_SUBSCRIBER: Absent subscriber"
        reasons = _left_out(caplog)
        assert len(reasons) == 3, reasons
        assert any("'PENDING_REVIEW'" in r for r in reasons)
        assert any("messageId or status missing" in r for r in reasons)
        assert not any(ALICE[2:] in r or BOB[2:] in r for r in reasons)  # no numbers


async def test_a_cm_report_batch_stores_what_it_can_read(db, clock, tmp_path, caplog):
    async with stack("cm", clock=clock, tmp_path=tmp_path) as s:
        s.fake.receipt_mode = ReceiptMode.NONE
        alice, bob = await s.send(ALICE), await s.send(BOB)
        await s.executor.drain()
        to_alice, to_bob = s.fake.accepted
        good = s.fake.report(to_alice, "2", None, to_alice.reference)["messages"]["msg"]
        odd = s.fake.report(to_bob, "7", None, to_bob.reference)["messages"]["msg"]
        caplog.set_level(logging.WARNING)

        status = await s.fake.post(s.fake.receipt_url,
                                   json_body={"messages": {"msg": [odd, good, 5]}})

        assert status == 200
        assert (await s.row(alice["message_id"])).status == MessageStatus.DELIVERED
        assert (await s.row(bob["message_id"])).status == MessageStatus.SENT
        reasons = _left_out(caplog)
        assert len(reasons) == 2 and any("'7'" in r for r in reasons), reasons


async def test_a_twilio_callback_with_a_status_we_do_not_know_is_not_retried(
        db, clock, tmp_path, caplog):
    async with stack("twilio", clock=clock, tmp_path=tmp_path) as s:
        s.fake.receipt_mode = ReceiptMode.NONE
        sent = await s.send(ALICE)
        await s.executor.drain()
        message = s.fake.accepted[0]
        url = message.callback_url
        params = {"AccountSid": s.fake.account_sid, "From": message.from_,
                  "To": message.to, "MessageSid": message.provider_id,
                  "MessageStatus": "vaporised"}
        caplog.set_level(logging.WARNING)

        assert await s.fake.post(url, data=params, headers=s.fake.sign(url, params)) == 200

        assert (await s.row(sent["message_id"])).status == MessageStatus.SENT
        assert any("'vaporised'" in r for r in _left_out(caplog))
