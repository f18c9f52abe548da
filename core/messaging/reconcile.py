"""The reconciler: messages whose send outcome stayed unknown past their lease (a
timeout, a 5xx after the request left, a crash mid-send) are never resent. Their
provider is asked first where it can be (SmsProvider.lookup); its answer settles them
as a receipt would, and what nobody can account for ends ``orphaned`` with what the
provider said."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections import defaultdict
from collections.abc import Awaitable, Callable

from core.contacts.models import SendingList
from core.messaging import queries
from core.messaging.ports import ProviderLookup
from core.messaging.receipts import apply_receipts
from core.providers.base import Receipt, SentSms

log = logging.getLogger(__name__)

SOURCE = "reconciler"


async def reconcile(*, now: dt.datetime, lease: dt.timedelta, providers: ProviderLookup,
                    load_lists: Callable[[set[int]], Awaitable[dict[int, SendingList]]],
                    limit: int = 1000) -> int:
    """One pass; returns how many messages ended orphaned."""
    token = secrets.token_hex(8)
    # Ours while we ask (a fresh lease): another reconciler skips them meanwhile.
    unsettled = await queries.claim_unsettled(token=token, now=now, lease_until=now + lease,
                                              limit=limit)
    if not unsettled:
        return 0
    lists = await load_lists({m.sending_list_id for m in unsettled})
    by_list: dict[int, list[queries.Unsettled]] = defaultdict(list)
    for m in unsettled:
        by_list[m.sending_list_id].append(m)
    why: dict[int, str] = {}
    for list_id, messages in by_list.items():
        receipts, unanswered = await _ask(providers, lists.get(list_id), messages)
        if receipts:
            await apply_receipts(None, receipts, source=f"{SOURCE}:{messages[0].provider}",
                                 now=now)
        why.update(unanswered)
    orphaned = await queries.orphan(list(why), token=token)
    if orphaned:
        await queries.record_events([
            (mid, "orphaned", f"outcome unknown; not resent: {why[mid]}", SOURCE, now)
            for mid in orphaned])
        log.warning("reconciled %d message(s) with unknown outcome to orphaned",
                    len(orphaned))
    return len(orphaned)


async def _ask(providers: ProviderLookup, sending_list: SendingList | None,
               messages: list[queries.Unsettled]) -> tuple[list[Receipt], dict[int, str]]:
    """Ask the list's provider about messages it may have sent: (receipts for what it
    has, why-not by message row id for the rest)."""
    name = messages[0].provider
    if sending_list is None or str(sending_list.provider) != name:
        return [], {m.id: f"{name} is no longer the list's provider and was not asked"
                    for m in messages}
    try:
        said = await providers.get(sending_list).lookup([
            SentSms(m.public_id, m.to_number, m.from_number, m.body, m.queued_at,
                    m.provider_message_id) for m in messages])
    except Exception:  # an adapter bug must not stop the reconciler
        log.exception("asking %s about %d message(s) failed", name, len(messages))
        said = {}
    receipts: list[Receipt] = []
    why: dict[int, str] = {}
    for m in messages:
        if m.public_id not in said:
            why[m.id] = f"{name} could not tell"
        elif (receipt := said[m.public_id]) is None:
            why[m.id] = f"{name} has no record of it: most likely never sent"
        else:
            receipts.append(receipt)
    return receipts, why
