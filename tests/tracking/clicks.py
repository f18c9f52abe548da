"""A stand-in for the click recorder until it is merged (the redirect work, in
core/tracking/): it writes exactly the rows that recorder writes for a request to a short
link, so conversion and report tests have clicks to meet.

Every request is a raw ``message_short_link_click`` row, bots included; the first human
click of a contact on a message is also the counted ``message_click``, with the public
click id that goes to the offer URL. Once the redirect server is merged, the scenario
test makes real requests instead (the lead switches it over)."""

from __future__ import annotations

import datetime as dt

from core.ids import random_string
from core.messaging.models import MessageSent, MessageShortLink
from core.tracking.models import MessageClick, MessageShortLinkClick

PHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
PREVIEW_UA = "facebookexternalhit/1.1 Facebot Twitterbot/1.0"


async def insert_click_rows_as_recorder_would(
        link: MessageShortLink, *, at: dt.datetime, user_agent: str = PHONE_UA,
        ip: str = "203.0.113.7", bot_reason: str | None = None) -> MessageClick | None:
    """One request to ``link``: its raw row, and the counted click when it is the first
    human one of the contact on the message (returned; None for a bot or a repeat)."""
    raw = await MessageShortLinkClick.create(
        short_link_id=link.id, account_id=link.account_id, message_id=link.message_id,
        contact_id=link.contact_id, offer_id=link.offer_id, clicked_at=at, ip_address=ip,
        user_agent=user_agent, is_bot=bot_reason is not None, bot_reason=bot_reason)
    if bot_reason is not None:
        return None
    if await MessageClick.exists(message_id=link.message_id, contact_id=link.contact_id):
        return None
    message = await MessageSent.get(id=link.message_id)
    return await MessageClick.create(
        click_id=random_string(24), account_id=link.account_id, message_id=message.id,
        contact_id=message.contact_id, short_link_id=link.id, raw_click_id=raw.id,
        offer_id=link.offer_id, creative_id=message.creative_id,
        schedule_id=message.schedule_id, journey_id=message.journey_id,
        sending_list_id=message.sending_list_id, clicked_at=at)
