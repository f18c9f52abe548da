"""Test data for the send pipeline, written through the real services and outbox."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from core.contacts.models import Contact, ListContact, Provider, SendingList, SignupMethod
from core.messaging.outbox import NewMessage, Queued, enqueue


async def make_list(account_id: int, number: str = "+14155550100", *,
                    provider: Provider = Provider.SIMULATOR, rate: int = 600_000,
                    token: str | None = None) -> SendingList:
    return await SendingList.create(account_id=account_id, phone_number=number,
                                    provider=provider, brand_name="Acme",
                                    webhook_token=token or f"tok-{number}",
                                    rate_limit_per_minute=rate)


async def make_subscribers(sending_list: SendingList, count: int, *, start: int = 2000000,
                           when: dt.datetime) -> list[ListContact]:
    contacts = [Contact(phone_number=f"+1415{start + i:07d}", line_type="cell",
                        timezone="America/New_York", state="NY", area_code="415")
                for i in range(count)]
    await Contact.bulk_create(contacts, batch_size=1000)
    stored = await Contact.filter(phone_number__in=[c.phone_number for c in contacts])
    subs = [ListContact(account_id=sending_list.account_id, sending_list_id=sending_list.id,
                        contact_id=c.id, state=c.state, area_code=c.area_code,
                        signup_date=when, signup_method=SignupMethod.IMPORT)
            for c in stored]
    await ListContact.bulk_create(subs, batch_size=1000)
    return await ListContact.filter(sending_list_id=sending_list.id).prefetch_related(
        "contact").order_by("id")


async def queue_to(subs: list[ListContact], sending_list: SendingList, *, now: dt.datetime,
                   body: str = "Acme: deals inside. Reply STOP to opt out.",
                   transactional: bool = False) -> list[Queued]:
    return await enqueue([
        NewMessage(account_id=sending_list.account_id, sending_list_id=sending_list.id,
                   contact_id=s.contact_id, list_contact_id=s.id,
                   to_number=s.contact.phone_number, from_number=sending_list.phone_number,
                   body=body, segments=1, encoding="GSM-7", price=Decimal("0.0045"),
                   provider=sending_list.provider, transactional=transactional)
        for s in subs], now=now)
