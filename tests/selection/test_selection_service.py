"""The selector against the database: a journey step that names several creatives
records each choice (arm, segment, posterior, draw) with its message; the refresh job
rebuilds the per-account statistics from sends, counted clicks and attributed
conversions; the next choice reads them in one query."""

from __future__ import annotations

from decimal import Decimal

from core.clock import FakeClock
from core.messaging.models import MessageSent, MessageShortLink
from core.selection.bandit import OVERALL, Candidate, Traits
from core.selection.models import SelectionDecision, SelectionStat
from core.services import Services
from core.tracking.conversions import ConversionIn
from tests.contacts.helpers import subscribe
from tests.journeys.helpers import make_journey, setup
from tests.tracking.helpers import redirect_clicks
from trackly.bootstrap import build_executor


async def test_choices_are_recorded_and_learned_from(services: Services,
                                                     clock: FakeClock) -> None:
    tenant, creatives = await setup(services)
    arms = [creatives["b"], creatives["c"]]
    journey_id = await make_journey(services, tenant, [
        {"position": 0, "type": "send", "config": {"creative_ids": arms}}])
    subs = [await subscribe(services, tenant, f"+1415555{i:04d}") for i in range(40)]
    await services.journeys.run_due()  # 07:00 in Los Angeles: held until 08:00
    clock.advance(hours=1)
    await build_executor(services).drain()
    sent = await MessageSent.filter(journey_id=journey_id)
    assert len(sent) == 40 and {m.creative_id for m in sent} <= set(arms)
    decisions = await SelectionDecision.filter(account_id=tenant.account.id)
    assert sorted(d.message_id for d in decisions) == sorted(m.id for m in sent)
    for d in decisions:
        assert d.mode == "model" and d.draw is not None and d.draw > 0
        assert d.posterior["click"] and d.seg_carrier and d.seg_hour == "06-08"
    # Everyone sent creative "b" clicks and converts for $10; nobody clicks "c".
    clock.advance(minutes=10)  # people, not a scanner seconds after delivery
    async with redirect_clicks(services) as tap:
        for m in sent:
            if m.creative_id == creatives["b"]:
                click = await tap(await MessageShortLink.get(message_id=m.id))
                assert click is not None
                await services.conversions.by_click(click.click_id, ConversionIn(
                    source="conv", revenue=Decimal("10")))
    assert await services.selection.refresh(tenant.account.id) > 0
    stats = {(s.creative_id, s.dimension, s.value): s
             for s in await SelectionStat.filter(account_id=tenant.account.id)}
    n_b = sum(m.creative_id == creatives["b"] for m in sent)
    whole_b = stats[(creatives["b"], OVERALL, OVERALL)]
    assert (whole_b.sends, whole_b.clicks, whole_b.conversions) == (n_b, n_b, n_b)
    assert whole_b.revenue == Decimal(10 * n_b)
    assert stats[(creatives["c"], OVERALL, OVERALL)].clicks == 0
    assert sum(s.sends for (c, dim, _), s in stats.items()
               if c == creatives["b"] and dim == "hour") == n_b
    # What it learned: "b" nearly always now.
    model = await services.selection.load_model(tenant.account.id)
    picks = [services.selection.choose(model, [Candidate(a) for a in arms],
                                       Traits(carrier="", line_type="cell", local_hour=10))
             .creative_id for _ in range(200)]
    assert picks.count(creatives["b"]) > 190
    one = await services.selection.select_creative(
        account_id=tenant.account.id, contact_id=subs[0].contact.id,
        traits=Traits(local_hour=10), candidates=[Candidate(a) for a in arms],
        automated_percent=0)
    assert one.mode == "control"
    assert await SelectionDecision.filter(mode="control").count() == 1
