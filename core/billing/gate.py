"""The billing hold the send pipeline asks about before anything leaves."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence

from core.accounts.models import Account, BillingStatus
from core.clock import Clock

# Messages of an account in billing trouble wait this long before they are dropped.
HOLD_LIMIT = dt.timedelta(minutes=60)


def hold_expired(since: dt.datetime, now: dt.datetime) -> bool:
    """A held message is dropped (``billing_expired``) once the hold is this old: the 60
    minutes count from when the hold began, not from when the message was queued."""
    return now - since >= HOLD_LIMIT


class AccountBillingGate:
    """Accounts without a payment method, or whose payment failed, are on hold.

    Asked once per executor batch; the answer is kept ``cache_seconds`` (a hold that
    starts or ends takes effect within that)."""

    def __init__(self, *, clock: Clock, cache_seconds: float = 5.0) -> None:
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._cache: dict[int, tuple[float, dt.datetime | None]] = {}

    async def holds(self, account_ids: Sequence[int]) -> Mapping[int, dt.datetime]:
        now = time.monotonic()
        wanted = set(account_ids)
        stale = {a for a in wanted
                 if a not in self._cache or now - self._cache[a][0] >= self.cache_seconds}
        if stale:
            rows = dict(await Account.filter(id__in=list(stale)).exclude(
                billing_status=BillingStatus.OK).values_list("id", "billing_status_since"))
            for account_id in stale:
                held = account_id in rows
                self._cache[account_id] = (now, (rows[account_id] or self.clock.now())
                                           if held else None)
        return {a: since for a in wanted if (since := self._cache[a][1]) is not None}
