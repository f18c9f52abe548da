"""Prices per segment (PRODUCT.md section 7), pure: no database.

A plan is data (core.billing.models.PricePlan); :data:`DEFAULT_PLAN` is PRODUCT.md's.

The rounding rule, stated once: a line's amount is exact (segments x unit price, which
has at most 6 decimal places, so nothing is rounded there); an invoice's total is the sum
of its lines plus the platform fee, rounded once, half up, to the cent (:func:`to_cents`).

Where a segment falls: the first ``free_segments`` of each calendar month (UTC) are free;
the tiers count every segment of the rolling cycle, free ones included (the millionth
segment of the cycle is the last one at the first tier's price)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
FIRST_TIER_PRICE = Decimal("0.0045")  # per segment, first 1,000,000 in a 360-day cycle


def to_cents(amount: Decimal) -> Decimal:
    """The one rounding of money that is charged: half up, to the cent."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Tier:
    up_to: int | None  # cumulative segments of the cycle this price runs to; None: no end
    price: Decimal


@dataclass(frozen=True)
class Plan:
    code: str
    free_segments: int
    tiers: tuple[Tier, ...]
    cycle_days: int
    platform_fee: Decimal
    fee_waiver_segments: int

    @classmethod
    def from_row(cls, code: str, free_segments: int, tiers: Sequence[Mapping[str, Any]],
                 cycle_days: int, platform_fee: Decimal, fee_waiver_segments: int) -> Plan:
        return cls(code=code, free_segments=free_segments,
                   tiers=tuple(Tier(t.get("up_to"), Decimal(str(t["price"]))) for t in tiers),
                   cycle_days=cycle_days, platform_fee=Decimal(platform_fee),
                   fee_waiver_segments=fee_waiver_segments)

    def tiers_json(self) -> list[dict[str, Any]]:
        return [{"up_to": t.up_to, "price": str(t.price)} for t in self.tiers]


DEFAULT_PLAN = Plan(
    code="default", free_segments=500,
    tiers=(Tier(1_000_000, FIRST_TIER_PRICE), Tier(None, Decimal("0.0030"))),
    cycle_days=360, platform_fee=Decimal("19.99"), fee_waiver_segments=1_000_000,
)


@dataclass(frozen=True)
class Position:
    """How many segments came before, billed, in the same calendar month and cycle."""

    month: int = 0
    cycle: int = 0


@dataclass(frozen=True)
class PricedLine:
    kind: str  # free | usage
    segments: int
    unit_price: Decimal
    amount: Decimal  # exact

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "segments": self.segments,
                "unit_price": str(self.unit_price), "amount": str(self.amount)}


def price_segments(segments: int, *, at: Position, plan: Plan = DEFAULT_PLAN
                   ) -> list[PricedLine]:
    """``segments`` that follow ``at``, split into the free allowance and one line per
    tier they touch (a batch crossing the boundary gets a line on each side)."""
    lines: list[PricedLine] = []
    free = min(max(plan.free_segments - at.month, 0), segments)
    if free:
        lines.append(PricedLine("free", free, Decimal(0), Decimal(0)))
    position, rest = at.cycle + free, segments - free
    for tier in plan.tiers:
        if rest <= 0:
            break
        if tier.up_to is not None and position >= tier.up_to:
            continue
        n = rest if tier.up_to is None else min(rest, tier.up_to - position)
        lines.append(PricedLine("usage", n, tier.price, tier.price * n))
        position += n
        rest -= n
    return lines


def estimate(segments: int, *, at: Position | None = None, plan: Plan = DEFAULT_PLAN
             ) -> Decimal:
    """What ``segments`` cost.

    With ``at`` (the account's month and cycle so far; core.billing.service finds it),
    the real marginal cost: free allowance and tier boundaries included. Without it, the
    list price a single message carries on its row: the plan's first paid tier."""
    if at is None:
        return (plan.tiers[0].price * segments).quantize(Decimal("0.000001"))
    return sum((line.amount for line in price_segments(segments, at=at, plan=plan)),
               Decimal(0))


def thresholds_crossed(before: int, after: int) -> int | None:
    """The highest charging threshold in (before, after], or None: every 10k segments
    under 100k, every 50k to 500k, every 100k to 7M, every 1M beyond."""
    found = None
    t = next_threshold(before)
    while t <= after:
        found = t
        t = next_threshold(t)
    return found


def next_threshold(segments: int) -> int:
    """The first threshold strictly above ``segments``."""
    for step, limit in ((10_000, 100_000), (50_000, 500_000), (100_000, 7_000_000)):
        if segments < limit:
            return (segments // step + 1) * step
    return (segments // 1_000_000 + 1) * 1_000_000
