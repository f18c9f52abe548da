"""Builders for journey tests, through the real services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.journeys.models import JourneyEnrollment, JourneyStatus
from core.services import Services
from tests.contacts.helpers import LIST_NUMBER, make_list
from tests.factories import Tenant, make_tenant

URL = "https://offers.example.com/go?sub={click_id}"


async def setup(services: Services) -> tuple[Tenant, dict[str, int]]:
    """A tenant with a list, three offers and a creative linking to each."""
    tenant = await make_tenant(services)
    sending_list = await make_list(services, tenant)
    # The executor's rate limit sleeps on the clock: with a FakeClock that would move
    # time under the test. This list may send a whole batch at once.
    sending_list.rate_limit_per_minute = 1_000_000
    await sending_list.save(update_fields=["rate_limit_per_minute"])
    creatives = {}
    for key in ("welcome", "b", "c"):
        offer = await services.offers.create(tenant.owner, name=f"Offer {key}",
                                             tracking_url=URL, payout="2.00")
        creative = await services.creatives.create(
            tenant.owner, name=key, body=f"{key.title()} deal {{{{link1}}}}",
            link_bindings={"link1": {"offer_id": offer.id}})
        creatives[key] = creative.id
    return tenant, creatives


def welcome_steps(creatives: dict[str, int]) -> list[dict[str, Any]]:
    """welcome; wait 1 day; clicked? yes: offer B; no: wait until 10:00, then offer C;
    exit."""
    return [
        {"position": 0, "type": "send", "config": {"creative_id": creatives["welcome"]}},
        {"position": 1, "type": "wait", "config": {"days": 1}},
        {"position": 2, "type": "condition", "config": {"test": "clicked"}, "yes": 3,
         "no": 4},
        {"position": 3, "type": "send", "config": {"creative_id": creatives["b"]}, "next": 6},
        {"position": 4, "type": "wait_until", "config": {"time": "10:00"}},
        {"position": 5, "type": "send", "config": {"creative_id": creatives["c"]}},
        {"position": 6, "type": "exit"},
    ]


async def make_journey(services: Services, tenant: Tenant, steps: list[dict[str, Any]], *,
                       trigger: Any = None, activate: bool = True) -> int:
    journey = await services.journeys.create(tenant.owner, name="Welcome",
                                             list_number=LIST_NUMBER, trigger=trigger,
                                             steps=steps)
    if activate:
        await services.journeys.set_status(tenant.owner, journey["id"], JourneyStatus.ACTIVE)
    return int(journey["id"])


async def next_due(journey_id: int) -> dt.datetime | None:
    row = await JourneyEnrollment.filter(journey_id=journey_id, status="active").order_by(
        "next_run_at").first()
    return row.next_run_at if row else None
