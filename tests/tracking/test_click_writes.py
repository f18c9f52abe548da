"""A large batch of clicks, written as the recorder writes them under load: every row
stored exactly as clicked, whatever the batch's size, and one refused row costs no other."""

from __future__ import annotations

import datetime as dt

from core.messaging.models import MessageShortLink
from core.tracking.agents import HUMAN, Judgement, Verdict
from core.tracking.models import MessageClick, MessageShortLinkClick
from core.tracking.recorder import ClickIn
from tests.tracking.builders import make_world, queue_with_link
from tests.tracking.helpers import PHONE_UA, PREVIEW_UA

PREVIEW = Judgement(Verdict.PREVIEW, "agent:imessage_preview")


async def _links(services, count):
    world = await make_world(services, subscribers=count)
    sent = [await queue_with_link(world, sub, now=services.clock.now())
            for sub in world.subscribers]
    return [await services.redirects.links.get(s.link.code) for s in sent]


def _clicks(targets, count, start):
    """``count`` clicks round the links, each at its own microsecond (0 included), every
    fifth a previewer's."""
    return [ClickIn(targets[i % len(targets)], start + dt.timedelta(microseconds=i * 999),
                    f"198.51.100.{i % 200}", PREVIEW_UA if i % 5 == 4 else PHONE_UA,
                    PREVIEW if i % 5 == 4 else HUMAN) for i in range(count)]


async def test_a_batch_of_any_size_stores_every_click_as_it_was_made(services, clock):
    targets = await _links(services, 3)
    recorder = services.redirects.recorder
    recorder.batch_size = 10_000
    # 289 = 256 + 2 x 16 + 1: every statement size in one batch
    clicks = _clicks(targets, 289, clock.now().replace(microsecond=0))
    for c in clicks:
        recorder.add(c)
    assert await recorder.flush() == 289
    stored = await MessageShortLinkClick.all().order_by("id").values_list(
        "short_link_id", "clicked_at", "ip_address", "user_agent", "is_bot", "verdict",
        "bot_reason")
    assert stored == [(c.target.link_id, c.at, c.address, c.user_agent,
                       c.judgement.is_bot, c.judgement.verdict.value, c.judgement.reason)
                      for c in clicks]
    assert await MessageClick.all().count() == 3


async def test_a_click_the_database_refuses_costs_no_other(services, clock):
    targets = await _links(services, 2)
    kept, gone = targets
    recorder = services.redirects.recorder
    recorder.batch_size = 10_000
    clicks = _clicks([kept] * 9 + [gone], 300, clock.now())
    for c in clicks:
        recorder.add(c)
    # SQLite refuses a click on a link deleted since (its foreign key); PostgreSQL
    # keeps it (0021 dropped that key)
    await MessageShortLink.filter(id=gone.link_id).delete()
    assert await recorder.flush() == 300
    assert recorder.pending == 0
    assert await MessageShortLinkClick.filter(short_link_id=kept.link_id).count() == 270
    assert await MessageClick.filter(short_link_id=kept.link_id).count() == 1
