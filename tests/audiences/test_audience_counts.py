"""Audience sizes and previews as a user builds them: contacts put on lists through the
API service and CSV imports, counted in the database on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from core.audiences.compiler import Scope
from core.audiences.conditions import parse_filter
from core.audiences.queries import count_audience, sample_audience
from core.contacts.models import ListContact, SubscriptionStatus
from tests.contacts.helpers import make_list, subscribe
from tests.factories import Tenant, make_tenant

LIST_A, LIST_B = "+14155550000", "+14155550001"


def where(*conditions: dict[str, Any], operator: str = "and",
          groups: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"operator": operator, "conditions": list(conditions), "groups": groups or []}


def c(field: str, operator: str, value: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"field": field, "operator": operator}
    if value is not None:
        out["value"] = value
    return out


class Audience:
    """An account's lists and a way to count a filter over some of them."""

    def __init__(self, services: Any, tenant: Tenant, lists: dict[str, int]) -> None:
        self.services = services
        self.tenant = tenant
        self.lists = lists

    def scope(self, *names: str, zone: str = "UTC") -> Scope:
        return Scope(account_id=self.tenant.account.id,
                     list_ids=tuple(self.lists[n] for n in names or ("A",)),
                     now=self.services.clock.now(), zone=ZoneInfo(zone))

    async def size(self, tree: dict[str, Any] | None, *names: str, zone: str = "UTC") -> int:
        return await count_audience(parse_filter(tree), self.scope(*names, zone=zone))

    async def add(self, phone: str, list_number: str = LIST_A, **fields: Any) -> int:
        done = await subscribe(self.services, self.tenant, phone, list_number, **fields)
        return done.list_contact.id


async def audience(services) -> Audience:
    tenant = await make_tenant(services)
    a = await make_list(services, tenant, LIST_A)
    b = await make_list(services, tenant, LIST_B, name="Second")
    return Audience(services, tenant, {"A": a.id, "B": b.id})


async def test_a_csv_35_and_an_api_35_are_both_over_30(services, tmp_path: Path):
    aud = await audience(services)
    await aud.add("+14155550201", custom_fields={"age": 40})
    await aud.add("+14155550202", custom_fields={"age": 25})
    await aud.add("+14155550203", custom_fields={"age": 30.5})
    csv = tmp_path / "ages.csv"
    csv.write_text("phone,age\n4155550211,35\n4155550212, 29\n4155550213,thirty\n"
                   "4155550214,\n", encoding="utf-8")
    job = await services.imports.create_job(aud.tenant.owner, list_number=LIST_A, path=csv,
                                            dry_run=False)
    job = await services.imports.run(job.id)
    assert job.created_count == 4
    stored = {r: v for r, v in await ListContact.filter(
        contact__phone_number="+14155550211").values_list("id", "custom_fields")}
    assert list(stored.values()) == [{"age": "35"}]  # CSV values are text

    assert await aud.size(where(c("custom.age", "gte", 30))) == 3  # 40, 30.5 and "35"
    assert await aud.size(where(c("custom.age", "lt", 30))) == 2  # 25 and " 29"
    assert await aud.size(where(c("custom.age", "eq", 35))) == 1
    assert await aud.size(where(c("custom.age", "in", [25, 35]))) == 2
    # "thirty" is no number: it matches neither side, and the complements count it.
    assert await aud.size(where(c("custom.age", "ne", 35))) == 6
    assert await aud.size(where(c("custom.age", "exists"))) == 6  # not the empty cell
    assert await aud.size(where(c("custom.age", "eq", "THIRTY "))) == 1


async def test_strings_compare_trimmed_and_case_insensitively(services):
    aud = await audience(services)
    await aud.add("+14155550201", custom_fields={"tier": " Gold "})
    await aud.add("+14155550202", custom_fields={"tier": "gold plus"})
    await aud.add("+14155550203", custom_fields={"tier": "Silver"})
    await aud.add("+14155550204", custom_fields={"tier": "   "})
    await aud.add("+14155550205")

    assert await aud.size(where(c("custom.tier", "eq", "GOLD"))) == 1
    assert await aud.size(where(c("custom.tier", "contains", "GOLD"))) == 2
    assert await aud.size(where(c("custom.tier", "in", ["silver", "gold"]))) == 2
    # Complements: the blank and the missing tier are "not gold".
    assert await aud.size(where(c("custom.tier", "ne", "gold"))) == 4
    assert await aud.size(where(c("custom.tier", "not_contains", "gold"))) == 3
    assert await aud.size(where(c("custom.tier", "exists"))) == 3
    assert await aud.size(where(c("custom.tier", "not_exists"))) == 2


async def test_numeric_strings_are_numbers_and_nothing_else_is(services):
    aud = await audience(services)
    numeric = ["35", " 40 ", "-2.5", "+7", "3.0", "007", "\t12.25\n"]
    other = ["1e3", "12abc", ".5", "5.", "1.2.3", "--1", "", "five", "0x10", "١٢"]
    for index, value in enumerate(numeric + other):
        await aud.add(f"+1415555{index:04d}", custom_fields={"n": value})
    await aud.add("+14155559998", custom_fields={"n": True})  # true is not 1
    await aud.add("+14155559999", custom_fields={"n": 1})

    assert await aud.size(where(c("custom.n", "gte", -1000))) == len(numeric) + 1
    assert await aud.size(where(c("custom.n", "eq", 7))) == 2  # "+7" and "007"
    assert await aud.size(where(c("custom.n", "eq", 3))) == 1  # "3.0"
    assert await aud.size(where(c("custom.n", "lt", 0))) == 1
    assert await aud.size(where(c("custom.n", "eq", 1))) == 1


async def test_true_matches_true_and_the_string_true_only(services):
    aud = await audience(services)
    for index, value in enumerate([True, "TRUE", " true ", 1, "yes", "1", False, "false"]):
        await aud.add(f"+1415555{index:04d}", custom_fields={"vip": value})
    await aud.add("+14155559999")

    assert await aud.size(where(c("custom.vip", "eq", True))) == 3
    assert await aud.size(where(c("custom.vip", "eq", False))) == 2
    assert await aud.size(where(c("custom.vip", "ne", True))) == 6


async def test_state_area_code_and_timezone_come_from_the_number(services):
    aud = await audience(services)
    await aud.add("+14155550100")  # San Francisco
    await aud.add("+12125550100")  # New York
    await aud.add("+13125550100")  # Chicago
    await aud.add("+16025550100")  # Phoenix

    assert await aud.size(where(c("state", "eq", "ca"))) == 1
    assert await aud.size(where(c("state", "in", ["NY", " il "]))) == 2
    assert await aud.size(where(c("area_code", "in", [415, "602"]))) == 2
    assert await aud.size(where(c("timezone", "eq", "america/phoenix"))) == 1
    assert await aud.size(where(c("state", "ne", "CA"))) == 3


async def test_two_overlapping_lists_count_each_contact_once(services):
    aud = await audience(services)
    await aud.add("+14155550101", LIST_A)
    await aud.add("+14155550101", LIST_B)  # on both
    await aud.add("+14155550102", LIST_A)
    await aud.add("+14155550103", LIST_B)

    assert await aud.size(None, "A") == 2
    assert await aud.size(None, "B") == 2
    assert await aud.size(None, "A", "B") == 3
    samples = await sample_audience(parse_filter(None), aud.scope("A", "B"), limit=10)
    assert len(samples) == 3
    assert len({s.contact_id for s in samples}) == 3


async def test_any_matching_subscription_puts_the_contact_in(services):
    aud = await audience(services)
    await aud.add("+14155550101", LIST_A, custom_fields={"tier": "gold"})
    on_b = await aud.add("+14155550101", LIST_B, custom_fields={"tier": "silver"})
    await aud.add("+14155550102", LIST_B, custom_fields={"tier": "gold"})

    assert await aud.size(where(c("custom.tier", "eq", "silver")), "A", "B") == 1
    assert await aud.size(where(c("custom.tier", "eq", "gold")), "A", "B") == 2
    # ne tests each subscription: the contact's silver one on B is not gold.
    assert await aud.size(where(c("custom.tier", "ne", "gold")), "A", "B") == 1
    samples = await sample_audience(parse_filter(where(c("custom.tier", "eq", "silver"))),
                                    aud.scope("A", "B"))
    assert [s.list_contact_id for s in samples] == [on_b]


async def test_status_is_a_field_like_any_other(services):
    aud = await audience(services)
    await aud.add("+14155550101")
    gone = await aud.add("+14155550102")
    await services.contacts.unsubscribe(aud.tenant.owner, phone_number="+14155550102",
                                        list_number=LIST_A)
    assert (await ListContact.get(id=gone)).status == SubscriptionStatus.UNSUBSCRIBED

    assert await aud.size(None) == 2
    assert await aud.size(where(c("status", "eq", "Active"))) == 1
    assert await aud.size(where(c("status", "ne", "active"))) == 1


async def test_within_days_follows_the_clock(services, clock):
    aud = await audience(services)
    first = await aud.add("+14155550101")
    second = await aud.add("+14155550102")
    await aud.add("+14155550103")
    now = clock.now()
    await ListContact.filter(id=first).update(last_clicked_at=now - dt.timedelta(days=2))
    await ListContact.filter(id=second).update(last_clicked_at=now - dt.timedelta(days=20))

    recent = where(c("last_clicked_at", "within_days", 7))
    assert await aud.size(recent) == 1
    assert await aud.size(where(c("last_clicked_at", "not_within_days", 7))) == 2
    clock.advance(days=6)
    assert await aud.size(recent) == 0
    assert await aud.size(where(c("last_clicked_at", "within_days", 30))) == 2
    assert await aud.size(where(c("last_clicked_at", "not_exists"))) == 1


async def test_a_date_is_the_whole_day_in_the_accounts_zone(services, clock):
    aud = await audience(services)
    late = await aud.add("+14155550101")
    # 2026-03-02 03:00 UTC is still 1 March in Chicago (21:00).
    await ListContact.filter(id=late).update(
        last_sent_at=dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC))

    after = where(c("last_sent_at", "after", "2026-03-01"))
    assert await aud.size(after, zone="UTC") == 1
    assert await aud.size(after, zone="America/Chicago") == 0
    before = where(c("last_sent_at", "before", "2026-03-02"))
    assert await aud.size(before, zone="America/Chicago") == 1
    exact = where(c("last_sent_at", "after", "2026-03-02T02:59:59Z"))
    assert await aud.size(exact) == 1


async def test_custom_dates_compare_by_day(services, clock):
    aud = await audience(services)
    for index, value in enumerate(["2026-02-01", "2026-02-25T23:00:00Z", " 2026-03-02 ",
                                   "02/01/2026", "2026-13-45x", "2026-02-20"]):
        await aud.add(f"+1415555{index:04d}", custom_fields={"joined": value})

    assert await aud.size(where(c("custom.joined", "before", "2026-02-21"))) == 2
    assert await aud.size(where(c("custom.joined", "after", "2026-02-20"))) == 2
    # The clock is 3 March 2026: within 7 days means from 24 February.
    assert await aud.size(where(c("custom.joined", "within_days", 7))) == 2
    assert await aud.size(where(c("custom.joined", "not_within_days", 7))) == 4


async def test_revenue_fields(services):
    aud = await audience(services)
    none = await aud.add("+14155550101")
    one = await aud.add("+14155550102")
    three = await aud.add("+14155550103")
    await ListContact.filter(id=one).update(revenue_total=Decimal("12.5"), conversion_count=1)
    await ListContact.filter(id=three).update(revenue_total=Decimal("10"), conversion_count=3)
    assert none

    assert await aud.size(where(c("has_revenue", "eq", True))) == 2
    assert await aud.size(where(c("has_revenue", "eq", False))) == 1
    assert await aud.size(where(c("revenue_total", "gte", 12.5))) == 1
    assert await aud.size(where(c("avg_revenue", "gt", 3.3333))) == 2  # 12.5 and 3.33...
    assert await aud.size(where(c("avg_revenue", "lt", 3.3334))) == 1
    assert await aud.size(where(c("avg_revenue", "eq", 12.5))) == 1
    assert await aud.size(where(c("avg_revenue", "not_exists"))) == 1  # no conversions
    assert await aud.size(where(c("avg_revenue", "ne", 12.5))) == 2


async def test_on_dnc_is_a_block_on_that_list_or_the_account(services):
    aud = await audience(services)
    for phone in ("+14155550101", "+14155550102", "+14155550103"):
        await aud.add(phone, LIST_A)
        await aud.add(phone, LIST_B)
    owner = aud.tenant.owner
    await services.compliance.add_block(owner, "+14155550101", list_id=aud.lists["A"])
    await services.compliance.add_block(owner, "+14155550102")  # the whole account
    other = await make_tenant(services, "Other", "owner@other.test")
    await services.compliance.add_block(other.owner, "+14155550103")

    on_dnc = where(c("on_dnc", "eq", True))
    assert await aud.size(on_dnc, "A") == 2
    assert await aud.size(on_dnc, "B") == 1
    assert await aud.size(where(c("on_dnc", "ne", True)), "A", "B") == 2  # 101 via B, 103


async def test_groups_nest_and_an_empty_group_matches_everyone(services):
    aud = await audience(services)
    await aud.add("+14155550101", custom_fields={"tier": "gold", "age": 40})
    await aud.add("+12125550101", custom_fields={"tier": "silver", "age": 20})
    await aud.add("+13125550101", custom_fields={"tier": "bronze"})

    tree = where(c("custom.age", "exists"),
                 groups=[where(c("state", "eq", "CA"), c("custom.tier", "eq", "silver"),
                               operator="or")])
    assert await aud.size(tree) == 2
    deep = where(groups=[where(groups=[where(groups=[where(groups=[where()])])])])
    assert await aud.size(deep) == 3
    assert await aud.size(where(operator="or")) == 3


async def test_another_accounts_lists_are_never_counted(services):
    aud = await audience(services)
    await aud.add("+14155550101")
    other = await make_tenant(services, "Other", "owner@other.test")
    theirs = await make_list(services, other, "+14155550009")
    await subscribe(services, other, "+14155550102", "+14155550009")

    scope = Scope(account_id=aud.tenant.account.id, list_ids=(aud.lists["A"], theirs.id),
                  now=services.clock.now())
    assert await count_audience(parse_filter(None), scope) == 1


async def test_preview_gives_the_first_matching_contacts(services):
    aud = await audience(services)
    ids = [await aud.add(f"+1415555{n:04d}", custom_fields={"n": n}) for n in range(12)]
    tree = parse_filter(where(c("custom.n", "gte", 3)))

    samples = await sample_audience(tree, aud.scope("A"), limit=5)
    assert [s.list_contact_id for s in samples] == ids[3:8]
    assert await sample_audience(tree, aud.scope("A"), limit=0) == []


async def test_a_filter_of_many_long_lists_runs(services):
    # 40 lists of 1,000 values each: more values than SQLite takes parameters (32,766).
    aud = await audience(services)
    await aud.add("+14155550101", custom_fields={"zip": "94107", "n": 7})
    zips = [f"{n:05d}" for n in range(94_000, 95_000)]
    numbers = list(range(1000))
    money = [n / 4 for n in range(1000)]
    tree = where(*[c("custom.zip", "in", zips)] * 20, *[c("custom.n", "in", numbers)] * 19,
                 c("avg_revenue", "not_in", money))
    assert await aud.size(tree) == 1
