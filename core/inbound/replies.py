"""Replies people sent us, as support and operators read them: what each one was taken to
mean and by which rule (so "why was I unsubscribed?" has an answer), and the review list
of replies not read as an opt-out that still hold an opt-out word.

No rule set is ever complete, and a missed revocation is the most expensive mistake the
product can make: a person decides each review. Deciding ``opt_out`` records the opt-out
as the reply itself would have (the account's STOP scope, queued messages dropped);
``keep`` only records the decision.
"""

from __future__ import annotations

import datetime as dt
import logging
from enum import StrEnum

from tortoise.transactions import in_transaction

from core.accounts.models import Account, StopScope
from core.clock import Clock
from core.compliance.keywords import InboundIntent
from core.contacts.consent import record_opt_out
from core.contacts.lists import SendingListService
from core.contacts.models import UnsubscribeReason
from core.errors import Conflict, NotFound
from core.inbound.models import InboundMessage
from core.messaging.queries import drop_queued_for_contact
from core.pagination import Page
from core.permissions import Action, Actor
from core.reasons import DropReason
from core.validation import choice

log = logging.getLogger(__name__)


class ReviewDecision(StrEnum):
    OPT_OUT = "opt_out"  # it was a revocation after all: unsubscribe the person
    KEEP = "keep"  # it was not: they stay subscribed


class InboundReplies:
    def __init__(self, *, clock: Clock, lists: SendingListService) -> None:
        self.clock = clock
        self.lists = lists

    async def list(self, actor: Actor, *, page: int, per_page: int,
                   needs_review: bool | None = None, intent: str | None = None,
                   list_number: str | None = None, since: dt.datetime | None = None,
                   until: dt.datetime | None = None) -> Page[InboundMessage]:
        """Newest first. ``needs_review=True`` is the review list: flagged replies nobody
        has decided on yet."""
        actor.require(Action.READ)
        query = InboundMessage.filter(account_id=actor.account_id)
        if needs_review is not None:
            query = query.filter(needs_review=needs_review)
            if needs_review:
                query = query.filter(reviewed_at__isnull=True)
        if intent:
            query = query.filter(intent=choice(InboundIntent, intent, "intent"))
        if list_number:
            found = await self.lists.get_by_number(actor, list_number)
            query = query.filter(sending_list_id=found.id)
        if since is not None:
            query = query.filter(received_at__gte=since)
        if until is not None:
            query = query.filter(received_at__lt=until)
        total = await query.count()
        rows = await query.order_by("-id").offset((page - 1) * per_page).limit(per_page)
        return Page(rows, total)

    async def get(self, actor: Actor, inbound_id: int) -> InboundMessage:
        actor.require(Action.READ)
        found = await InboundMessage.get_or_none(id=inbound_id, account_id=actor.account_id)
        if found is None:
            raise NotFound(f"No reply {inbound_id}.", code="reply_not_found")
        return found

    async def review(self, actor: Actor, inbound_id: int, decision: str) -> InboundMessage:
        """Decide a flagged reply, once. ``opt_out`` unsubscribes the sender as their
        reply would have, had a rule read it so."""
        actor.require(Action.SEND)
        chosen = choice(ReviewDecision, decision, "decision")
        now = self.clock.now()
        async with in_transaction():
            moved = await InboundMessage.filter(
                id=inbound_id, account_id=actor.account_id, reviewed_at__isnull=True,
            ).update(reviewed_at=now, reviewed_by=actor.label[:200],
                     review_decision=chosen.value)
            reply = await self.get(actor, inbound_id)
            if not moved:
                raise Conflict(f"Reply {inbound_id} was already reviewed "
                               f"({reply.review_decision}).", code="already_reviewed")
            if chosen is ReviewDecision.OPT_OUT and reply.contact_id is not None \
                    and reply.sending_list_id is not None:
                await self._opt_out(actor, reply, now)
        log.info("reply %s reviewed by %s: %s", inbound_id, actor.label, chosen.value)
        return reply

    async def _opt_out(self, actor: Actor, reply: InboundMessage, now: dt.datetime) -> None:
        assert reply.contact_id is not None and reply.sending_list_id is not None
        account = await Account.get(id=actor.account_id)
        account_wide = account.stop_scope == StopScope.ACCOUNT
        list_ids = (await self.lists.list_ids(account.id) if account_wide
                    else [reply.sending_list_id])
        await record_opt_out(
            account_id=account.id, contact_id=reply.contact_id, list_ids=list_ids,
            reason=UnsubscribeReason.MESSAGE, keyword="REVIEWED", now=now,
            account_wide=account_wide)
        await drop_queued_for_contact(
            contact_id=reply.contact_id, list_ids=list_ids, detail=DropReason.UNSUBSCRIBED,
            source=f"review:{actor.label}", now=now)
