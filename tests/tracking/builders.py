"""Messages with short links to an offer, written through the real outbox, for the
conversion, webhook and report tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from core.contacts.models import ListContact, SendingList
from core.ids import short_code
from core.messaging.models import MessageShortLink
from core.messaging.outbox import NewLink, NewMessage, enqueue
from core.offers.models import Offer
from core.services import Services
from tests.factories import Tenant, make_tenant
from tests.messaging.helpers import make_list, make_subscribers

OFFER_URL = "https://network.example/c?aff_sub={click_id}&m={message_id}"


@dataclass
class Sent:
    """One queued message and its link."""

    message_id: int
    public_id: str
    link: MessageShortLink
    subscriber: ListContact


@dataclass
class World:
    tenant: Tenant
    sending_list: SendingList
    offer: Offer
    subscribers: list[ListContact]


async def make_world(services: Services, *, subscribers: int = 3, payout: str = "12.50",
                     window_days: int = 7) -> World:
    tenant = await make_tenant(services)
    sending_list = await make_list(tenant.account.id)
    subs = await make_subscribers(sending_list, subscribers, when=services.clock.now())
    offer = await services.offers.create(tenant.owner, name="Solar", tracking_url=OFFER_URL,
                                         payout=payout, attribution_window_days=window_days)
    return World(tenant, sending_list, offer, subs)


async def queue_with_link(world: World, subscriber: ListContact, *, now: dt.datetime,
                          offer: Offer | None = None, creative_id: int | None = None,
                          schedule_id: int | None = None, journey_id: int | None = None,
                          price: str = "0.0045", segments: int = 1) -> Sent:
    offer = offer or world.offer
    code = short_code()
    [queued] = await enqueue([NewMessage(
        account_id=world.tenant.account.id, sending_list_id=world.sending_list.id,
        contact_id=subscriber.contact_id, list_contact_id=subscriber.id,
        to_number=subscriber.contact.phone_number,
        from_number=world.sending_list.phone_number,
        body=f"Acme: deal https://t.example/{code} Reply STOP to opt out.",
        segments=segments, encoding="GSM-7", price=Decimal(price),
        provider=world.sending_list.provider, creative_id=creative_id, offer_id=offer.id,
        schedule_id=schedule_id, journey_id=journey_id,
        links=[NewLink(code=code, link_key="link1", destination_url=offer.tracking_url,
                       offer_id=offer.id)])], now=now)
    link = await MessageShortLink.get(message_id=queued.id)
    return Sent(queued.id, queued.public_id, link, subscriber)
