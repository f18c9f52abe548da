"""Builders for lists, contacts and queued messages, through the real services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.contacts.lists import ListChanges
from core.contacts.models import SendingList
from core.contacts.service import ContactInput, UpsertResult
from core.ids import message_public_id
from core.messaging.models import Encoding, MessageSent, MessageStatus
from core.services import Services
from tests.factories import Tenant

LIST_NUMBER = "+14155550000"


async def make_list(services: Services, tenant: Tenant, number: str = LIST_NUMBER,
                    **fields: Any) -> SendingList:
    changes = ListChanges(phone_number=number, provider=fields.pop("provider", "simulator"),
                          name=fields.pop("name", "Main"), **fields)
    return await services.lists.create_list(tenant.owner, changes)


async def subscribe(services: Services, tenant: Tenant, phone: str,
                    list_number: str = LIST_NUMBER, **fields: Any) -> UpsertResult:
    return await services.contacts.upsert_contact(
        tenant.owner, ContactInput(phone_number=phone, list_number=list_number, **fields))


async def queue_message(sending_list: SendingList, contact_id: int, *,
                        status: MessageStatus = MessageStatus.QUEUED,
                        now: dt.datetime | None = None) -> MessageSent:
    """An outbox row as the send pipeline will write it."""
    now = now or dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC)
    return await MessageSent.create(
        public_id=message_public_id(), account_id=sending_list.account_id,
        sending_list_id=sending_list.id, contact_id=contact_id, to_number="+1",
        from_number=sending_list.phone_number, body="Deal of the day", segments=1,
        encoding=Encoding.GSM7, provider=sending_list.provider, status=status,
        queued_at=now)
