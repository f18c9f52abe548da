"""Events the account's outbound webhooks may want (core.webhooks delivers them).

The domains where things happen (messaging's receipts, inbound, tracking) sit below
webhooks, so they emit through this port, which the composition root fills with
core.webhooks' emitter. One call per batch; an account with no endpoint for the event
costs no database round trip (the emitter keeps a small cache)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Protocol


class EventType(StrEnum):
    DELIVERY = "delivery"
    UNSUBSCRIBE = "unsubscribe"
    REPLY = "reply"
    CLICK = "click"
    CONVERSION = "conversion"


# (account id, the event's data as the receiver sees it under "data")
EventItem = tuple[int, dict[str, Any]]


class EventSink(Protocol):
    async def emit(self, event: EventType, items: Sequence[EventItem]) -> int:
        """Queue ``event`` for every endpoint of each item's account that wants it;
        returns how many deliveries were queued."""
        ...


class NoEvents:
    """The sink of a process (or test) that delivers no webhooks."""

    async def emit(self, event: EventType, items: Sequence[EventItem]) -> int:
        return 0
