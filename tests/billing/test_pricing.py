"""The plan's arithmetic, without a database."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from core.billing.pricing import (
    DEFAULT_PLAN,
    Position,
    estimate,
    next_threshold,
    price_segments,
    thresholds_crossed,
    to_cents,
)


def test_free_allowance_then_first_tier():
    lines = price_segments(800, at=Position(0, 0))
    assert [(x.kind, x.segments, x.amount) for x in lines] == [
        ("free", 500, Decimal(0)), ("usage", 300, Decimal("1.3500"))]


def test_a_batch_across_the_million_is_priced_on_both_sides():
    lines = price_segments(30_000, at=Position(month=600, cycle=990_000))
    assert [(x.segments, x.unit_price, x.amount) for x in lines] == [
        (10_000, Decimal("0.0045"), Decimal("45.0000")),
        (20_000, Decimal("0.0030"), Decimal("60.0000"))]


def test_estimate_with_a_position_is_the_marginal_cost_and_without_the_list_price():
    assert estimate(1000, at=Position(month=200, cycle=200)) == Decimal("3.1500")  # 300 free
    assert estimate(3) == Decimal("0.013500")  # what one message row carries


def test_rounding_is_half_up_to_the_cent_once():
    assert to_cents(Decimal("20.005")) == Decimal("20.01")
    assert to_cents(Decimal("20.0035")) == Decimal("20.00")


def test_thresholds_follow_the_steps_of_the_plan():
    assert [next_threshold(x) for x in (0, 9_999, 10_000, 95_000, 100_000, 499_999, 500_000,
                                        6_999_999, 7_000_000)] == [
        10_000, 10_000, 20_000, 100_000, 150_000, 500_000, 600_000, 7_000_000, 8_000_000]
    assert thresholds_crossed(5_000, 9_999) is None
    assert thresholds_crossed(5_000, 35_000) == 30_000  # one invoice for several


@given(st.integers(0, 3_000_000), st.integers(0, 2_000), st.integers(0, 2_000_000))
def test_splitting_a_batch_never_changes_its_price(segments, month, cycle):
    whole = price_segments(segments, at=Position(month, cycle))
    half = segments // 2
    first = price_segments(half, at=Position(month, cycle))
    second = price_segments(segments - half, at=Position(month + half, cycle + half))
    total = sum(x.amount for x in whole)
    assert total == sum(x.amount for x in first + second)
    assert sum(x.segments for x in whole) == segments
    assert total <= DEFAULT_PLAN.tiers[0].price * segments
