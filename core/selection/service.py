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
    segments,
)
from core.selection.models import SelectionDecision, SelectionStat
from core.sql import Params, execute, fetch

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
            "creative_id", "dimension", "value", "sends", "clicks", "conversions", "revenue")
        stats = {(c, dim, value): ArmStats(float(s), float(k), float(v), float(r))
                 for c, dim, value, s, k, v, r in rows}
        return Model(stats)

    def choose(self, model: Model, candidates: Sequence[Candidate], traits: Traits, *,
               automated_percent: float = 100.0, two_step: bool = False) -> Decision:
        return decide(candidates, traits, model, rng=self.rng,
                      automated_percent=automated_percent, two_step=two_step)

    async def record(self, account_id: int,
                     decisions: Sequence[tuple[int, Decision, int | None]]) -> None:
        """Store each send's decision: (contact id, decision, message id)."""
        if not decisions:
            return
        now = self.clock.now()
        rows = []
        for contact_id, d, message_id in decisions:
            seg = dict(part.split("=", 1) for part in d.segment.split("|"))
            rows.append(SelectionDecision(
                account_id=account_id, contact_id=contact_id, creative_id=d.creative_id,
                message_id=message_id, offer_id=d.offer_id, mode=d.mode,
                **{col: seg.get(dim, "")[:48] for dim, col in _SEG_COLUMNS.items()},
                draw=d.draw, offer_draw=d.offer_draw,
                posterior=d.posterior.as_json() if d.posterior else {}, decided_at=now))
        await SelectionDecision.bulk_create(rows)

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
        p = Params()

        def source(extra: str = "") -> str:
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
        parts = [f"SELECT ms.creative_id AS creative_id, '{OVERALL}' AS dimension, "
                 f"'{OVERALL}' AS value, {measures} {source()} GROUP BY ms.creative_id"]
        for dim, col in _SEG_COLUMNS.items():
            parts.append(
                f"SELECT ms.creative_id AS creative_id, '{dim}' AS dimension, d.{col} AS value, "
                f"{measures} "
                f"{source('JOIN selection_decision d ON d.message_id = ms.id ')}"
                f" GROUP BY ms.creative_id, d.{col}")
        rows = await fetch(" UNION ALL ".join(parts), p)
        async with in_transaction():
            q = Params()
            await execute(f"DELETE FROM selection_stat WHERE account_id = {q(account_id)}", q)
            await SelectionStat.bulk_create([SelectionStat(
                account_id=account_id, creative_id=r["creative_id"],
                dimension=r["dimension"], value=r["value"], sends=r["sends"],
                clicks=r["clicks"], conversions=r["conversions"],
                revenue=Decimal(str(r["revenue"])), refreshed_at=now) for r in rows])
        return len(rows)

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
