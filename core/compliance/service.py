"""Compliance: blocks (do-not-contact) and the suppression check the sender asks before
every message. The rules themselves are pure modules beside it (keywords, quiet hours).

Sits below messaging and never touches message rows: dropping a blocked contact's queued
messages goes through the DropQueued port that messaging implements."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Sequence
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.accounts.models import Account
from core.clock import Clock
from core.compliance.suppression import Suppression, Verdict
from core.contacts.lists import SendingListService
from core.contacts.models import Block, Contact, SendingList
from core.contacts.phones import PhoneInfo, mask, parse_phone
from core.contacts.ports import DropQueued
from core.errors import Conflict, NotFound, ValidationError
from core.permissions import Action, Actor
from core.reasons import DropReason

log = logging.getLogger(__name__)


class ComplianceService:
    def __init__(self, *, clock: Clock, lists: SendingListService,
                 drop_queued: DropQueued) -> None:
        self.clock = clock
        self.lists = lists
        self.drop_queued = drop_queued
        self.suppression = Suppression()

    # -- suppression ----------------------------------------------------------------------

    async def check_batch(self, *, sending_list: SendingList, contact_ids: Sequence[int],
                          now: dt.datetime, transactional_ids: Collection[int] = frozenset(),
                          subscription_optional_ids: Collection[int] = frozenset(),
                          reply_ids: Collection[int] = frozenset(),
                          ) -> dict[int, Verdict]:
        """May each contact receive from this list now? See ``Suppression.check_batch``."""
        return await self.suppression.check_batch(
            sending_list=sending_list, contact_ids=contact_ids, now=now,
            transactional_ids=transactional_ids,
            subscription_optional_ids=subscription_optional_ids, reply_ids=reply_ids)

    async def check(self, *, sending_list: SendingList, contact_id: int, now: dt.datetime,
                    transactional: bool = False, subscription_optional: bool = False,
                    reply: bool = False) -> Verdict:
        return await self.suppression.check(
            sending_list=sending_list, contact_id=contact_id, now=now,
            transactional=transactional, subscription_optional=subscription_optional,
            reply=reply)

    # -- blocks ---------------------------------------------------------------------------

    async def add_block(self, actor: Actor, phone_number: Any, *, list_id: int | None = None,
                        reason: str = "") -> Block:
        """Block a number for one list, or for the whole account (``list_id=None``).
        Queued messages to it are dropped at once."""
        actor.require(Action.BUILD)
        sending_list = await self.lists.get_list(actor, list_id) if list_id else None
        e164 = await self._number(actor, phone_number)
        now = self.clock.now()
        try:
            async with in_transaction():
                block = await Block.create(
                    account_id=actor.account_id, sending_list_id=list_id, phone_number=e164,
                    reason=" ".join(str(reason).split())[:200], created_by=actor.label)
                contact = await self._contact_id(e164)
                if contact is not None:
                    list_ids = ([sending_list.id] if sending_list is not None
                                else await self.lists.list_ids(actor.account_id))
                    await self.drop_queued(
                        contact_id=contact, list_ids=list_ids, detail=DropReason.CONTACT_BLOCKED,
                        source=f"compliance:{actor.label}", now=now)
        except IntegrityError:
            raise Conflict(f"{e164} is already blocked there.", code="already_blocked") from None
        log.info("%s blocked (%s) in account %s", mask(e164),
                 f"list {list_id}" if list_id else "account", actor.account_id)
        return block

    async def remove_block(self, actor: Actor, block_id: int) -> None:
        actor.require(Action.BUILD)
        deleted = await Block.filter(id=block_id, account_id=actor.account_id).delete()
        if not deleted:
            raise NotFound("No such block.", code="block_not_found")

    async def list_blocks(self, actor: Actor, *, list_id: int | None = None,
                          page: int = 1, per_page: int = 50) -> tuple[list[Block], int]:
        actor.require(Action.READ)
        query = Block.filter(account_id=actor.account_id)
        if list_id is not None:
            query = query.filter(sending_list_id=list_id)
        total = await query.count()
        return await query.order_by("-id").offset((page - 1) * per_page).limit(per_page), total

    async def is_blocked(self, actor: Actor, phone_number: Any, *, list_id: int) -> bool:
        actor.require(Action.READ)
        e164 = await self._number(actor, phone_number)
        return await Block.filter(
            Q(sending_list_id__isnull=True) | Q(sending_list_id=list_id),
            account_id=actor.account_id, phone_number=e164).exists()

    # -- internals ------------------------------------------------------------------------

    @staticmethod
    async def _number(actor: Actor, raw: Any) -> str:
        account = await Account.get(id=actor.account_id)
        info = parse_phone(raw, region=account.default_region)
        if not isinstance(info, PhoneInfo):
            raise ValidationError(f"phone_number: {info.reason}", code="invalid_phone",
                                  field="phone_number")
        return info.e164

    @staticmethod
    async def _contact_id(e164: str) -> int | None:
        found = await Contact.filter(phone_number=e164).values("id")
        return int(found[0]["id"]) if found else None
