"""What the send pipeline needs from lower domains, as protocols the composition root
fills: the compliance check (core.compliance's Suppression), the billing hold, the
provider for a list. Tests and benchmarks pass the real ones."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Protocol

from core.compliance.suppression import Verdict
from core.contacts.models import SendingList
from core.providers.base import SmsProvider


class SendPolicy(Protocol):
    """May these contacts receive from this list now? (subscription, blocks, quiet hours)"""

    async def check_batch(self, *, sending_list: SendingList, contact_ids: Sequence[int],
                          now: dt.datetime, transactional_ids: set[int],
                          subscription_optional_ids: set[int], reply_ids: set[int]
                          ) -> Mapping[int, Verdict]: ...


class BillingGate(Protocol):
    """Accounts whose billing state holds sending, with when the hold began."""

    async def holds(self, account_ids: Sequence[int]) -> Mapping[int, dt.datetime]: ...


class ProviderLookup(Protocol):
    def get(self, sending_list: SendingList) -> SmsProvider: ...
