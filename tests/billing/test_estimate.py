"""A campaign's estimate and the monthly spend cap (issue 15, must-show 2 at the core; the
launch wiring calls these two)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import PermissionDenied, SpendCapExceeded
from core.permissions import Role
from tests.billing.helpers import at, start_cycle, use
from tests.factories import make_tenant


async def account_with_usage(services, clock, segments: int):
    clock.set(at(2026, 3, 10))
    tenant = await make_tenant(services)
    await start_cycle(tenant.account.id, at(2026, 3, 1, 0))
    if segments:
        await use(tenant.account.id, segments, at(2026, 3, 5))
    return tenant


async def test_the_estimate_counts_the_free_tier_left_this_month(services, clock):
    tenant = await account_with_usage(services, clock, 200)
    est = await services.billing.estimate_campaign(tenant.account.id, recipients=1000,
                                                   segments_per_message=2)
    # 2,000 segments: 300 still free this month, 1,700 at $0.0045.
    assert (est.segments, est.cost, est.cost_cents) == (2000, Decimal("7.6500"),
                                                        Decimal("7.65"))
    assert [(x.kind, x.segments) for x in est.lines] == [("free", 300), ("usage", 1700)]


async def test_the_estimate_crosses_the_tier_boundary(services, clock):
    tenant = await account_with_usage(services, clock, 999_000)
    est = await services.billing.estimate_campaign(tenant.account.id, recipients=1500,
                                                   segments_per_message=2)
    assert [(x.segments, x.unit_price) for x in est.lines] == [
        (1_000, Decimal("0.0045")), (2_000, Decimal("0.0030"))]
    assert est.cost == Decimal("10.5000")


async def test_a_launch_over_the_cap_is_refused_with_the_numbers_and_one_under_goes(
        services, clock):
    tenant = await account_with_usage(services, clock, 10_500)
    [invoice] = await services.billing.run_billing(tenant.account.id)  # 10k threshold
    assert invoice.total == Decimal("45.00")  # 10,500 - 500 free, x 0.0045 = 45.00
    await services.billing.set_spend_cap(tenant.owner, Decimal("100"))
    under = await services.billing.estimate_campaign(tenant.account.id, 5_000, 2)
    assert under.cost_cents == Decimal("45.00")
    await services.billing.check_spend_cap(tenant.account.id, under)  # 90.00 <= 100
    over = await services.billing.estimate_campaign(tenant.account.id, 6_200, 2)
    with pytest.raises(SpendCapExceeded) as refused:
        await services.billing.check_spend_cap(tenant.account.id, over)
    err = refused.value
    assert (err.estimate, err.cap, err.month_spent, err.segments) == (
        Decimal("55.80"), Decimal("100.00"), Decimal("45.00"), 12_400)
    assert err.code == "spend_cap_exceeded" and "100.00" in err.message
    # Unbilled usage counts toward the month as well.
    await use(tenant.account.id, 2_000, at(2026, 3, 9))
    assert await services.billing.month_spent(tenant.account.id) == Decimal("54.00")
    await services.billing.check_spend_cap(tenant.account.id, under)  # 99.00 <= 100
    more = await services.billing.estimate_campaign(tenant.account.id, 5_300, 2)
    with pytest.raises(SpendCapExceeded) as refused:  # 54.00 + 47.70
        await services.billing.check_spend_cap(tenant.account.id, more)
    assert refused.value.estimate == Decimal("47.70")
    # No cap: anything goes; only an owner sets one, and the trail says who did.
    await services.billing.set_spend_cap(tenant.owner, None)
    await services.billing.check_spend_cap(tenant.account.id, over)
    member = tenant.owner.__class__(account_id=tenant.account.id, role=Role.MEMBER,
                                    kind=tenant.owner.kind)
    with pytest.raises(PermissionDenied):
        await services.billing.set_spend_cap(member, Decimal("5"))
    trail = await services.audit.list(tenant.owner, action="billing.spend_cap")
    assert [e.changes for e in trail.items] == [{"from": "100.00", "to": None},
                                                {"from": None, "to": "100.00"}]
