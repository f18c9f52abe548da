"""Automated schedules: the creative selector (core/selection) chooses each contact's
variant in the model's share of a run, once, right after the run's recipients are fixed.

The split numbers recipients in a random order and gives positions 1..k (k the model's
``automated_percent`` of the share) to one placeholder variant; the rest is the control
split, like a blast. Here the model's positions are re-pointed at the variant of the
creative Thompson sampling picked for each contact, and every recipient's decision is
recorded (model: arm, segment, posterior and draw; control: the variant the split gave).

Round trips: one for the statistics snapshot per launch, then per chunk of recipients one
read (positions with the contact's traits), one batched update of the re-pointed
positions and one batched insert of the decisions. Nothing is read per recipient."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from core.campaigns.models import Schedule, ScheduleBlast
from core.compliance.quiet_hours import resolve_zone
from core.creatives.models import MessageCreative
from core.offers.models import Offer
from core.selection.bandit import Candidate, Decision
from core.selection.service import SelectionService, traits_of
from core.sql import Params, execute_many, fetch, placeholders, read_ts

CHUNK = 5000


def model_positions(sendable: int, schedule: Schedule) -> int:
    """How many positions (from 1) the split gives the model: the same arithmetic as
    the split's ``rn * 10000 <= share * cumulative``."""
    share = sendable if not schedule.test_percent else sendable * schedule.test_percent // 100
    return share * (schedule.automated_percent * 100) // 10000


async def candidates(account_id: int, blasts: Sequence[ScheduleBlast]
                     ) -> tuple[list[Candidate], dict[int, int], dict[int, Candidate]]:
    """The creatives among the variants (an inline message is no arm), each with its
    offer's payout as the prior for a new creative and its share as the control weight;
    the variant of each creative; the candidate of each variant."""
    creative_ids = [b.creative_id for b in blasts if b.creative_id is not None]
    creative_bindings: dict[int, dict[str, Any]] = dict(
        await MessageCreative.filter(id__in=creative_ids, account_id=account_id)
        .values_list("id", "link_bindings")) if creative_ids else {}
    offer_of: dict[int, int | None] = {}
    for b in blasts:
        bindings: dict[str, Any] = (creative_bindings.get(b.creative_id) or {}
                                    if b.creative_id is not None else b.link_bindings) or {}
        first: dict[str, Any] = next(iter(bindings.values()), {})
        offer_of[b.id] = first.get("offer_id")
    wanted = [o for o in offer_of.values() if o]
    payouts = dict(await Offer.filter(id__in=wanted, account_id=account_id).values_list(
        "id", "payout")) if wanted else {}
    out: list[Candidate] = []
    blast_of: dict[int, int] = {}
    of_blast: dict[int, Candidate] = {}
    for b in blasts:
        if b.creative_id is None:
            continue
        offer = offer_of[b.id]
        cand = Candidate(b.creative_id, offer,
                         float(payouts[offer]) if offer in payouts else None,
                         float(b.percent_audience))
        of_blast[b.id] = cand
        if b.creative_id not in blast_of:
            blast_of[b.creative_id] = b.id
            out.append(cand)
    return out, blast_of, of_blast


async def choose_creatives(selection: SelectionService, *, run_id: int, schedule: Schedule,
                           blasts: Sequence[ScheduleBlast], sendable: int,
                           now: dt.datetime) -> dict[str, int]:
    """Choose per contact for the model's share of a resolved run; answers how many
    recipients each mode covered."""
    cands, blast_of, of_blast = await candidates(schedule.account_id, blasts)
    done = {"model": 0, "control": 0}
    if not cands:
        return done
    upto = model_positions(sendable, schedule)
    # A run resolved again (a crash while resolving) was given new recipients: the
    # decisions of the first attempt describe nobody's send.
    await selection.forget_run(schedule.account_id, run_id)
    model = await selection.load_model(schedule.account_id)
    fixed_hour = (schedule.send_time.hour
                  if schedule.use_local_time and schedule.send_time is not None else None)
    zones: dict[str, ZoneInfo] = {}
    update = ("UPDATE schedule_recipient SET blast_id = {} WHERE run_id = {} "
              "AND position = {}").format(*placeholders(3))
    after = 0
    while True:
        rows = await _chunk(run_id, after)
        if not rows:
            return done
        after = int(rows[-1]["position"])
        moves: list[tuple[int, int, int]] = []
        decisions: list[tuple[int, Decision, int | None]] = []
        for r in rows:
            zone_name = r["timezone"] or ""
            zone = zones.get(zone_name)
            if zone is None:
                zone = zones[zone_name] = resolve_zone(r["timezone"], schedule.timezone)
            traits = traits_of(
                last_clicked_at=read_ts(r["last_clicked_at"]),
                click_count=int(r["click_count"] or 0), carrier=r["carrier"],
                line_type=r["line_type"],
                local_hour=fixed_hour if fixed_hour is not None else now.astimezone(zone).hour,
                now=now)
            position, blast_id = int(r["position"]), int(r["blast_id"])
            if position <= upto:
                decision = selection.choose(model, cands, traits)
                chosen = blast_of[decision.creative_id]
                if chosen != blast_id:
                    moves.append((chosen, run_id, position))
            elif blast_id in of_blast:
                decision = selection.control(of_blast[blast_id], traits)
            else:
                continue  # an inline variant of the control split: no arm to record
            done[decision.mode] += 1
            decisions.append((int(r["contact_id"]), decision, None))
        await execute_many(update, moves)
        await selection.record(schedule.account_id, decisions, run_id=run_id)


async def _chunk(run_id: int, after: int) -> list[dict[str, Any]]:
    p = Params()
    return await fetch(
        "SELECT r.position, r.contact_id, r.blast_id, lc.last_clicked_at, lc.click_count, "
        "c.carrier, c.line_type, c.timezone FROM schedule_recipient r "
        "JOIN list_contact lc ON lc.id = r.list_contact_id "
        "JOIN contact c ON c.id = r.contact_id "
        f"WHERE r.run_id = {p(run_id)} AND r.position > {p(after)} "
        f"AND r.blast_id IS NOT NULL ORDER BY r.position LIMIT {p(CHUNK)}", p)

