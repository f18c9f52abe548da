"""An SMS a recipient sent us: store it, understand it, act on it.

Compliance sends nothing itself. The outcome carries the reply to send (an opt-out
confirmation, the help text...) or None, and the messaging layer delivers it through
the outbox. Confirmations go out once: a repeated STOP changes nothing and gets no
reply. A provider retrying the same webhook is recognised by its message id and does
nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.accounts.models import Account, StopScope
from core.clock import Clock
from core.compliance.keywords import KeywordMatch, classify
from core.compliance.models import InboundIntent, InboundMessage
from core.contacts import queries
from core.contacts.models import (
    Contact,
    ListContact,
    SendingList,
    SignupMethod,
    SubscriptionStatus,
    UnsubscribeReason,
)
from core.contacts.phones import PhoneInfo, mask, normalize_sender, parse_phone
from core.contacts.service import READDABLE_REASONS, ContactService
from core.notifications.models import Severity
from core.notifications.service import NotificationService
from core.providers.base import InboundSms

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


class InboundHandler:
    def __init__(self, *, clock: Clock, contacts: ContactService,
                 notifications: NotificationService) -> None:
        self.clock = clock
        self.contacts = contacts
        self.notifications = notifications

    async def handle(self, sms: InboundSms) -> InboundOutcome:
        now = self.clock.now()
        match = classify(sms.body)
        to_number = normalize_sender(sms.to_number) or sms.to_number.strip()[:20]
        sending_list = await SendingList.get_or_none(phone_number=to_number)
        region = sending_list.country_code if sending_list else "US"
        sender = parse_phone(sms.from_number, region=region)
        from_number = sender.e164 if isinstance(sender, PhoneInfo) else \
            sms.from_number.strip()[:20]
        contact = None
        if sending_list is not None and isinstance(sender, PhoneInfo):
            contact, _ = await self.contacts.ensure_contact(sender)
        account = await Account.get(id=sending_list.account_id) if sending_list else None

        result = _Result()
        try:
            async with in_transaction():
                inbound = await InboundMessage.create(
                    account_id=account.id if account else None,
                    sending_list_id=sending_list.id if sending_list else None,
                    contact_id=contact.id if contact else None,
                    from_number=from_number, to_number=to_number, body=sms.body,
                    provider=sms.provider[:16], provider_message_id=sms.provider_message_id[:100],
                    intent=match.intent, matched_rule=match.rule[:100],
                    received_at=sms.received_at or now)
                if sending_list is None or account is None:
                    result.action = InboundAction.UNKNOWN_NUMBER
                elif contact is None:
                    result.action = InboundAction.INVALID_SENDER
                else:
                    await self._act(match, account, sending_list, contact, now, result)
                inbound.action_taken = result.action
                await inbound.save(update_fields=["action_taken"])
        except IntegrityError:
            log.info("inbound %s/%s already handled", sms.provider, sms.provider_message_id)
            return InboundOutcome(None, True, match.intent, match.rule, match.keyword,
                                  "duplicate", account.id if account else None,
                                  sending_list.id if sending_list else None,
                                  contact.id if contact else None, 0, 0, None, None, None)

        if account is not None and sending_list is not None:
            await self._notify(match, account, sending_list, from_number, inbound.id, result)
        log.info("inbound to %s from %s: %s (%s) -> %s", mask(to_number), mask(from_number),
                 match.intent, match.rule, result.action)
        return InboundOutcome(
            inbound.id, False, match.intent, match.rule, match.keyword, result.action,
            account.id if account else None, sending_list.id if sending_list else None,
            contact.id if contact else None, result.changed, result.cancelled,
            result.reply, to_number if result.reply else None,
            from_number if result.reply else None)

    # -- actions -----------------------------------------------------------------------

    async def _act(self, match: KeywordMatch, account: Account, sending_list: SendingList,
                   contact: Contact, now: dt.datetime, result: _Result) -> None:
        brand = sending_list.brand_name or account.brand_name or account.name
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
                       contact: Contact, now: dt.datetime, result: _Result,
                       reason: UnsubscribeReason, brand: str, *, complaint: bool) -> None:
        if account.stop_scope == StopScope.ACCOUNT:
            list_ids = [row["id"] for row in
                        await SendingList.filter(account_id=account.id).values("id")]
        else:
            list_ids = [sending_list.id]
        keyword = (match.keyword or match.intent.value)[:64]
        # Active subscriptions, and those an operator removed: an API upsert may bring
        # back someone removed by hand, never someone who said STOP, so the STOP is what
        # the row must say from now on.
        changed = await ListContact.filter(
            Q(status=SubscriptionStatus.ACTIVE) |
            Q(status=SubscriptionStatus.UNSUBSCRIBED,
              unsubscribe_reason__in=list(READDABLE_REASONS)),
            contact_id=contact.id, sending_list_id__in=list_ids,
        ).update(status=SubscriptionStatus.UNSUBSCRIBED, unsubscribe_reason=reason,
                 unsubscribed_at=now, unsubscribe_keyword=keyword, updated_at=now)
        # Record the opt-out even on the lists in scope the sender is not (yet) on, so a
        # later import or API call cannot subscribe them without a new opt-in.
        present = set(await ListContact.filter(
            contact_id=contact.id, sending_list_id__in=list_ids
        ).values_list("sending_list_id", flat=True))
        for list_id in list_ids:
            if list_id in present:
                continue
            try:
                async with in_transaction():
                    await ListContact.create(
                        account_id=account.id, sending_list_id=list_id,
                        contact_id=contact.id, status=SubscriptionStatus.UNSUBSCRIBED,
                        signup_date=now, signup_method=SignupMethod.KEYWORD,
                        unsubscribe_reason=reason, unsubscribed_at=now,
                        unsubscribe_keyword=keyword, custom_fields={})
                changed += 1
            except IntegrityError:
                pass
        result.changed = changed
        result.cancelled = await queries.drop_queued_messages(
            contact_id=contact.id, list_ids=list_ids, detail="unsubscribed",
            source="compliance:inbound", now=now)
        if changed:
            result.action = (InboundAction.COMPLAINT_UNSUBSCRIBED if complaint
                             else InboundAction.UNSUBSCRIBED)
            result.reply = DEFAULT_OPT_OUT_REPLY.replace("{brand}", brand)
        else:
            result.action = (InboundAction.COMPLAINT_LABELLED if complaint
                             else InboundAction.ALREADY_UNSUBSCRIBED)

    async def _opt_in(self, match: KeywordMatch, account: Account, sending_list: SendingList,
                      contact: Contact, now: dt.datetime, result: _Result, brand: str) -> None:
        source = f"keyword:{match.keyword}"[:200]
        changed = await ListContact.filter(
            contact_id=contact.id, sending_list_id=sending_list.id,
            status=SubscriptionStatus.UNSUBSCRIBED,
        ).update(status=SubscriptionStatus.ACTIVE, unsubscribe_reason=None,
                 unsubscribed_at=None, unsubscribe_keyword=None, consent_date=now,
                 consent_source=source, updated_at=now)
        if changed:
            result.action = InboundAction.RESUBSCRIBED
        else:
            try:
                async with in_transaction():
                    await ListContact.create(
                        account_id=account.id, sending_list_id=sending_list.id,
                        contact_id=contact.id, status=SubscriptionStatus.ACTIVE,
                        signup_date=now, signup_method=SignupMethod.KEYWORD,
                        consent_date=now, consent_source=source, custom_fields={})
                changed = 1
                result.action = InboundAction.SUBSCRIBED
            except IntegrityError:
                result.action = InboundAction.ALREADY_SUBSCRIBED
        result.changed = changed
        if changed:
            result.reply = DEFAULT_OPT_IN_REPLY.replace("{brand}", brand)

    async def _notify(self, match: KeywordMatch, account: Account, sending_list: SendingList,
                      from_number: str, inbound_id: int, result: _Result) -> None:
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
        elif match.intent in (InboundIntent.NONE, InboundIntent.HELP, InboundIntent.OPT_IN):
            await self.notifications.notify(
                account.id, kind="inbound", severity=Severity.LOW,
                title=f"Reply on {sending_list.phone_number}",
                body=f"{shown}: {match.intent.value}", data=data)


@dataclass
class _Result:
    action: str = InboundAction.NONE
    changed: int = 0
    cancelled: int = 0
    reply: str | None = None
