"""Consent a person gives or withdraws by text (STOP, START), written on their
subscriptions; and account-wide opt-outs, which every list of the account honours, lists
created after the STOP included.

Called inside the caller's transaction (the inbound message is stored in the same one),
so a crash never leaves an opt-out half recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.contacts.models import (
    AccountOptOut,
    Contact,
    ListContact,
    SignupMethod,
    SubscriptionStatus,
    UnsubscribeReason,
)
from core.sql import Params, execute, ts

# An API upsert may bring back someone an operator removed; never someone who opted out.
READDABLE_REASONS = frozenset({UnsubscribeReason.MANUAL, UnsubscribeReason.INVALID_CONTACT,
                               UnsubscribeReason.BAD_RESPONSE})


@dataclass(frozen=True, slots=True)
class OptOutRecorded:
    subscriptions_changed: int  # subscriptions that now say unsubscribed because of it
    account_wide_new: bool  # an account-wide opt-out was recorded by this call


async def record_opt_out(*, account_id: int, contact_id: int, list_ids: Sequence[int],
                         reason: UnsubscribeReason, keyword: str, now: dt.datetime,
                         account_wide: bool) -> OptOutRecorded:
    """Unsubscribe the contact from ``list_ids`` (the list that got the STOP, or every
    list of the account), recording the STOP on lists they are not on yet too; with
    ``account_wide``, remember it for lists the account creates later."""
    keyword = keyword[:64]
    # Active subscriptions, and those an operator removed: an API upsert may bring back
    # someone removed by hand, never someone who said STOP, so the STOP is what the row
    # must say from now on.
    # Named SQL, not a QuerySet: building this filter through the ORM was the largest
    # single cost of a STOP in the web process (bench/stop_burst.py, profiled).
    p = Params()
    changed = await execute(
        f"UPDATE list_contact SET status = 'unsubscribed', unsubscribe_reason = {p(reason.value)}, "
        f"unsubscribed_at = {p(ts(now))}, unsubscribe_keyword = {p(keyword)}, "
        f"updated_at = {p(ts(now))} WHERE contact_id = {p(contact_id)} AND "
        f"{p.isin('sending_list_id', list_ids, 'int')} AND (status = 'active' OR "
        f"(status = 'unsubscribed' AND "
        f"{p.isin('unsubscribe_reason', sorted(r.value for r in READDABLE_REASONS), 'text')}))", p)
    # Every list had a subscription to change (the usual STOP): none is missing.
    present = set(list_ids) if changed == len(set(list_ids)) else set(
        await ListContact.filter(contact_id=contact_id, sending_list_id__in=list(list_ids)
                                 ).values_list("sending_list_id", flat=True))
    facts: tuple[str | None, str | None] | None = None
    for list_id in list_ids:
        if list_id in present:
            continue
        state, area_code = facts = facts or await contact_facts(contact_id)
        try:
            async with in_transaction():
                await ListContact.create(
                    account_id=account_id, sending_list_id=list_id, contact_id=contact_id,
                    state=state, area_code=area_code,
                    status=SubscriptionStatus.UNSUBSCRIBED, signup_date=now,
                    signup_method=SignupMethod.KEYWORD, unsubscribe_reason=reason,
                    unsubscribed_at=now, unsubscribe_keyword=keyword, custom_fields={})
            changed += 1
        except IntegrityError:
            pass  # subscribed a moment ago: the next STOP, or the send-time check, wins
    account_wide_new = False
    if account_wide:
        try:
            async with in_transaction():
                await AccountOptOut.create(account_id=account_id, contact_id=contact_id,
                                           reason=reason, keyword=keyword, opted_out_at=now)
            account_wide_new = True
        except IntegrityError:
            pass  # said before: the first STOP stands
    return OptOutRecorded(changed, account_wide_new)


async def record_opt_in(*, account_id: int, list_id: int, contact_id: int, source: str,
                        now: dt.datetime) -> tuple[bool, bool]:
    """Subscribe the contact to ``list_id`` on their own word (START): ``(changed,
    created)``. Their account-wide opt-out, if any, is lifted: the person asked."""
    lifted = await AccountOptOut.filter(account_id=account_id, contact_id=contact_id).delete()
    source = source[:200]
    changed = await ListContact.filter(
        contact_id=contact_id, sending_list_id=list_id,
        status=SubscriptionStatus.UNSUBSCRIBED,
    ).update(status=SubscriptionStatus.ACTIVE, unsubscribe_reason=None,
             unsubscribed_at=None, unsubscribe_keyword=None, consent_date=now,
             consent_source=source, updated_at=now)
    if changed:
        return True, False
    state, area_code = await contact_facts(contact_id)
    try:
        async with in_transaction():
            await ListContact.create(
                account_id=account_id, sending_list_id=list_id, contact_id=contact_id,
                state=state, area_code=area_code, status=SubscriptionStatus.ACTIVE,
                signup_date=now, signup_method=SignupMethod.KEYWORD, consent_date=now,
                consent_source=source, custom_fields={})
        return True, True
    except IntegrityError:
        return bool(lifted), False  # already subscribed to this list


async def contact_facts(contact_id: int) -> tuple[str | None, str | None]:
    """What a new subscription copies from its contact: (state, area_code)."""
    rows = await Contact.filter(id=contact_id).values_list("state", "area_code")
    return (rows[0][0], rows[0][1]) if rows else (None, None)


async def account_opt_out(account_id: int, contact_id: int) -> AccountOptOut | None:
    """The contact's standing account-wide opt-out in this account, if any."""
    return await AccountOptOut.get_or_none(account_id=account_id, contact_id=contact_id)
