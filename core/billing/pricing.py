"""Prices per segment (PRODUCT.md section 7). The estimate every message carries is the
default plan's first-tier rate; the tiers, free allowance and platform fee belong to the
invoicing the billing work adds."""

from __future__ import annotations

from decimal import Decimal

FIRST_TIER_PRICE = Decimal("0.0045")  # per segment, first 1,000,000 in a 360-day cycle


def estimate(segments: int) -> Decimal:
    """What ``segments`` cost at the standard rate (before free allowance and tiers)."""
    return (FIRST_TIER_PRICE * segments).quantize(Decimal("0.000001"))
