"""A journey send step that names several creatives honours a control share: the
journey's ``automated_percent`` (a step's own wins) goes to the selector, the rest to a
uniform split among the step's creatives, each choice recorded with its mode."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from core.errors import ValidationError
from core.journeys.models import JourneyStatus, JourneyStepRun
from core.selection.bandit import OVERALL
from core.selection.models import SelectionDecision, SelectionStat
from tests.contacts.helpers import LIST_NUMBER, subscribe
from tests.journeys.helpers import setup


async def test_the_journey_share_and_a_step_override(services, clock) -> None:
    tenant, creatives = await setup(services)
    b, c = creatives["b"], creatives["c"]
    for creative, clicks in ((b, 300), (c, 10)):  # b clearly wins in the stats table
        await SelectionStat.create(
            account_id=tenant.account.id, creative_id=creative, dimension=OVERALL,
            value=OVERALL, sends=3000, clicks=clicks, conversions=clicks // 2,
            revenue=Decimal(clicks), refreshed_at=clock.now())
    journey = await services.journeys.create(
        tenant.owner, name="Split", list_number=LIST_NUMBER, trigger=None,
        automated_percent=50, steps=[
            {"position": 0, "type": "send", "config": {"creative_ids": [b, c]}},
            {"position": 1, "type": "send",
             "config": {"creative_ids": [b, c], "automated_percent": 0}}])
    assert journey["automated_percent"] == 50
    await services.journeys.set_status(tenant.owner, journey["id"], JourneyStatus.ACTIVE)
    for i in range(160):
        await subscribe(services, tenant, f"+1415555{i:04d}")
    clock.advance(hours=3)  # past the morning's quiet hours everywhere
    await services.journeys.run_due()

    position_of = {r.message_id: r.position
                   for r in await JourneyStepRun.filter(journey_id=journey["id"])
                   if r.message_id is not None}
    decisions = await SelectionDecision.filter(account_id=tenant.account.id)
    first = [d for d in decisions if position_of[d.message_id] == 0]
    second = [d for d in decisions if position_of[d.message_id] == 1]
    assert len(first) == len(second) == 160
    # The journey's 50%: about half by the model (nearly all to b), half uniform.
    model = [d for d in first if d.mode == "model"]
    control = [d for d in first if d.mode == "control"]
    assert 50 <= len(model) <= 110
    assert Counter(d.creative_id for d in model)[b] >= len(model) - 3
    assert all(d.draw is not None and d.posterior for d in model)
    shares = Counter(d.creative_id for d in control)
    assert min(shares[b], shares[c]) >= len(control) // 4
    # The step's own 0%: all control, both creatives about evenly.
    assert {d.mode for d in second} == {"control"}
    halves = Counter(d.creative_id for d in second)
    assert min(halves[b], halves[c]) >= 50


async def test_a_bad_share_is_refused_and_changes_nothing(services) -> None:
    tenant, creatives = await setup(services)
    steps = [{"position": 0, "type": "send",
              "config": {"creative_ids": [creatives["b"], creatives["c"]]}}]
    with pytest.raises(ValidationError) as bad:
        await services.journeys.create(tenant.owner, name="J", list_number=LIST_NUMBER,
                                       trigger=None, steps=steps, automated_percent=101)
    assert bad.value.code == "invalid_automated_percent"
    steps[0]["config"]["automated_percent"] = "half"
    with pytest.raises(ValidationError) as bad:
        await services.journeys.create(tenant.owner, name="J", list_number=LIST_NUMBER,
                                       trigger=None, steps=steps)
    assert bad.value.code == "invalid_steps"
    assert await services.journeys.list_journeys(tenant.owner) == []
