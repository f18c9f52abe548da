"""The support desk: numbered tickets, their life (open, claimed, closed, reopened), the
transcript of their threads, and the support-hours promise.

Tickets belong to Discord users, not to accounts (an unlinked visitor may ask for help), so
the caller is a :class:`Participant`; the face vouches for ``is_staff`` (the support role)
and this service enforces what staff and openers may do."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from core.accounts.models import DiscordLink
from core.clock import Clock
from core.errors import Conflict, NotFound, PermissionDenied, QuotaExceeded, ValidationError
from core.redaction import redact_api_keys
from core.support import hours
from core.support.models import (
    SupportTicket,
    SupportTicketMessage,
    TicketCategory,
    TicketPriority,
    TicketStatus,
)

log = logging.getLogger(__name__)

ACTIVE = (TicketStatus.OPEN, TicketStatus.CLAIMED)
PRIORITY_RANK = {TicketPriority.URGENT: 0, TicketPriority.HIGH: 1, TicketPriority.NORMAL: 2,
                 TicketPriority.LOW: 3}
NUMBER_ATTEMPTS = 25
MAX_SUBJECT = 200
MAX_REASON = 500


@dataclass(frozen=True)
class Participant:
    """Who is acting: a Discord user, and whether they hold the support role."""

    discord_id: int
    name: str = ""
    is_staff: bool = False


@dataclass(frozen=True)
class TicketRef:
    """A ticket by number, or by the thread the command was used in."""

    number: int | None = None
    thread_id: int | None = None


@dataclass(frozen=True)
class Availability:
    open_now: bool
    opens_at: dt.datetime  # == now while open
    opens_label: str  # "tomorrow 09:00 ET"


@dataclass(frozen=True)
class OpenedTicket:
    ticket: SupportTicket
    availability: Availability
    page_oncall: bool  # urgent tickets page the on-call role at any hour


@dataclass(frozen=True)
class Claim:
    ticket: SupportTicket
    changed: bool  # False: the claimer held it already, so there is nothing to announce


@dataclass(frozen=True)
class PriorityChange:
    ticket: SupportTicket
    changed: bool
    escalated: bool  # became urgent just now: page the on-call role


def parse_priority(value: str | TicketPriority) -> TicketPriority:
    try:
        return TicketPriority(str(value).strip().lower())
    except ValueError:
        raise ValidationError("Priority must be low, normal, high or urgent.",
                              code="invalid_priority", field="priority") from None


def parse_category(value: str | TicketCategory) -> TicketCategory:
    try:
        return TicketCategory(str(value).strip().lower())
    except ValueError:
        raise ValidationError("Category must be general, billing, technical or api.",
                              code="invalid_category", field="category") from None


def first_response_time(ticket: SupportTicket) -> dt.timedelta | None:
    return None if ticket.first_response_at is None else ticket.first_response_at - ticket.opened_at


def resolution_time(ticket: SupportTicket) -> dt.timedelta | None:
    return None if ticket.closed_at is None else ticket.closed_at - ticket.opened_at


def _clean_text(value: str, *, field: str, limit: int, what: str) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise ValidationError(f"The {what} is empty.", code=f"invalid_{field}", field=field)
    if len(text) > limit:
        raise ValidationError(f"The {what} is longer than {limit} characters.",
                              code=f"invalid_{field}", field=field)
    return redact_api_keys(text)


def _minutes(delta: dt.timedelta) -> int:
    return max(1, int(-(-delta.total_seconds() // 60)))


class SupportService:
    def __init__(self, *, clock: Clock, max_open_tickets: int = 3,
                 cooldown: dt.timedelta = dt.timedelta(minutes=10)) -> None:
        self.clock = clock
        self.max_open_tickets = max_open_tickets
        self.cooldown = cooldown
        # One opener's checks and writes in turn, so a double submit cannot slip two
        # tickets past the open-ticket limit (the bot is one process per token).
        self._opener_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = \
            weakref.WeakValueDictionary()

    @contextlib.asynccontextmanager
    async def _one_at_a_time(self, opener: Participant) -> AsyncIterator[None]:
        lock = self._opener_locks.get(opener.discord_id)
        if lock is None:
            lock = self._opener_locks[opener.discord_id] = asyncio.Lock()
        async with lock:
            yield

    def availability(self) -> Availability:
        now = self.clock.now()
        opens = hours.next_opening(now)
        return Availability(open_now=hours.is_open(now), opens_at=opens,
                            opens_label=hours.describe(opens, now=now))

    # -- opening ----------------------------------------------------------------------

    async def open_ticket(self, opener: Participant, *, subject: str,
                          priority: str | TicketPriority = TicketPriority.NORMAL,
                          category: str | TicketCategory = TicketCategory.GENERAL,
                          guild_id: int | None = None,
                          channel_id: int | None = None) -> OpenedTicket:
        subject = _clean_text(subject, field="subject", limit=MAX_SUBJECT, what="subject")
        priority, category = parse_priority(priority), parse_category(category)
        async with self._one_at_a_time(opener):
            await self._check_open_limit(opener)
            await self._check_cooldown(opener)
            link = await DiscordLink.get_or_none(discord_user_id=opener.discord_id)
            now = self.clock.now()
            ticket = await self._create_numbered(
                account_id=None if link is None else link.account_id,
                opener_discord_id=opener.discord_id, opener_name=opener.name[:100],
                subject=subject, priority=priority, category=category,
                status=TicketStatus.OPEN, guild_id=guild_id, channel_id=channel_id,
                opened_at=now, last_activity_at=now,
            )
        log.info("support ticket #%s opened by discord user %s (%s)", ticket.number,
                 opener.discord_id, priority)
        return OpenedTicket(ticket=ticket, availability=self.availability(),
                            page_oncall=priority == TicketPriority.URGENT)

    async def _check_open_limit(self, opener: Participant) -> None:
        active = await SupportTicket.filter(opener_discord_id=opener.discord_id,
                                            status__in=ACTIVE).order_by("number")
        if len(active) >= self.max_open_tickets:
            numbers = ", ".join(f"#{t.number}" for t in active)
            raise QuotaExceeded(
                f"You already have {len(active)} open tickets ({numbers}); add to one of "
                "them, or wait until one is closed.", code="too_many_open_tickets")

    async def _check_cooldown(self, opener: Participant) -> None:
        if not self.cooldown:
            return
        last = await SupportTicket.filter(
            opener_discord_id=opener.discord_id, status=TicketStatus.CLOSED,
            closed_at__isnull=False).order_by("-closed_at").first()
        if last is None or last.closed_at is None:
            return
        wait = last.closed_at + self.cooldown - self.clock.now()
        if wait > dt.timedelta(0):
            raise QuotaExceeded(
                f"Your ticket #{last.number} was closed moments ago; you can open a new "
                f"one in {_minutes(wait)} minute(s), or reopen #{last.number}.",
                code="support_cooldown", retry_after=wait.total_seconds())

    async def _create_numbered(self, **fields: Any) -> SupportTicket:
        """MAX(number)+1 under the unique constraint: a concurrent opener that takes the
        same number makes this insert fail, and we simply try the next one."""
        for _ in range(NUMBER_ATTEMPTS):
            try:
                async with in_transaction():
                    top = await SupportTicket.all().order_by("-number").first().values_list(
                        "number", flat=True)
                    # tortoise types a flat values_list after first() as a tuple; it is the
                    # number itself, or None when there is no ticket yet.
                    return await SupportTicket.create(number=(top or 0) + 1, **fields)  # type: ignore[operator]
            except IntegrityError:
                continue
        raise Conflict("Too many tickets are being opened at once; try again.",
                       code="ticket_number_busy")

    async def attach_thread(self, ticket_id: int, thread_id: int) -> SupportTicket:
        """Give a ticket its thread: when it opens, or a new one after a moderator deleted
        its thread. Conflict when it has one already (two people asked for a new thread
        at once: the first one's stays)."""
        moved = await SupportTicket.filter(id=ticket_id, thread_id__isnull=True).update(
            thread_id=thread_id)
        ticket = await SupportTicket.get(id=ticket_id)
        if not moved:
            raise Conflict(f"Ticket #{ticket.number} already has a thread.",
                           code="ticket_has_thread")
        return ticket

    async def forget_thread(self, thread_id: int) -> SupportTicket | None:
        """A ticket's thread was deleted in Discord: the ticket keeps its state and its
        transcript, and has no thread until someone opens a new one. Returns the ticket as
        it is now, or None if no ticket lives in that thread."""
        ticket = await self.find_by_thread(thread_id)
        if ticket is None:
            return None
        if await SupportTicket.filter(id=ticket.id, thread_id=thread_id).update(
                thread_id=None):
            log.info("support ticket #%s lost its thread %s (deleted in Discord)",
                     ticket.number, thread_id)
        return await SupportTicket.get(id=ticket.id)

    async def prepare_new_thread(self, who: Participant, ref: TicketRef) -> SupportTicket:
        """May ``who`` open a new thread for this ticket? Its staff or its opener may, while
        it is active and has no thread (its thread was deleted); then attach_thread."""
        ticket = await self.locate(ref)
        self._require_staff_or_opener(who, ticket, "open a thread for")
        if ticket.status == TicketStatus.CLOSED:
            raise Conflict(f"Ticket #{ticket.number} is closed; reopen it first.",
                           code="ticket_closed")
        if ticket.thread_id is not None:
            raise Conflict(f"Ticket #{ticket.number} already has a thread.",
                           code="ticket_has_thread")
        return ticket

    async def discard(self, ticket_id: int) -> None:
        """Forget a ticket whose thread could not be created (nobody ever saw it)."""
        await SupportTicket.filter(id=ticket_id, thread_id__isnull=True).delete()

    # -- finding ----------------------------------------------------------------------

    async def get_ticket(self, number: int) -> SupportTicket:
        ticket = await SupportTicket.get_or_none(number=number)
        if ticket is None:
            raise NotFound(f"There is no ticket #{number}.", code="ticket_not_found")
        return ticket

    async def find_by_thread(self, thread_id: int) -> SupportTicket | None:
        return await SupportTicket.get_or_none(thread_id=thread_id)

    async def locate(self, ref: TicketRef) -> SupportTicket:
        if ref.number is not None:
            return await self.get_ticket(ref.number)
        ticket = None if ref.thread_id is None else await self.find_by_thread(ref.thread_id)
        if ticket is None:
            raise ValidationError("Give a ticket number, or use this inside the ticket's "
                                  "thread.", code="ticket_required", field="ticket")
        return ticket

    # -- staff and opener actions -------------------------------------------------------

    @staticmethod
    def _require_staff(who: Participant, doing: str) -> None:
        if not who.is_staff:
            raise PermissionDenied(f"Only the support team can {doing}.",
                                   code="support_staff_only")

    async def claim(self, staff: Participant, ref: TicketRef) -> Claim:
        self._require_staff(staff, "claim tickets")
        ticket = await self.locate(ref)
        moved = await SupportTicket.filter(id=ticket.id, status=TicketStatus.OPEN).update(
            status=TicketStatus.CLAIMED, assignee_discord_id=staff.discord_id,
            last_activity_at=self.clock.now())
        ticket = await SupportTicket.get(id=ticket.id)
        if not moved:
            if ticket.status == TicketStatus.CLOSED:
                raise Conflict(f"Ticket #{ticket.number} is closed; reopen it first.",
                               code="ticket_closed")
            if ticket.assignee_discord_id != staff.discord_id:
                raise Conflict(f"Ticket #{ticket.number} is already claimed by someone "
                               "else.", code="ticket_claimed")
        return Claim(ticket=ticket, changed=bool(moved))

    async def assign(self, staff: Participant, ref: TicketRef,
                     assignee: Participant) -> SupportTicket:
        self._require_staff(staff, "assign tickets")
        if not assignee.is_staff:
            raise ValidationError(f"{assignee.name or 'That user'} is not on the support "
                                  "team.", code="assignee_not_staff", field="member")
        ticket = await self.locate(ref)
        moved = await SupportTicket.filter(id=ticket.id, status__in=ACTIVE).update(
            status=TicketStatus.CLAIMED, assignee_discord_id=assignee.discord_id,
            last_activity_at=self.clock.now())
        if not moved:
            raise Conflict(f"Ticket #{ticket.number} is closed; reopen it first.",
                           code="ticket_closed")
        return await SupportTicket.get(id=ticket.id)

    async def set_priority(self, staff: Participant, ref: TicketRef,
                           priority: str | TicketPriority) -> PriorityChange:
        self._require_staff(staff, "change a ticket's priority")
        priority = parse_priority(priority)
        ticket = await self.locate(ref)
        if ticket.status == TicketStatus.CLOSED:
            raise Conflict(f"Ticket #{ticket.number} is closed; reopen it first.",
                           code="ticket_closed")
        changed = await SupportTicket.filter(
            id=ticket.id, status__in=ACTIVE).exclude(priority=priority).update(
            priority=priority, last_activity_at=self.clock.now())
        ticket = await SupportTicket.get(id=ticket.id)
        return PriorityChange(ticket=ticket, changed=bool(changed),
                              escalated=bool(changed) and priority == TicketPriority.URGENT)

    async def close(self, by: Participant, ref: TicketRef, reason: str) -> SupportTicket:
        reason = _clean_text(reason, field="reason", limit=MAX_REASON, what="reason")
        ticket = await self.locate(ref)
        self._require_staff_or_opener(by, ticket, "close")
        now = self.clock.now()
        moved = await SupportTicket.filter(id=ticket.id, status__in=ACTIVE).update(
            status=TicketStatus.CLOSED, closed_at=now, closed_by_discord_id=by.discord_id,
            close_reason=reason, last_activity_at=now)
        if not moved:
            raise Conflict(f"Ticket #{ticket.number} is already closed.",
                           code="ticket_closed")
        log.info("support ticket #%s closed by discord user %s", ticket.number, by.discord_id)
        return await SupportTicket.get(id=ticket.id)

    async def reopen(self, by: Participant, ref: TicketRef) -> SupportTicket:
        ticket = await self.locate(ref)
        self._require_staff_or_opener(by, ticket, "reopen")
        if ticket.status != TicketStatus.CLOSED:  # before the limit, which counts this one
            raise Conflict(f"Ticket #{ticket.number} is not closed.", code="ticket_not_closed")
        async with self._one_at_a_time(by):
            if not by.is_staff:
                await self._check_open_limit(by)
            status = TicketStatus.CLAIMED if ticket.assignee_discord_id else TicketStatus.OPEN
            now = self.clock.now()
            moved = await SupportTicket.filter(id=ticket.id, status=TicketStatus.CLOSED
                                               ).update(
                status=status, reopened_at=now, reopen_count=F("reopen_count") + 1,
                closed_at=None, closed_by_discord_id=None, close_reason=None,
                last_activity_at=now)
        if not moved:
            raise Conflict(f"Ticket #{ticket.number} is not closed.", code="ticket_not_closed")
        log.info("support ticket #%s reopened by discord user %s", ticket.number,
                 by.discord_id)
        return await SupportTicket.get(id=ticket.id)

    @staticmethod
    def _require_staff_or_opener(who: Participant, ticket: SupportTicket, doing: str) -> None:
        if not who.is_staff and who.discord_id != ticket.opener_discord_id:
            raise PermissionDenied(f"Only the support team or the person who opened ticket "
                                   f"#{ticket.number} can {doing} it.",
                                   code="support_staff_only")

    # -- views --------------------------------------------------------------------------

    async def queue(self, staff: Participant, *, limit: int = 20
                    ) -> tuple[list[SupportTicket], int]:
        """Open and claimed tickets, most urgent first, then oldest first; and their count."""
        self._require_staff(staff, "see the queue")
        # A desk's open tickets are few; ordering by rank in Python keeps the SQL portable.
        active = await SupportTicket.filter(status__in=ACTIVE).order_by("opened_at", "number")
        active.sort(key=lambda t: PRIORITY_RANK[TicketPriority(t.priority)])
        return active[:limit], len(active)

    async def list_for(self, user: Participant, *, limit: int = 10) -> list[SupportTicket]:
        """The user's own tickets: active ones first, then the most recent."""
        tickets = await SupportTicket.filter(opener_discord_id=user.discord_id).order_by(
            "-opened_at", "-number").limit(50)
        tickets.sort(key=lambda t: t.status == TicketStatus.CLOSED)  # stable: keeps recency
        return tickets[:limit]

    # -- transcript ---------------------------------------------------------------------

    async def record_message(self, *, thread_id: int, message_id: int, author: Participant,
                             content: str, posted_at: dt.datetime
                             ) -> SupportTicketMessage | None:
        """Mirror a message posted in a ticket's thread; None if the thread is no ticket's
        (or the message was already recorded). A staff member's first message is the
        ticket's first response."""
        ticket = await self.find_by_thread(thread_id)
        if ticket is None:
            return None
        is_staff = author.is_staff and author.discord_id != ticket.opener_discord_id
        try:
            message = await SupportTicketMessage.create(
                ticket_id=ticket.id, discord_message_id=message_id,
                author_discord_id=author.discord_id, author_name=author.name[:100],
                is_staff=is_staff, content=redact_api_keys(content or ""), posted_at=posted_at)
        except IntegrityError:
            return None  # a replayed event (gateway RESUME) carries the same message
        if is_staff:
            await SupportTicket.filter(id=ticket.id, first_response_at__isnull=True).update(
                first_response_at=posted_at)
        await SupportTicket.filter(id=ticket.id, last_activity_at__lt=posted_at).update(
            last_activity_at=posted_at)
        return message

    async def record_edit(self, *, message_id: int, content: str, edited_at: dt.datetime
                          ) -> SupportTicketMessage | None:
        """Mirror an edit of a recorded message: the transcript reads as the thread does,
        keeps the text as first posted, and notes when. None when nothing changed: a
        message we never recorded or that was deleted, an update that leaves the text as it
        was (Discord sends one when a link preview appears), or an edit older than the
        one already recorded (events can arrive out of order)."""
        content = redact_api_keys(content or "")
        message = await SupportTicketMessage.get_or_none(discord_message_id=message_id)
        if message is None or message.deleted_at is not None or message.content == content \
                or (message.edited_at is not None and message.edited_at >= edited_at):
            return None
        changed = await SupportTicketMessage.filter(id=message.id, content=message.content
                                                    ).update(
            content=content, edited_at=edited_at,
            original_content=message.original_content or message.content)
        if not changed:
            return None  # another edit won the race; it is the newer one
        await SupportTicket.filter(id=message.ticket_id, last_activity_at__lt=edited_at
                                   ).update(last_activity_at=edited_at)
        return await SupportTicketMessage.get(id=message.id)

    async def record_deletions(self, message_ids: Sequence[int], deleted_at: dt.datetime
                               ) -> int:
        """Mark recorded messages deleted in Discord (their text stays in the transcript);
        returns how many were ticket messages not yet marked."""
        return await SupportTicketMessage.filter(
            discord_message_id__in=list(message_ids), deleted_at__isnull=True
        ).update(deleted_at=deleted_at)

    async def transcript(self, who: Participant, ref: TicketRef
                         ) -> list[SupportTicketMessage]:
        ticket = await self.locate(ref)
        self._require_staff_or_opener(who, ticket, "read")
        return await SupportTicketMessage.filter(ticket_id=ticket.id).order_by(
            "posted_at", "id")
