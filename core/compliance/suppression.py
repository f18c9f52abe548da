"""May this contact receive a message from this list now? Asked by the send pipeline.

Batch first: the executor claims up to ~500 messages of one list and asks about all of
them at once, in a constant number of queries (account, contacts, subscriptions, blocks),
whatever the batch size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

from core.accounts.models import Account
from core.compliance.quiet_hours import next_allowed, resolve_zone, zone
from core.contacts.models import Contact, SendingList
from core.contacts.models import SubscriptionStatus as Sub
from core.contacts.phones import candidate_zones
from core.contacts.rules import is_sending
from core.reasons import DropReason, StatusDetail
from core.sql import Params, fetch


class Decision(StrEnum):
    ALLOW = "allow"
    DROP = "drop"  # never send this message
    DEFER = "defer"  # not now: try again at ``until``


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    reason: DropReason | StatusDetail | None = None  # StatusDetail.QUIET_HOURS: deferred
    until: dt.datetime | None = None  # set when deferred

    @property
    def allowed(self) -> bool:
        return self.decision == Decision.ALLOW


ALLOW = Verdict(Decision.ALLOW)


def drop(reason: DropReason) -> Verdict:
    return Verdict(Decision.DROP, reason)


def defer(until: dt.datetime) -> Verdict:
    return Verdict(Decision.DEFER, StatusDetail.QUIET_HOURS, until)


class Suppression:
    async def check_batch(self, *, sending_list: SendingList, contact_ids: Sequence[int],
                          now: dt.datetime, transactional_ids: Collection[int] = frozenset(),
                          subscription_optional_ids: Collection[int] = frozenset(),
                          reply_ids: Collection[int] = frozenset(),
                          ) -> dict[int, Verdict]:
        """One verdict per contact id. Three queries, whatever the batch size.

        Order of reasons: inactive list, invalid contact, blocked (list or account
        block), unsubscribed (from this list, or an account-wide STOP, which covers
        lists created after it), not subscribed, then quiet hours (defer to the next
        allowed instant; ``transactional_ids`` are exempt). ``subscription_optional_ids``
        may receive without a subscription (one-off API sends) but never after an
        unsubscribe or a block. ``reply_ids`` are compliance replies (the opt-out
        confirmation, the HELP answer: ``InboundOutcome.reply_text``): they go to
        whoever just wrote to us, unsubscribed or blocked, at any hour."""
        ids = list(dict.fromkeys(contact_ids))
        if not ids:
            return {}
        if not is_sending(sending_list):
            return {i: drop(DropReason.INACTIVE_LIST) for i in ids}
        found = await Account.filter(id=sending_list.account_id).values("default_timezone")
        account_zone = str(found[0]["default_timezone"]) if found else None
        # Raw SQL: the executor asks about ~500 contacts a batch, thousands of times a
        # minute; building ORM objects for them cost more than the queries. One
        # statement reads each contact with its subscription to this list and its
        # account-wide opt-out (both by unique index).
        p = Params()
        rows = await fetch(
            "SELECT c.id, c.phone_number, c.is_valid, c.timezone, c.state, lc.status, "
            "o.id AS opt_out FROM contact c LEFT JOIN list_contact lc ON lc.contact_id = "
            f"c.id AND lc.sending_list_id = {p(sending_list.id)} "
            "LEFT JOIN account_opt_out o ON o.contact_id = c.id AND o.account_id = "
            f"{p(sending_list.account_id)} WHERE {p.isin('c.id', ids)}", p)
        contacts = {r["id"]: _ContactFacts(r["id"], r["phone_number"], r["is_valid"],
                                           r["timezone"], r["state"]) for r in rows}
        statuses = {r["id"]: r["status"] for r in rows if r["status"] is not None}
        opted_out = {r["id"] for r in rows if r["opt_out"] is not None}
        phones = [c.phone_number for c in contacts.values()]
        blocked: set[str] = set()
        if phones:
            p = Params()
            blocked = {r["phone_number"] for r in await fetch(
                f"SELECT phone_number FROM block WHERE account_id = {p(sending_list.account_id)}"
                f" AND (sending_list_id IS NULL OR sending_list_id = {p(sending_list.id)}) "
                f"AND {p.isin('phone_number', phones, 'varchar')}", p)}
        verdicts: dict[int, Verdict] = {}
        for contact_id in ids:
            contact = contacts.get(contact_id)
            status = statuses.get(contact_id)
            if contact is None or not contact.is_valid:
                verdicts[contact_id] = drop(DropReason.INVALID_CONTACT)
            elif contact_id in reply_ids:
                verdicts[contact_id] = ALLOW
            elif contact.phone_number in blocked:
                verdicts[contact_id] = drop(DropReason.CONTACT_BLOCKED)
            elif status == Sub.UNSUBSCRIBED or contact_id in opted_out:
                verdicts[contact_id] = drop(DropReason.UNSUBSCRIBED)
            elif status is None and contact_id not in subscription_optional_ids:
                verdicts[contact_id] = drop(DropReason.NOT_SUBSCRIBED)
            elif contact_id in transactional_ids:
                verdicts[contact_id] = ALLOW
            else:
                when = next_allowed(now, contact_zones(contact, account_zone),
                                    contact.state)
                verdicts[contact_id] = ALLOW if when == now else defer(when)
        return verdicts

    async def check(self, *, sending_list: SendingList, contact_id: int, now: dt.datetime,
                    transactional: bool = False, subscription_optional: bool = False,
                    reply: bool = False) -> Verdict:
        """The same question for one contact."""
        verdicts = await self.check_batch(
            sending_list=sending_list, contact_ids=[contact_id], now=now,
            transactional_ids={contact_id} if transactional else frozenset(),
            subscription_optional_ids={contact_id} if subscription_optional else frozenset(),
            reply_ids={contact_id} if reply else frozenset())
        return verdicts[contact_id]


@dataclass(frozen=True, slots=True)
class _ContactFacts:
    id: int
    phone_number: str
    is_valid: bool
    timezone: str | None
    state: str | None


def contact_zones(contact: Contact | _ContactFacts, account_zone: str | None) -> list[str]:
    """The zones quiet hours must respect for this contact.

    The contact's own zone when it is set and known; when it is the one derived from an
    area code that spans zones, all of that area code's zones. Else the account default,
    else New York."""
    if contact.timezone and zone(contact.timezone) is not None:
        spans = candidate_zones(contact.phone_number)
        if contact.timezone in spans and len(spans) > 1:
            return [z for z in spans if zone(z) is not None]
        return [contact.timezone]
    return [resolve_zone(account_zone).key]
