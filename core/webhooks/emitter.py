"""Queueing events for the endpoints that want them: the outbox writer of webhooks.

Events happen on hot paths (a batch of delivery receipts, an inbound message), most of
them in accounts with no endpoint at all, so which account wants which event is cached
per process: an account without an endpoint for the event costs no round trip. The
cache is invalidated here when this process changes an account's endpoints; other
processes notice within ``TTL`` seconds (a short TTL rather than LISTEN/NOTIFY: it works
on SQLite too, and an endpoint created a few seconds late misses nothing that matters
to a receiver that did not exist a moment ago)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from core.clock import Clock
from core.events import EventItem, EventType
from core.ids import random_string
from core.sql import Params, fetch
from core.webhooks.models import DeliveryStatus, EndpointStatus, WebhookDelivery

TTL = 10.0  # seconds an account's subscriptions are trusted without asking again
MAX_CACHED = 10_000  # accounts; the cache starts over past this


def new_event_id() -> str:
    return "msg_" + random_string(24)


def envelope(event: str, event_id: str, at: dt.datetime, data: dict[str, Any]
             ) -> dict[str, Any]:
    """What a receiver gets: Standard Webhooks' recommended shape."""
    return {"id": event_id, "type": event, "timestamp": at.astimezone(dt.UTC).isoformat(),
            "data": data}


class WebhookEmitter:
    """core.events.EventSink for the webhooks domain."""

    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock
        # account id -> (valid until, {event: [endpoint ids]})
        self._subscriptions: dict[int, tuple[float, dict[str, list[int]]]] = {}
        self.lookups = 0  # database round trips spent on the cache (for /metrics, tests)

    def invalidate(self, account_id: int) -> None:
        self._subscriptions.pop(account_id, None)

    async def emit(self, event: EventType, items: Sequence[EventItem]) -> int:
        if not items:
            return 0
        wanted = await self._endpoints(event, {account for account, _ in items})
        if not wanted:
            return 0
        now = self.clock.now()
        rows: list[WebhookDelivery] = []
        for account_id, data in items:
            endpoints = wanted.get(account_id)
            if not endpoints:
                continue
            event_id = new_event_id()
            payload = envelope(event.value, event_id, now, json.loads(json.dumps(
                data, default=str)))
            rows += [WebhookDelivery(account_id=account_id, endpoint_id=endpoint_id,
                                     event_id=event_id, event=event.value, payload=payload,
                                     status=DeliveryStatus.PENDING, attempts=0,
                                     next_attempt_at=now, created_at=now)
                     for endpoint_id in endpoints]
        if rows:
            await WebhookDelivery.bulk_create(rows, batch_size=500)
        return len(rows)

    async def _endpoints(self, event: EventType, accounts: set[int]) -> dict[int, list[int]]:
        """The endpoints of each account that want ``event`` (accounts with none left
        out); one round trip for all the accounts the cache does not know."""
        clock = time.monotonic()
        missing = [a for a in accounts
                   if a not in self._subscriptions or self._subscriptions[a][0] < clock]
        if missing:
            self.lookups += 1
            if len(self._subscriptions) > MAX_CACHED:
                self._subscriptions.clear()
            p = Params()
            rows = await fetch(
                "SELECT id, account_id, events FROM webhook_endpoint WHERE "
                f"{p.isin('account_id', missing)} AND status IN "
                f"({p(EndpointStatus.ACTIVE.value)}, {p(EndpointStatus.PAUSED.value)})", p)
            found: dict[int, dict[str, list[int]]] = defaultdict(dict)
            for row in rows:
                events = row["events"]
                if isinstance(events, str):  # SQLite hands JSON back as text
                    events = json.loads(events)
                for name in events or []:
                    found[row["account_id"]].setdefault(name, []).append(row["id"])
            for account in missing:
                self._subscriptions[account] = (clock + TTL, found.get(account, {}))
        out = {}
        for account in accounts:
            endpoints = self._subscriptions[account][1].get(event.value)
            if endpoints:
                out[account] = endpoints
        return out
