"""Messages as the API and the bot see them: status with history, listings, receipts."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from core.clock import Clock
from core.contacts.lists import SendingListService
from core.errors import NotFound
from core.events import EventSink
from core.ids import looks_like_message_id
from core.messaging.links import tracking_base
from core.messaging.models import MessageEvent, MessageSent, MessageStatus
from core.messaging.receipts import ReceiptSummary, ReceiptWriter, apply_receipts
from core.pagination import Page
from core.permissions import Action, Actor
from core.providers.base import Receipt
from core.sql import Params, fetch, read_ts
from core.validation import choice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HistoryEntry:
    status: str
    detail: str | None
    source: str
    at: dt.datetime
    provider_status: str | None = None  # the provider's own word, on its receipts


@dataclass(frozen=True)
class LinkClicks:
    """One short link of a message and what its clicks were."""

    code: str
    url: str  # the short URL as sent
    destination: str  # where it leads, offer macros unfilled
    offer_id: int | None
    clicks: int  # every request, bots included
    human_clicks: int
    first_human_click_at: dt.datetime | None


_LINKS_SQL = (
    "SELECT l.code, l.destination_url, l.offer_id, a.tracking_domain, "
    "count(r.id) AS clicks, "
    "coalesce(sum(CASE WHEN r.id IS NOT NULL AND r.is_bot = {no} THEN 1 ELSE 0 END), 0) "
    "AS human_clicks, min(CASE WHEN r.is_bot = {no} THEN r.clicked_at END) AS first_human "
    "FROM message_short_link l JOIN account a ON a.id = l.account_id "
    "LEFT JOIN message_short_link_click r ON r.short_link_id = l.id "
    "WHERE l.message_id = {message} "
    "GROUP BY l.id, l.code, l.destination_url, l.offer_id, l.link_key, a.tracking_domain "
    "ORDER BY l.link_key, l.id")


class MessageService:
    """Reading messages (any role) and applying delivery receipts (providers)."""

    def __init__(self, *, clock: Clock, lists: SendingListService,
                 events: EventSink | None = None, tracking_base: str = "") -> None:
        self.clock = clock
        self.tracking_base = tracking_base  # short links of accounts without a domain
        self.lists = lists
        self.events = events  # outbound webhooks' delivery events
        self.writer = ReceiptWriter()  # concurrent receipts share a transaction

    async def get(self, actor: Actor, public_id: str) -> MessageSent:
        actor.require(Action.READ)
        if not looks_like_message_id(public_id):
            raise NotFound(f"No message {public_id[:20]}.", code="message_not_found")
        message = await MessageSent.get_or_none(public_id=public_id,
                                                account_id=actor.account_id)
        if message is None:
            raise NotFound(f"No message {public_id}.", code="message_not_found")
        return message

    async def history(self, message: MessageSent) -> list[HistoryEntry]:
        """Queued and accepted come from the row's own times (the executor writes no event
        for the happy path); everything else from its events, in time order."""
        events = await MessageEvent.filter(message_id=message.id).order_by("occurred_at", "id")
        entries = [HistoryEntry("queued", None, "outbox", message.queued_at)]
        if message.sent_at is not None:
            entries.append(HistoryEntry("sent", "accepted by the provider", "executor",
                                        message.sent_at))
        entries += [HistoryEntry(e.status, e.detail, e.source, e.occurred_at,
                                 e.provider_status) for e in events]
        return sorted(entries, key=lambda h: h.at)

    async def links(self, message: MessageSent) -> list[LinkClicks]:
        """The message's short links with their click counts, in one round trip."""
        params = Params()
        rows = await fetch(_LINKS_SQL.format(no="false" if params.pg else "0",
                                             message=params(message.id)), params)
        return [LinkClicks(
            code=r["code"], url=f"{tracking_base(r['tracking_domain'], self.tracking_base)}"
                                f"/{r['code']}",
            destination=r["destination_url"], offer_id=r["offer_id"],
            clicks=int(r["clicks"]), human_clicks=int(r["human_clicks"]),
            first_human_click_at=read_ts(r["first_human"])) for r in rows]

    async def list(self, actor: Actor, *, page: int, per_page: int, status: str | None = None,
                   list_number: str | None = None, schedule_id: int | None = None,
                   since: dt.datetime | None = None, until: dt.datetime | None = None
                   ) -> Page[MessageSent]:
        actor.require(Action.READ)
        query = MessageSent.filter(account_id=actor.account_id)
        if status:
            query = query.filter(status=choice(MessageStatus, status, "status"))
        if list_number:
            # Any form /send takes ('+' in a query string arrives as a space).
            found = await self.lists.get_by_number(actor, list_number)
            query = query.filter(sending_list_id=found.id)
        if schedule_id is not None:
            query = query.filter(schedule_id=schedule_id)
        if since is not None:
            query = query.filter(queued_at__gte=since)
        if until is not None:
            query = query.filter(queued_at__lt=until)
        total = await query.count()
        rows = await query.order_by("-id").offset((page - 1) * per_page).limit(per_page)
        return Page(rows, total)

    async def apply_receipts(self, account_id: int | None, receipts: Sequence[Receipt], *,
                             source: str, sending_list_id: int | None = None
                             ) -> ReceiptSummary:
        """Move messages forward; duplicates and late receipts change nothing.
        ``sending_list_id``: only that list's messages (a callback acts for its list)."""
        return await apply_receipts(account_id, receipts, source=source,
                                    sending_list_id=sending_list_id, now=self.clock.now(),
                                    sink=self.events, writer=self.writer)
