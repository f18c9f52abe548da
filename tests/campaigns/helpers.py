"""Campaign test data: many contacts written the way the importer's bulk path writes
them (tests/audiences/data.py), and schedules built through the service."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from core.permissions import Actor, ActorKind, Role
from core.services import Services
from core.sql import Params, fetch
from tests.audiences.data import Dataset, Lists, Person, Subscription, load, make_lists

ZONES = {"America/New_York": ("NY", "212"), "America/Chicago": ("IL", "312"),
         "America/Denver": ("CO", "303"), "America/Phoenix": ("AZ", "602"),
         "America/Los_Angeles": ("CA", "213")}


def person(i: int, zone: str = "America/New_York") -> Person:
    state, area = ZONES[zone]
    return Person(id=i, phone=f"+1{area}55{i:05d}"[:12], timezone=zone, state=state,
                  area_code=area)


async def world(n: int, now: dt.datetime, *, zones: list[str] | None = None,
                extra: dict[int, dict[str, Any]] | None = None) -> Lists:
    """Two lists of our account (A, B) and one of another (C); contacts 1..n on list A,
    in the given zones round-robin; ``extra`` overrides subscription fields by id."""
    lists = await make_lists()
    zones = zones or ["America/New_York"]
    people = [person(i, zones[i % len(zones)]) for i in range(1, n + 1)]
    subs = [Subscription(id=i, contact_id=i, list_key="A", **(extra or {}).get(i, {}))
            for i in range(1, n + 1)]
    await load(Dataset(people, subs, []), lists, now)
    return lists


def owner(lists: Lists) -> Actor:
    return Actor(account_id=lists.account_id, role=Role.OWNER, kind=ActorKind.USER, user_id=7)


async def audience(services: Services, lists: Lists, keys: list[str],
                   filter: dict[str, Any] | None = None) -> int:
    view = await services.audiences.create(owner(lists), name="aud",
                                           list_ids=[lists.ids[k] for k in keys],
                                           filter=filter)
    return view.id


async def schedule(services: Services, lists: Lists, audience_ids: list[int],
                   **overrides: Any) -> int:
    data: dict[str, Any] = {
        "name": "Spring blast", "list_id": lists.ids["A"], "audience_ids": audience_ids,
        "send_type": "blast", "recurrence": "one_time", "send_date": "2026-03-03",
        "send_time": "10:00", "timezone": "America/New_York",
        "blasts": [{"message": "Hello {{first_name|friend}}", "percent_audience": 100}]}
    data.update(overrides)
    view = await services.schedules.create(owner(lists), data)
    return view.schedule.id


async def queued(schedule_id: int) -> list[dict[str, Any]]:
    p = Params()
    return await fetch("SELECT contact_id, blast_id, run_id, not_before, body, status "
                       f"FROM message_sent WHERE schedule_id = {p(schedule_id)} "
                       "ORDER BY contact_id", p)


def per_blast(rows: list[dict[str, Any]]) -> Counter[int]:
    return Counter(r["blast_id"] for r in rows)
