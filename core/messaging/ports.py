"""What the send pipeline needs from lower domains, as protocols the composition root
fills: the compliance check, the billing hold, the provider for a list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from core.contacts.models import SendingList
from core.providers.base import SmsProvider


class VerdictKind(StrEnum):
    ALLOW = "allow"
    DROP = "drop"
    DEFER = "defer"


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: VerdictKind
    reason: str | None = None  # drop reason code, or why deferred
    until: dt.datetime | None = None  # when a deferred message may go

    @classmethod
    def allow(cls) -> Verdict:
        return cls(VerdictKind.ALLOW)

    @classmethod
    def drop(cls, reason: str) -> Verdict:
        return cls(VerdictKind.DROP, reason)

    @classmethod
    def defer(cls, until: dt.datetime, reason: str) -> Verdict:
        return cls(VerdictKind.DEFER, reason, until)


class SendPolicy(Protocol):
    """May these contacts receive from this list now? (subscription, blocks, quiet hours)"""

    async def check_batch(self, *, sending_list: SendingList, contact_ids: Sequence[int],
                          now: dt.datetime, transactional_ids: set[int]
                          ) -> Mapping[int, Verdict]: ...


class BillingGate(Protocol):
    """Accounts whose billing state holds sending, with when the hold began."""

    async def holds(self, account_ids: Sequence[int]) -> Mapping[int, dt.datetime]: ...


class ProviderLookup(Protocol):
    def get(self, sending_list: SendingList) -> SmsProvider: ...
