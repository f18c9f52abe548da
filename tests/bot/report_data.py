"""A week of traffic for report tests, made through the real pipeline: messages queued
with short links, sent by the executor to a scripted provider (one refused a day),
delivery receipts applied, human clicks recorded as the click recorder would, and one
sale a day posted back on a click.

Counted by hand, for day d = 0..6 (D0 = 2026-02-25, the last day 2026-03-03):
  sends 4 + d, failed 1, delivered 3 + d, unique clicks 2, conversions 1, revenue
  $10 x (d + 1); creative "Solar" gets the even-numbered messages of each day, "Roof" the
  odd, and every sale is on the day's first message (Solar).
  Week: sends 49, delivered 42, failed 7, unique clicks 14, conversions 7, revenue $280,
  segments 49, cost 49 x 0.0045 = $0.2205."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from core.billing.gate import AccountBillingGate
from core.ids import short_code
from core.messaging.executor import Executor, ExecutorConfig
from core.messaging.models import MessageSent, MessageShortLink
from core.messaging.outbox import NewLink, NewMessage, enqueue
from core.messaging.receipts import apply_receipts
from core.providers.base import DeliveryState, Outcome, Receipt, SendOutcome
from core.tracking.conversions import ConversionIn
from tests.factories import Tenant
from tests.messaging.helpers import make_list, make_subscribers
from tests.messaging.scripted import ScriptedProvider, accept
from tests.tracking.helpers import redirect_clicks

DAY0 = dt.datetime(2026, 2, 25, 17, 0, tzinfo=dt.UTC)  # noon in New York
DAYS = 7
OFFER_URL = "https://network.example/c?aff_sub={click_id}"


async def seed_week(services, clock, tenant: Tenant) -> None:
    account = tenant.account.id
    offer = await services.offers.create(tenant.owner, name="Solar offer",
                                         tracking_url=OFFER_URL, payout="10")
    creatives = [await services.creatives.create(
        tenant.owner, name=name, body=f"{name} deal {{{{link1}}}}",
        link_bindings={"link1": {"offer_id": offer.id}}) for name in ("Solar", "Roof")]
    lst = await make_list(account)
    subs = await make_subscribers(lst, sum(4 + d for d in range(DAYS)), when=DAY0)
    refused: set[str] = set()

    def script(sms, attempt):
        if sms.to in refused:
            return SendOutcome(sms.message_id, Outcome.REJECTED, error_code="21610",
                               error_message="Unsubscribed recipient")
        return accept(sms, attempt)

    executor = Executor(clock=clock, providers=ScriptedProvider(script),
                        policy=services.compliance, billing=AccountBillingGate(clock=clock),
                        callback_url=lambda *_: None, config=ExecutorConfig(batch_size=100))
    taken = 0
    for d in range(DAYS):
        clock.set(DAY0 + dt.timedelta(days=d))
        day_subs = subs[taken:taken + 4 + d]
        taken += len(day_subs)
        refused.add(day_subs[-1].contact.phone_number)
        codes = [short_code() for _ in day_subs]
        queued = await enqueue([NewMessage(
            account_id=account, sending_list_id=lst.id, contact_id=s.contact_id,
            list_contact_id=s.id, to_number=s.contact.phone_number,
            from_number=lst.phone_number, body=f"Acme: deal http://t.example/{code}",
            segments=1, encoding="GSM-7", price=Decimal("0.0045"), provider=lst.provider,
            creative_id=creatives[i % 2].id, offer_id=offer.id,
            links=[NewLink(code=code, link_key="link1", destination_url=OFFER_URL,
                           offer_id=offer.id)])
            for i, (s, code) in enumerate(zip(day_subs, codes, strict=True))],
            now=clock.now())
        await executor.drain()
        sent = await MessageSent.filter(id__in=[q.id for q in queued],
                                        provider_message_id__isnull=False).order_by("id")
        clock.advance(minutes=1)
        await apply_receipts(account, [Receipt(provider=m.provider,
                                               provider_message_id=m.provider_message_id,
                                               state=DeliveryState.DELIVERED) for m in sent],
                             source="test", now=clock.now())
        clock.advance(minutes=30)
        async with redirect_clicks(services) as click:
            clicks = [await click(await MessageShortLink.get(message_id=m.id))
                      for m in sent[:2]]
        clock.advance(minutes=30)
        first = clicks[0]
        assert first is not None
        await services.conversions.by_click(first.click_id, ConversionIn(
            source="api", revenue=Decimal(10 * (d + 1)), txn_id=f"sale-{d}"))
    clock.set(DAY0 + dt.timedelta(days=DAYS - 1, hours=6))  # 23:00 in New York, last day
