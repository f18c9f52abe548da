"""The outbox writer against the real database."""

from __future__ import annotations

from decimal import Decimal

from core.ids import short_code
from core.messaging.models import MessageSent, MessageShortLink
from core.messaging.outbox import CHUNK, COPY_FROM, NewLink, NewMessage, enqueue
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


def _message(tenant, lst, sub, *, public_id=None, code=None):
    links = [NewLink(code=code or short_code(), link_key="link1",
                     destination_url="https://offer.test/1")]
    extra = {"public_id": public_id} if public_id else {}
    return NewMessage(account_id=tenant.account.id, sending_list_id=lst.id,
                      contact_id=sub.contact_id, list_contact_id=sub.id,
                      to_number=sub.contact.phone_number, from_number=lst.phone_number,
                      body=f"Deal: https://t.test/{links[0].code}", segments=1,
                      encoding="GSM-7", price=Decimal("0.0045"), provider=lst.provider,
                      links=links, **extra)


async def test_codes_and_ids_drawn_twice_in_one_batch_are_redrawn(services, clock):
    """Random codes can repeat inside one batch as well as against stored rows. A code
    twice in one INSERT counted as written for both messages: the second message's link
    led to the first one's row (its clicks credited to another contact). An id twice
    in one batch lost the second message without a word."""
    tenant = await make_tenant(services)
    lst = await make_list(tenant.account.id)
    a, b, c, d = await make_subscribers(lst, 4, when=clock.now())
    queued = await enqueue([_message(tenant, lst, a, code="SAMEcod"),
                            _message(tenant, lst, b, code="SAMEcod"),
                            _message(tenant, lst, c, public_id="SAMEid01"),
                            _message(tenant, lst, d, public_id="SAMEid01")], now=clock.now())
    assert len(queued) == 4
    rows = await MessageSent.all().order_by("id")
    assert sorted(r.contact_id for r in rows) == sorted(s.contact_id for s in (a, b, c, d))
    for row in rows:
        [link] = await MessageShortLink.filter(message_id=row.id)
        assert link.contact_id == row.contact_id
        assert row.body == f"Deal: https://t.test/{link.code}"


async def test_a_bulk_write_redraws_an_id_already_stored(services, clock):
    """Past COPY_FROM rows PostgreSQL writes through COPY and a staging table: an id that
    collides with a stored message is drawn again there too, and every row is written
    once, with the fields it was given."""
    tenant = await make_tenant(services)
    lst = await make_list(tenant.account.id)
    subs = await make_subscribers(lst, COPY_FROM + 10, when=clock.now())
    first = _message(tenant, lst, subs[0], public_id="TAKENid1")
    assert len(await enqueue([first], now=clock.now())) == 1
    batch = [_message(tenant, lst, s) for s in subs[1:]]
    batch[7].public_id = "TAKENid1"
    queued = await enqueue(batch, now=clock.now())
    assert len(queued) == len(batch)
    assert len({q.public_id for q in queued}) == len(batch)
    assert "TAKENid1" not in {q.public_id for q in queued}
    rows = await MessageSent.filter(id__in=[q.id for q in queued])
    assert sorted(r.contact_id for r in rows) == sorted(s.contact_id for s in subs[1:])
    assert all(r.status == "queued" and r.price == Decimal("0.0045") for r in rows)
    assert await MessageShortLink.all().count() == len(subs)
