"""The billing hold the send pipeline asks about before anything leaves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from core.accounts.models import Account, BillingStatus
from core.clock import Clock

# Messages of an account in billing trouble wait this long before they are dropped.
HOLD_LIMIT = dt.timedelta(minutes=60)


class AccountBillingGate:
    """Accounts without a payment method, or whose payment failed, are on hold."""

    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock

    async def holds(self, account_ids: Sequence[int]) -> Mapping[int, dt.datetime]:
        if not account_ids:
            return {}
        rows = await Account.filter(id__in=list(set(account_ids))).exclude(
            billing_status=BillingStatus.OK).values_list("id", "billing_status_since")
        return {acc: since or self.clock.now() for acc, since in rows}
