"""Test then winner (must-show 4): the variants go to a 20% test share with a short link
each, the wait passes, the variant with the best click rate (counted human clicks) goes
to the other 80%; a manual winner overrides the computed one. Decisions keep their
numbers."""

from __future__ import annotations

from collections import Counter

from core.campaigns.models import ScheduleBlast, ScheduleRun
from core.messaging.models import MessageSent, MessageShortLink
from core.tracking.models import MessageClick
from tests.campaigns.helpers import audience, owner, queued, schedule, world


async def _tested(services, clock, lists, aud) -> tuple[int, dict[str, int]]:
    offer = await services.offers.create(owner(lists), name="Deal",
                                         tracking_url="https://offers.example/go?c={click_id}")
    sid = await schedule(services, lists, [aud], blasts=[
        {"message": "A deal: {{link1}}", "link_bindings": {"link1": {"offer_id": offer.id}},
         "percent_audience": 50},
        {"message": "B deal: {{link1}}", "link_bindings": {"link1": {"offer_id": offer.id}},
         "percent_audience": 50}],
        test={"percent": 20, "wait_minutes": 120, "metric": "click_rate"})
    result = await services.schedules.launch(owner(lists), sid, now=True)
    assert result.recipients == 1000
    blasts = await ScheduleBlast.filter(schedule_id=sid).order_by("position")
    ids = {"A": blasts[0].id, "B": blasts[1].id}
    return sid, ids


async def _click(run_id: int, blast_id: int, how_many: int, clock) -> None:
    """People click the test messages' links (the counted, human, first clicks)."""
    messages = await MessageSent.filter(run_id=run_id, blast_id=blast_id).order_by(
        "id").limit(how_many)
    for m in messages:
        link = await MessageShortLink.get(message_id=m.id)
        await MessageClick.create(click_id=f"c{m.id}", account_id=m.account_id,
                                  message_id=m.id, contact_id=m.contact_id,
                                  short_link_id=link.id, schedule_id=m.schedule_id,
                                  clicked_at=clock.now())


async def test_twenty_percent_test_then_the_best_click_rate_goes_to_the_rest(services,
                                                                            clock):
    lists = await world(1000, clock.now())
    aud = await audience(services, lists, ["A"])
    sid, blast = await _tested(services, clock, lists, aud)
    run = await ScheduleRun.get(schedule_id=sid)
    assert run.status == "testing" and run.test_count == 200
    rows = await queued(sid)
    assert Counter(r["blast_id"] for r in rows) == {blast["A"]: 100, blast["B"]: 100}
    assert await MessageShortLink.filter(message__run_id=run.id).count() == 200

    await _click(run.id, blast["A"], 8, clock)
    await _click(run.id, blast["B"], 21, clock)
    clock.advance(minutes=119)
    assert await services.schedules.decide_winners() == 0  # still waiting
    clock.advance(minutes=2)
    assert await services.schedules.decide_winners() == 1

    rows = await queued(sid)
    assert len(rows) == 1000 and len({r["contact_id"] for r in rows}) == 1000
    assert Counter(r["blast_id"] for r in rows) == {blast["A"]: 100, blast["B"]: 900}
    assert await MessageShortLink.filter(message__run_id=run.id).count() == 1000
    run = await ScheduleRun.get(id=run.id)
    assert run.status == "completed" and run.winner_blast_id == blast["B"]
    decision = run.winner_decision
    assert decision["metric"] == "ctr" and decision["winner"] == blast["B"]
    assert decision["manual"] is False and decision["decided_by"] == "scheduler"
    assert decision["variants"][str(blast["A"])] | {} == {
        "sends": 100, "clicks": 8, "revenue": "0", "opt_outs": 0, "score": "0.080000"}
    assert decision["variants"][str(blast["B"])]["score"] == "0.210000"
    assert (await ScheduleBlast.get(id=blast["B"])).is_winner


async def test_a_manual_winner_overrides_the_computed_one(services, clock):
    lists = await world(1000, clock.now())
    aud = await audience(services, lists, ["A"])
    sid, blast = await _tested(services, clock, lists, aud)
    run = await ScheduleRun.get(schedule_id=sid)
    await _click(run.id, blast["A"], 5, clock)
    await _click(run.id, blast["B"], 40, clock)
    clock.advance(minutes=30)
    run = await services.schedules.choose_winner(owner(lists), sid, blast["A"])
    assert run.status == "completed" and run.winner_blast_id == blast["A"]
    assert run.winner_decision["computed_winner"] == blast["B"]
    assert run.winner_decision["manual"] is True
    assert run.winner_decision["decided_by"] == "user:7"
    clock.advance(minutes=200)
    assert await services.schedules.decide_winners() == 0  # decided already
    rows = await queued(sid)
    assert Counter(r["blast_id"] for r in rows) == {blast["A"]: 900, blast["B"]: 100}
