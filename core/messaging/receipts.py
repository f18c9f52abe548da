"""What providers tell us about messages we sent, applied the one way: delivery reports
(webhooks, the simulator) and the answers the reconciler gets when it asks a provider
about a message whose send outcome we never learned."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.events import EventItem, EventSink, EventType
from core.messaging import queries
from core.providers.base import DeliveryState, Receipt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReceiptSummary:
    applied: int
    ignored: int  # duplicates, late receipts that would move backwards, unknown ids


async def apply_receipts(account_id: int | None, receipts: Sequence[Receipt], *,
                         source: str, now: dt.datetime, sending_list_id: int | None = None,
                         sink: EventSink | None = None) -> ReceiptSummary:
    """Move messages forward; duplicates and late receipts change nothing.
    ``sending_list_id``: only that list's messages (a callback acts for its list).

    A receipt for a message whose send outcome was unknown (never marked sent) says the
    provider took it after all: it is billed then, as an accepted send would have been."""
    applied = ignored = 0
    events: list[queries.ProviderEvent] = []
    usage: list[tuple[int, int, int, Decimal]] = []
    delivered: list[EventItem | None] = []
    for receipt in receipts:
        when = receipt.occurred_at or now
        row = await queries.apply_receipt(
            account_id=account_id, sending_list_id=sending_list_id,
            provider=receipt.provider, state=receipt.state.value, message_id=receipt.message_id,
            provider_message_id=receipt.provider_message_id,
            error_code=receipt.error_code, error_message=receipt.error_message,
            when=when, segments=receipt.segments)
        if row is None:
            ignored += 1
            continue
        applied += 1
        detail = " ".join(p for p in (receipt.error_code, receipt.error_message) if p)
        delivered.append(_delivery_event(row, receipt, when))
        events.append((row["id"], row["status"], detail or None, source, when,
                       receipt.raw_status))
        # 'sent' moves only unknown messages; any other state leaves sent_at as it was,
        # so an empty one means the executor never saw this message accepted. (A
        # receipt that raced ahead of the executor's own record bills nothing twice:
        # one usage row per message.)
        if receipt.state is DeliveryState.SENT or row["sent_at"] is None:
            usage.append((row["account_id"], row["id"], row["segments"],
                          Decimal(str(row["price"]))))
    await queries.record_events(events)
    await queries.record_usage(usage, now=now)
    if sink is not None:  # outbound webhooks: one call per batch (core.webhooks)
        await sink.emit(EventType.DELIVERY, [d for d in delivered if d is not None])
    if ignored:
        log.info("%d receipt(s) for account %s changed nothing (duplicate, late or "
                 "unknown)", ignored, account_id)
    return ReceiptSummary(applied, ignored)


def _delivery_event(row: dict[str, Any], receipt: Receipt, when: dt.datetime
                    ) -> EventItem | None:
    """The outbound webhook ``delivery`` event of a final receipt (None for 'sent')."""
    if row["status"] not in ("delivered", "undelivered", "failed"):
        return None
    return (row["account_id"], {"message_id": row["public_id"], "status": row["status"],
                                "error_code": receipt.error_code,
                                "occurred_at": when.isoformat()})
