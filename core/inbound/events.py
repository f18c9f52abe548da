"""The outbound webhook events of an inbound message: every message stored for an
account is a ``reply``; one that unsubscribed someone is an ``unsubscribe`` too."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.events import EventSink, EventType
from core.providers.base import InboundSms

if TYPE_CHECKING:
    from core.inbound.service import InboundOutcome

UNSUBSCRIBING = ("unsubscribed", "complaint_unsubscribed")


async def inbound_events(sink: EventSink, outcome: InboundOutcome, sms: InboundSms) -> None:
    if outcome.account_id is None or outcome.inbound_id is None:
        return
    common = {"inbound_id": outcome.inbound_id, "from": outcome.reply_to or sms.from_number,
              "to": outcome.reply_from or sms.to_number}
    await sink.emit(EventType.REPLY, [(outcome.account_id, {
        **common, "body": sms.body, "intent": outcome.intent.value,
        "action": outcome.action})])
    if outcome.action in UNSUBSCRIBING:
        await sink.emit(EventType.UNSUBSCRIBE, [(outcome.account_id, {
            **common, "keyword": outcome.keyword, "list_id": outcome.sending_list_id,
            "reason": "complaint" if outcome.action == "complaint_unsubscribed"
            else "message"})])
