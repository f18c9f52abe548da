"""Prices per segment (PRODUCT.md section 7). The estimate every message carries is the
plan's first-tier rate; invoices apply the tiers over the billing cycle."""

from __future__ import annotations

from decimal import Decimal

FIRST_TIER_PRICE = Decimal("0.0045")  # per segment, first 1,000,000 in a 360-day cycle
SECOND_TIER_PRICE = Decimal("0.0030")
FREE_SEGMENTS_PER_MONTH = 500
PLATFORM_FEE = Decimal("19.99")


def estimate(segments: int) -> Decimal:
    """What ``segments`` cost at the standard rate (before free allowance and tiers)."""
    return (FIRST_TIER_PRICE * segments).quantize(Decimal("0.000001"))
