"""The outbox writer against the real database."""

from __future__ import annotations

from decimal import Decimal

from core.ids import short_code
from core.messaging.models import MessageSent, MessageShortLink
from core.messaging.outbox import CHUNK, NewLink, NewMessage, enqueue
from tests.factories import make_tenant
from tests.messaging.helpers import make_list, make_subscribers


async def test_a_full_chunk_of_ten_link_messages_is_queued(services, clock):
    """500 messages of a ten-link creative are 5,000 short links: one INSERT of them all
    was 40,000 parameters, past both databases' limit (32,767), and the chunk failed."""
    tenant = await make_tenant(services)
    lst = await make_list(tenant.account.id)
    subs = await make_subscribers(lst, CHUNK, when=clock.now())
    messages = []
    for s in subs:
        links = [NewLink(code=short_code(), link_key=f"link{n}",
                         destination_url=f"https://offer.test/{n}") for n in range(1, 11)]
        messages.append(NewMessage(
            account_id=tenant.account.id, sending_list_id=lst.id, contact_id=s.contact_id,
            list_contact_id=s.id, to_number=s.contact.phone_number,
            from_number=lst.phone_number,
            body=" ".join(f"https://t.test/{link.code}" for link in links), segments=3,
            encoding="GSM-7", price=Decimal("0.0135"), provider=lst.provider, links=links))
    queued = await enqueue(messages, now=clock.now())
    assert len(queued) == CHUNK
    assert await MessageSent.all().count() == CHUNK
    assert await MessageShortLink.all().count() == CHUNK * 10
