"""An automated schedule's launch chooses each contact's creative through the selector
(issue 14): the model's share goes mostly to the creative that clearly wins in the
account's statistics table, the control share gets the variants' split, and every
recipient's choice is recorded (arm, mode, segment, posterior, draw), linked to its
message by the refresh job."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

from core.campaigns.models import Schedule, ScheduleBlast, ScheduleRecipient, ScheduleRun
from core.messaging.models import MessageSent
from core.selection.bandit import OVERALL
from core.selection.models import SelectionDecision, SelectionStat
from tests.campaigns.helpers import audience, owner, schedule, world

URL = "https://offers.example.com/go?sub={click_id}"


async def _creatives(services, lists) -> list[int]:
    ids = []
    for key in ("a", "b", "c"):
        offer = await services.offers.create(owner(lists), name=f"Offer {key}",
                                             tracking_url=URL, payout="5.00")
        creative = await services.creatives.create(
            owner(lists), name=key, body=f"Deal {key} {{{{link1}}}}",
            link_bindings={"link1": {"offer_id": offer.id}})
        ids.append(creative.id)
    return ids


async def _stats(account_id: int, clock, rates: dict[int, tuple[int, int]]) -> None:
    """What the refresh job would have written: 2,000 sends each, (clicks, conversions)."""
    for creative_id, (clicks, conversions) in rates.items():
        await SelectionStat.create(
            account_id=account_id, creative_id=creative_id, dimension=OVERALL, value=OVERALL,
            sends=2000, clicks=clicks, conversions=conversions,
            revenue=Decimal(5 * conversions), refreshed_at=clock.now())


async def test_the_model_share_goes_to_the_winner_and_the_control_share_is_split(
        services, clock):
    lists = await world(400, clock.now(), zones=["America/New_York", "America/Chicago",
                                                 "America/Los_Angeles"])
    aud = await audience(services, lists, ["A"])
    a, b, c = await _creatives(services, lists)
    await _stats(lists.account_id, clock, {a: (40, 4), b: (200, 60), c: (30, 2)})
    sid = await schedule(services, lists, [aud], send_type="automated",
                         automated_percent=75, blasts=[
                             {"creative_id": a, "percent_audience": 34},
                             {"creative_id": b, "percent_audience": 33},
                             {"creative_id": c, "percent_audience": 33}])
    result = await services.schedules.launch(owner(lists), sid, now=True)
    assert result.recipients == 400
    run = await ScheduleRun.get(schedule_id=sid)
    blast_of = {bl.creative_id: bl.id for bl in await ScheduleBlast.filter(schedule_id=sid)}
    sent = await MessageSent.filter(schedule_id=sid)
    assert len(sent) == 400 and len({m.contact_id for m in sent}) == 400
    for m in sent:  # the message is the chosen creative's, on its variant
        assert blast_of[m.creative_id] == m.blast_id

    decisions = await SelectionDecision.filter(run_id=run.id)
    assert len(decisions) == 400 and len({d.contact_id for d in decisions}) == 400
    model = [d for d in decisions if d.mode == "model"]
    control = [d for d in decisions if d.mode == "control"]
    assert len(model) == 300 and len(control) == 100
    # The model: nearly everyone gets b, each choice with its draw and posterior.
    assert Counter(d.creative_id for d in model)[b] >= 285
    for d in model:
        assert d.draw is not None and d.draw > 0
        assert d.posterior["click"] and d.posterior["creative"]["click"]
        assert d.seg_carrier and d.seg_hour and d.seg_recency == "never"
    # The control share: the variants' split, whatever the statistics say.
    assert Counter(d.creative_id for d in control) == {a: 34, b: 33, c: 33}
    assert all(d.draw is None and d.posterior == {} for d in control)
    # Each decision names the creative its contact's message carries.
    creative_of = {m.contact_id: m.creative_id for m in sent}
    assert all(creative_of[d.contact_id] == d.creative_id for d in decisions)
    # The refresh links each decision to its message, and counts a send once it is out.
    assert all(d.message_id is None for d in decisions)
    await services.selection.refresh(lists.account_id)
    message_of = {m.contact_id: m.id for m in sent}
    linked = await SelectionDecision.filter(run_id=run.id)
    assert all(d.message_id == message_of[d.contact_id] for d in linked)


async def test_without_statistics_the_model_share_explores_every_creative(services, clock):
    lists = await world(300, clock.now())
    aud = await audience(services, lists, ["A"])
    a, b, c = await _creatives(services, lists)
    sid = await schedule(services, lists, [aud], send_type="automated",
                         automated_percent=100, blasts=[
                             {"creative_id": a, "percent_audience": 100 - 2 * 33},
                             {"creative_id": b, "percent_audience": 33},
                             {"creative_id": c, "percent_audience": 33}])
    await services.schedules.launch(owner(lists), sid, now=True)
    decisions = await SelectionDecision.filter(account_id=lists.account_id)
    assert len(decisions) == 300 and {d.mode for d in decisions} == {"model"}
    # Same priors for all three: each gets a fair share, none is starved.
    assert min(Counter(d.creative_id for d in decisions).values()) > 50
    assert clock.now() - max(d.decided_at for d in decisions) < dt.timedelta(minutes=1)
    # A run resolved again (what drive does after a crash while resolving) chooses afresh:
    # the first attempt's decisions go, one decision per recipient stays.
    run = await ScheduleRun.get(schedule_id=sid)
    await ScheduleRecipient.filter(run_id=run.id).delete()
    await services.schedules.launcher.resolve(run, await Schedule.get(id=sid))
    again = await SelectionDecision.filter(run_id=run.id)
    assert len(again) == 300 and len({d.contact_id for d in again}) == 300
