"""An SMS a recipient sent us: store it, understand it (core.compliance.keywords), act on
it (the subscriptions: core.contacts.consent), tell the account, and queue the reply.

Confirmations go out once: a repeated STOP changes nothing and gets no reply, and never
cancels the first one's confirmation. A provider retrying the same webhook is recognised
by its message id and does nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.accounts.models import Account, StopScope
from core.billing.pricing import estimate
from core.clock import Clock
from core.compliance.keywords import InboundIntent, KeywordMatch, classify
from core.contacts import queries as contact_sql
from core.contacts.consent import record_opt_in, record_opt_out
from core.contacts.lists import SendingListService
from core.contacts.models import (
    ListContact,
    Provider,
    SendingList,
    UnsubscribeReason,
)
from core.contacts.phones import PhoneInfo, mask, normalize_sender, parse_phone
from core.contacts.service import ContactService
from core.events import EventSink
from core.inbound.events import inbound_events
from core.messaging.outbox import NewMessage, enqueue
from core.messaging.queries import drop_queued_for_contact
from core.messaging.render import brand_of
from core.messaging.segments import count
from core.notifications.models import Severity
from core.notifications.service import NotificationService
from core.providers import twilio
from core.providers.base import InboundSms
from core.reasons import DropReason
from core.sql import Params, conn, fetch, ts

log = logging.getLogger(__name__)


class InboundAction:
    """What was done, stored on ``InboundMessage.action_taken``."""

    UNSUBSCRIBED = "unsubscribed"
    ALREADY_UNSUBSCRIBED = "already_unsubscribed"
    RESUBSCRIBED = "resubscribed"
    SUBSCRIBED = "subscribed"
    ALREADY_SUBSCRIBED = "already_subscribed"
    HELP_REPLY = "help_reply"
    COMPLAINT_LABELLED = "complaint_labelled"
    COMPLAINT_UNSUBSCRIBED = "complaint_unsubscribed"
    NONE = "none"
    UNKNOWN_NUMBER = "unknown_number"
    INVALID_SENDER = "invalid_sender"


@dataclass(frozen=True, slots=True)
class InboundOutcome:
    inbound_id: int | None  # the stored InboundMessage (None only for a duplicate)
    duplicate: bool  # the provider sent this message before: nothing was done again
    intent: InboundIntent
    matched_rule: str
    keyword: str
    action: str  # see InboundAction
    account_id: int | None
    sending_list_id: int | None
    contact_id: int | None
    list_contacts_changed: int  # subscriptions whose status this message changed
    cancelled_message_count: int  # queued messages made unsendable
    reply_text: str | None  # what to send back, once; None means send nothing
    reply_from: str | None  # the list's number (send the reply from it)
    reply_to: str | None  # the sender (E.164)


DEFAULT_OPT_OUT_REPLY = ("{brand}: You are unsubscribed and will receive no more messages. "
                         "Reply START to resubscribe.")
DEFAULT_OPT_IN_REPLY = ("{brand}: You are subscribed again. Msg&data rates may apply. "
                        "Reply HELP for help, STOP to opt out.")
DEFAULT_HELP_REPLY = ("{brand}: Msg&data rates may apply. Reply STOP to opt out, "
                      "START to opt back in.")


class InboundService:
    def __init__(self, *, clock: Clock, contacts: ContactService, lists: SendingListService,
                 notifications: NotificationService, events: EventSink | None = None
                 ) -> None:
        self.clock = clock
        self.events = events  # outbound webhooks' reply and unsubscribe events
        self.contacts = contacts
        self.lists = lists
        self.notifications = notifications

    async def receive(self, sms: InboundSms, *, sending_list: SendingList | None = None,
                      account: Account | None = None) -> InboundOutcome:
        """One inbound message (a verified webhook's, or the simulator's): stored and
        acted on, its reply (if any) queued once. ``sending_list``: the list it was sent
        to, when the caller already knows it (and ``account``, its account, when the
        caller read it with the list)."""
        if sending_list is None:
            sending_list = await self.lists.find_by_number(sms.to_number)
        # One transaction for the message, its opt-out, the alert, the events and the
        # confirmation: one commit (a WAL flush) where there were three, and the provider
        # is answered only once all of it is stored. A message the provider sent before
        # fails its INSERT (the last write of the handling): the whole transaction rolls
        # back, so nothing is done twice, without a savepoint's two round trips.
        try:
            async with in_transaction():
                outcome = await self._handle(sms, sending_list, account)
                if self.events is not None:  # one call (core.webhooks)
                    await inbound_events(self.events, outcome, sms)
                if outcome.reply_text and sending_list is not None:
                    if sms.provider == Provider.TWILIO and twilio.answers_itself(sms.body):
                        log.info("inbound %s: Twilio sent its own confirmation",
                                 outcome.inbound_id)
                    else:
                        await self._queue_reply(outcome, sending_list)
        except _Duplicate as duplicate:
            log.info("inbound %s/%s already handled", sms.provider, sms.provider_message_id)
            return duplicate.outcome
        return outcome

    async def _handle(self, sms: InboundSms, sending_list: SendingList | None,
                      account: Account | None) -> InboundOutcome:
        now = self.clock.now()
        match = classify(sms.body)
        to_number = normalize_sender(sms.to_number) or sms.to_number.strip()[:20]
        region = sending_list.country_code if sending_list else "US"
        sender = parse_phone(sms.from_number, region=region)
        from_number = sender.e164 if isinstance(sender, PhoneInfo) else \
            sms.from_number.strip()[:20]
        contact: int | None = None  # the sender's contact id
        if sending_list is not None and isinstance(sender, PhoneInfo):
            # One statement on PostgreSQL (get_or_create was two, built by the ORM).
            contact, _, _ = await contact_sql.ensure_contact(conn(), (
                sender.e164, sender.country_code, sender.line_type, sender.carrier[:100],
                sender.timezone, sender.state, sender.area_code), now)
        if sending_list is None:
            account = None
        elif account is None or account.id != sending_list.account_id:
            account = await Account.get(id=sending_list.account_id)

        result = _Result()
        if sending_list is None or account is None:
            result.action = InboundAction.UNKNOWN_NUMBER
        elif contact is None:
            result.action = InboundAction.INVALID_SENDER
        else:
            await self._act(match, account, sending_list, contact, now, result)
        try:
            inbound_id = await _store_inbound(
                account.id if account else None, sending_list.id if sending_list else None,
                contact, from_number, to_number, sms, match, result.action,
                sms.received_at or now, now)
        except IntegrityError as exc:  # the provider sent this one before
            raise _Duplicate(InboundOutcome(
                None, True, match.intent, match.rule, match.keyword, "duplicate",
                account.id if account else None, sending_list.id if sending_list else None,
                contact, 0, 0, None, None, None)) from exc

        if account is not None and sending_list is not None:
            await self._notify(match, account, sending_list, from_number, inbound_id, result,
                               sms.body)
        log.info("inbound to %s from %s: %s (%s) -> %s", mask(to_number), mask(from_number),
                 match.intent, match.rule, result.action)
        return InboundOutcome(
            inbound_id, False, match.intent, match.rule, match.keyword, result.action,
            account.id if account else None, sending_list.id if sending_list else None,
            contact, result.changed, result.cancelled,
            result.reply, to_number if result.reply else None,
            from_number if result.reply else None)

    # -- actions -----------------------------------------------------------------------

    async def _act(self, match: KeywordMatch, account: Account, sending_list: SendingList,
                   contact: int, now: dt.datetime, result: _Result) -> None:
        brand = brand_of(account, sending_list)
        if match.intent == InboundIntent.COMPLAINT:
            result.action = InboundAction.COMPLAINT_LABELLED
            if match.opt_out or account.complaint_is_opt_out:
                reason = (UnsubscribeReason.MESSAGE if match.opt_out and
                          not account.complaint_is_opt_out else UnsubscribeReason.COMPLAINT)
                await self._opt_out(match, account, sending_list, contact, now, result,
                                    reason, brand, complaint=True)
        elif match.intent == InboundIntent.OPT_OUT:
            await self._opt_out(match, account, sending_list, contact, now, result,
                                UnsubscribeReason.MESSAGE, brand, complaint=False)
        elif match.intent == InboundIntent.OPT_IN:
            await self._opt_in(match, account, sending_list, contact, now, result, brand)
        elif match.intent == InboundIntent.HELP:
            result.action = InboundAction.HELP_REPLY
            result.reply = (sending_list.help_text or DEFAULT_HELP_REPLY).replace(
                "{brand}", brand)
        else:
            result.action = InboundAction.NONE

    async def _opt_out(self, match: KeywordMatch, account: Account, sending_list: SendingList,
                       contact: int, now: dt.datetime, result: _Result,
                       reason: UnsubscribeReason, brand: str, *, complaint: bool) -> None:
        account_wide = account.stop_scope == StopScope.ACCOUNT
        list_ids = (await self.lists.list_ids(account.id) if account_wide
                    else [sending_list.id])
        recorded = await record_opt_out(
            account_id=account.id, contact_id=contact, list_ids=list_ids, reason=reason,
            keyword=match.keyword or match.intent.value, now=now, account_wide=account_wide)
        result.changed = recorded.subscriptions_changed
        result.cancelled = await drop_queued_for_contact(
            contact_id=contact, list_ids=list_ids, detail=DropReason.UNSUBSCRIBED,
            source="compliance:inbound", now=now)
        if recorded.subscriptions_changed or recorded.account_wide_new:
            result.action = (InboundAction.COMPLAINT_UNSUBSCRIBED if complaint
                             else InboundAction.UNSUBSCRIBED)
            result.reply = DEFAULT_OPT_OUT_REPLY.replace("{brand}", brand)
        else:
            result.action = (InboundAction.COMPLAINT_LABELLED if complaint
                             else InboundAction.ALREADY_UNSUBSCRIBED)

    async def _opt_in(self, match: KeywordMatch, account: Account, sending_list: SendingList,
                      contact: int, now: dt.datetime, result: _Result, brand: str) -> None:
        changed, created = await record_opt_in(
            account_id=account.id, list_id=sending_list.id, contact_id=contact,
            source=f"keyword:{match.keyword}", now=now)
        result.changed = int(changed)
        if created:
            result.action = InboundAction.SUBSCRIBED
            if self.contacts.enroll is not None:  # a keyword signup enters journeys too
                sub = await ListContact.get(sending_list_id=sending_list.id,
                                            contact_id=contact)
                await self.contacts.enroll(account.id, [sub.id])
        elif changed:
            result.action = InboundAction.RESUBSCRIBED
        else:
            result.action = InboundAction.ALREADY_SUBSCRIBED
        if changed:
            result.reply = DEFAULT_OPT_IN_REPLY.replace("{brand}", brand)

    async def _notify(self, match: KeywordMatch, account: Account, sending_list: SendingList,
                      from_number: str, inbound_id: int, result: _Result, text: str) -> None:
        shown = mask(from_number)
        data = {"sending_list_id": sending_list.id, "inbound_id": inbound_id,
                "intent": match.intent.value, "rule": match.rule, "action": result.action,
                "cancelled_messages": result.cancelled}
        if match.intent == InboundIntent.COMPLAINT:
            await self.notifications.notify(
                account.id, kind="complaint", severity=Severity.CRITICAL,
                title=f"Spam complaint on {sending_list.phone_number}",
                body=f"{shown} replied with a complaint ({match.keyword}).", data=data)
        elif result.action == InboundAction.UNSUBSCRIBED:
            await self.notifications.notify(
                account.id, kind="opt_out", severity=Severity.LOW,
                title=f"Opt-out on {sending_list.phone_number}",
                body=f"{shown} opted out ({match.keyword}); {result.cancelled} queued "
                     "message(s) cancelled.", data=data)
        elif match.needs_review:
            # No rule set is complete: a reply not read as an opt-out that still holds an
            # opt-out word goes to the review list (GET /api/v2/inbound?needs_review=true).
            await self.notifications.notify(
                account.id, kind="opt_out_review", severity=Severity.LOW,
                title=f"A reply to review on {sending_list.phone_number}",
                body=f"{shown}: read as {match.intent.value} ({match.set_aside or match.rule})"
                     ", but it holds an opt-out word. Review it.", data=data)
        elif match.intent in (InboundIntent.NONE, InboundIntent.HELP, InboundIntent.OPT_IN):
            await self.notifications.notify(
                account.id, kind="inbound", severity=Severity.LOW,
                title=f"Reply on {sending_list.phone_number}",
                # What they wrote: relayed to the account's reply channel, when it has one.
                body=f"{shown} ({match.intent.value}): {text[:1000]}", data=data)

    # -- the reply ---------------------------------------------------------------------

    async def _queue_reply(self, outcome: InboundOutcome, sending_list: SendingList) -> None:
        if outcome.contact_id is None or not outcome.reply_to:
            log.warning("reply for inbound %s has no recipient; not sent", outcome.inbound_id)
            return
        text = outcome.reply_text or ""
        info = count(text)
        await enqueue([NewMessage(
            account_id=sending_list.account_id, sending_list_id=sending_list.id,
            contact_id=outcome.contact_id, to_number=outcome.reply_to,
            from_number=sending_list.phone_number, body=text, segments=info.segments,
            encoding=info.encoding, price=estimate(info.segments),
            provider=sending_list.provider, transactional=True, is_reply=True)],
            now=self.clock.now())


class _Duplicate(Exception):
    """Rolls back the handling of a message the provider sent before."""

    def __init__(self, outcome: InboundOutcome) -> None:
        super().__init__("duplicate inbound message")
        self.outcome = outcome


@dataclass
class _Result:
    action: str = InboundAction.NONE
    changed: int = 0
    cancelled: int = 0
    reply: str | None = None


async def _store_inbound(account_id: int | None, list_id: int | None, contact_id: int | None,
                         from_number: str, to_number: str, sms: InboundSms,
                         match: KeywordMatch, action: str, received_at: dt.datetime,
                         now: dt.datetime) -> int:
    """The inbound row (its id). Named SQL: ``InboundMessage.create`` built and validated
    a model per message on a STOP burst's hot path. A message the provider sent before
    raises IntegrityError (unique provider and provider message id)."""
    p = Params()
    rows = await fetch(
        "INSERT INTO inbound_message (account_id, sending_list_id, contact_id, from_number, "
        "to_number, body, provider, provider_message_id, intent, matched_rule, needs_review, "
        "set_aside, action_taken, received_at, created_at) VALUES ("
        f"{p(account_id)}, {p(list_id)}, {p(contact_id)}, {p(from_number[:20])}, "
        f"{p(to_number[:20])}, {p(sms.body)}, {p(sms.provider[:16])}, "
        f"{p(sms.provider_message_id[:100])}, {p(match.intent.value)}, "
        f"{p(match.rule[:100])}, {p(match.needs_review)}, {p(match.set_aside[:100])}, "
        f"{p(str(action)[:64])}, {p(ts(received_at))}, {p(ts(now))}) RETURNING id", p)
    return int(rows[0]["id"])
