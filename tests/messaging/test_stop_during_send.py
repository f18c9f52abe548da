"""Must show 4: a STOP that arrives while a 10,000-message send is running stops that
contact's message if it has not left."""

from __future__ import annotations

import asyncio

from core.messaging.models import MessageSent, MessageStatus
from tests.helpers import eventually
from tests.messaging.helpers import make_subscribers, queue_to
from tests.messaging.stack import LIST_NUMBER, stack

TOTAL = 10_000


async def test_stop_mid_send_stops_the_contacts_queued_message(db, clock, tmp_path):
    async with stack("twilio", clock=clock, tmp_path=tmp_path) as s:
        s.sending_list.rate_limit_per_minute = 600_000
        await s.sending_list.save(update_fields=["rate_limit_per_minute"])
        subs = await make_subscribers(s.sending_list, TOTAL, when=clock.now())
        await queue_to(subs, s.sending_list, now=clock.now())
        target = subs[-1].contact.phone_number  # queued last: claimed last

        stop = asyncio.Event()
        running = asyncio.create_task(s.executor.run(stop))
        try:
            async def some_out() -> bool:
                return len(s.fake.accepted) >= 1000

            await eventually(some_out, what="1,000 messages out", within=120)
            assert await s.fake.send_inbound(target, LIST_NUMBER, "Stop texting me") == 200
            async def settled() -> bool:
                return not await MessageSent.filter(status__in=[
                    MessageStatus.QUEUED, MessageStatus.SENDING]).exists()

            await eventually(settled, what="no message queued or sending", within=120,
                             poll=0.1)
        finally:
            stop.set()
            await running

        row = await MessageSent.get(to_number=target, is_reply=False)
        assert (row.status, row.status_detail) == (MessageStatus.DROPPED, "unsubscribed")
        assert target not in {m.to for m in s.fake.accepted if m.body.startswith("Acme: deals")}
        assert s.fake.received_twice() == {}
        out = await MessageSent.filter(is_reply=False, status__in=[
            MessageStatus.SENT, MessageStatus.DELIVERED]).count()
        assert out == TOTAL - 1  # everyone else got theirs
