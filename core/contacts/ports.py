"""What the contacts domain needs from higher ones, as protocols the composition root
fills (dependency inversion: contacts never imports messaging)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from core.reasons import DropReason


class DropQueued(Protocol):
    """Make a contact's queued messages from these lists unsendable (an unsubscribe, a
    block); returns how many were dropped. Compliance replies (an opt-out confirmation,
    a HELP answer) are never dropped: they answer the person who just wrote to us.
    Runs in the caller's transaction when there is one. Messaging implements it."""

    async def __call__(self, *, contact_id: int, list_ids: Sequence[int], detail: DropReason,
                       source: str, now: dt.datetime) -> int: ...


class EnrollNew(Protocol):
    """Enroll new subscriptions in the active journeys of their lists whose triggers they
    match: the journeys each was enrolled in, by subscription id. ``skip_if_enrolled``:
    not a contact already in a journey of the account. Journeys implement it."""

    async def __call__(self, account_id: int, list_contact_ids: Sequence[int], *,
                      skip_if_enrolled: bool = False) -> dict[int, list[int]]: ...
