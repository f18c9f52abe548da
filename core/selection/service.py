"""Creative selection against the database: the statistics snapshot (one query), the
decision record, and the scheduled refresh that rebuilds the snapshot from sends, counted
clicks and attributed conversions.

The API the send paths use::

    model = await selection.load_model(account_id)          # once per batch or run
    decision = selection.choose(model, candidates, traits, automated_percent=...)
    ... enqueue the message ...
    await selection.record(account_id, [(contact_id, decision, message_id)])

or, for one contact, ``await selection.select_creative(...)`` which does all three but
the enqueue (``message_id`` may be given when known, else recorded as null).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import numpy as np
from tortoise.transactions import in_transaction

from core.clock import Clock
from core.selection.bandit import (
    DIMENSIONS,
    OVERALL,
    ArmStats,
    Candidate,
    Decision,
    Model,
    Traits,
    decide,
    fit_segments,
    segment_key,
    segments,
)
from core.selection.models import SelectionDecision, SelectionStat
from core.sql import Params, execute, fetch, ts

# How far back the refresh looks for launch decisions whose message is not linked yet.
LINK_WINDOW = dt.timedelta(days=7)

_SEG_COLUMNS = {dim: f"seg_{dim}" for dim in DIMENSIONS}


def traits_of(*, last_clicked_at: dt.datetime | None, click_count: int, carrier: str | None,
              line_type: str | None, local_hour: int, now: dt.datetime) -> Traits:
    days = None if last_clicked_at is None else max((now - last_clicked_at).days, 0)
    return Traits(days, click_count, carrier, line_type, local_hour)


class SelectionService:
    def __init__(self, *, clock: Clock, seed: int | None = None) -> None:
        self.clock = clock
        self.rng = np.random.default_rng(seed)

    async def load_model(self, account_id: int) -> Model:
        """The account's snapshot, ready to sample: one query."""
        rows = await SelectionStat.filter(account_id=account_id).values_list(
            "creative_id", "dimension", "value", "sends", "clicks", "conversions", "revenue",
            "click_exposure", "conversion_exposure")
        stats = {(c, dim, value): ArmStats(float(s if ce is None else ce), float(k),
                                           float(v), float(r),
                                           None if ve is None else float(ve))
                 for c, dim, value, s, k, v, r, ce, ve in rows}
        return Model(stats)

    def choose(self, model: Model, candidates: Sequence[Candidate], traits: Traits, *,
               automated_percent: float = 100.0, two_step: bool = False) -> Decision:
        return decide(candidates, traits, model, rng=self.rng,
                      automated_percent=automated_percent, two_step=two_step)

    def control(self, candidate: Candidate, traits: Traits) -> Decision:
        """The decision for a contact the control split already gave ``candidate``."""
        return Decision(candidate.creative_id, candidate.offer_id, "control",
                        segment_key(segments(traits)), None, None)

    async def record(self, account_id: int,
                     decisions: Sequence[tuple[int, Decision, int | None]], *,
                     run_id: int | None = None) -> None:
        """Store each send's decision: (contact id, decision, message id). A launch
        records before its messages exist: it names its run, and the refresh links each
        decision to the run's message for that contact."""
        if not decisions:
            return
        now = self.clock.now()
        rows = []
        for contact_id, d, message_id in decisions:
            seg = dict(part.split("=", 1) for part in d.segment.split("|"))
            rows.append(SelectionDecision(
                account_id=account_id, contact_id=contact_id, creative_id=d.creative_id,
                message_id=message_id, run_id=run_id, offer_id=d.offer_id, mode=d.mode,
                **{col: seg.get(dim, "")[:48] for dim, col in _SEG_COLUMNS.items()},
                draw=d.draw, offer_draw=d.offer_draw,
                posterior=d.posterior.as_json() if d.posterior else {}, decided_at=now))
        await SelectionDecision.bulk_create(rows, batch_size=2000)

    async def forget_run(self, account_id: int, run_id: int) -> int:
        """Drop a run's decisions: a run resolved again after a crash chooses afresh."""
        return await SelectionDecision.filter(account_id=account_id, run_id=run_id).delete()

    async def select_creative(self, *, account_id: int, contact_id: int, traits: Traits,
                              candidates: Sequence[Candidate], model: Model | None = None,
                              automated_percent: float = 100.0, two_step: bool = False,
                              message_id: int | None = None) -> Decision:
        """Choose a creative for one contact and record how it was chosen."""
        model = model or await self.load_model(account_id)
        decision = self.choose(model, candidates, traits, automated_percent=automated_percent,
                               two_step=two_step)
        await self.record(account_id, [(contact_id, decision, message_id)])
        return decision

    async def refresh(self, account_id: int) -> int:
        """Rebuild the account's snapshot; returns how many rows it holds. Sends count
        once out (``sent_at``); a click is the counted human click; a conversion is a
        clicked message with an attributed conversion, its revenue their sum."""
        now = self.clock.now()
        await self._link_run_messages(account_id, now)

        def source(p: Params, extra: str = "") -> str:
            # Each part names the account afresh: SQLite's ? placeholders are positional.
            return (
                "FROM message_sent ms "
                "LEFT JOIN message_click mc ON mc.message_id = ms.id "
                "LEFT JOIN (SELECT message_id, sum(revenue) AS revenue FROM conversion "
                f"WHERE account_id = {p(account_id)} AND attributed "
                "AND message_id IS NOT NULL GROUP BY message_id) cv "
                f"ON cv.message_id = ms.id AND mc.id IS NOT NULL {extra}"
                f"WHERE ms.account_id = {p(account_id)} AND ms.creative_id IS NOT NULL "
                "AND ms.sent_at IS NOT NULL")

        measures = ("count(*) AS sends, count(mc.id) AS clicks, count(cv.message_id) AS "
                    "conversions, coalesce(sum(cv.revenue), 0) AS revenue")
        p = Params()
        overall = await fetch(
            f"SELECT ms.creative_id AS creative_id, {measures} {source(p)} "
            "GROUP BY ms.creative_id", p)
        # The full cross of the five segments (a few thousand cells per creative at
        # most): the lifts are fitted jointly from it (bandit.fit_segments).
        cols = ", ".join(f"d.{col}" for col in _SEG_COLUMNS.values())
        q = Params()
        cell_rows = await fetch(
            f"SELECT ms.creative_id AS creative_id, {cols}, {measures} "
            f"{source(q, 'JOIN selection_decision d ON d.message_id = ms.id ')} "
            f"GROUP BY ms.creative_id, {cols}", q)
        cells: dict[tuple[int, tuple[tuple[str, str], ...]], ArmStats] = {}
        raw: dict[tuple[int, str, str], int] = {}
        for r in cell_rows:
            seg = tuple((dim, str(r[col])) for dim, col in _SEG_COLUMNS.items())
            cells[(int(r["creative_id"]), seg)] = ArmStats(
                float(r["sends"]), float(r["clicks"]), float(r["conversions"]),
                float(r["revenue"] or 0))
            for dim, value in seg:
                key = (int(r["creative_id"]), dim, value)
                raw[key] = raw.get(key, 0) + int(r["sends"])
        fitted = fit_segments(cells)
        stats = [SelectionStat(
            account_id=account_id, creative_id=r["creative_id"], dimension=OVERALL,
            value=OVERALL, sends=r["sends"], clicks=r["clicks"], conversions=r["conversions"],
            revenue=Decimal(str(r["revenue"] or 0)), refreshed_at=now) for r in overall]
        stats += [SelectionStat(
            account_id=account_id, creative_id=creative, dimension=dim, value=value,
            sends=raw[(creative, dim, value)], clicks=round(s.clicks),
            conversions=round(s.conversions), revenue=Decimal(str(round(s.revenue, 4))),
            click_exposure=s.sends, conversion_exposure=s.trials, refreshed_at=now)
            for (creative, dim, value), s in fitted.items() if dim != OVERALL]
        async with in_transaction():
            q = Params()
            await execute(f"DELETE FROM selection_stat WHERE account_id = {q(account_id)}", q)
            await SelectionStat.bulk_create(stats, batch_size=2000)
        return len(stats)

    async def _link_run_messages(self, account_id: int, now: dt.datetime) -> int:
        """Point recent launch decisions at the message their run queued for the contact
        (the outbox's unique key), once it exists; a cancelled run's stay unlinked."""
        p = Params()  # placeholders in the order they appear: SQLite's ? are positional
        match = ("FROM message_sent ms WHERE ms.run_id = selection_decision.run_id "
                 "AND ms.contact_id = selection_decision.contact_id")
        return await execute(
            f"UPDATE selection_decision SET message_id = (SELECT ms.id {match}) "
            f"WHERE account_id = {p(account_id)} AND message_id IS NULL AND run_id IS NOT "
            f"NULL AND decided_at >= {p(ts(now - LINK_WINDOW))} AND EXISTS (SELECT 1 {match})",
            p)

    async def refresh_all(self) -> int:
        """Every account that uses the selector: the scheduled job."""
        accounts = {a for (a,) in await SelectionDecision.all().distinct().values_list(
            "account_id")} | {a for (a,) in await SelectionStat.all().distinct().values_list(
            "account_id")}
        total = 0
        for account_id in sorted(accounts):
            total += await self.refresh(account_id)
        return total


__all__ = ["SelectionService", "segments", "traits_of"]
