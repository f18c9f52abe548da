"""Contact data for audience tests, written the way the product stores it (raw SQL, as the
importer's bulk path does), so many small datasets can be loaded and replaced quickly."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from core.accounts.models import Account
from core.contacts.models import SendingList
from core.sql import conn, execute_many, is_postgres, placeholders, ts

OWN, OTHER = "own", "other"


@dataclass
class Person:
    id: int
    phone: str
    carrier: str = ""
    line_type: str = "cell"
    timezone: str | None = None
    state: str | None = None
    area_code: str | None = None


@dataclass
class Subscription:
    id: int
    contact_id: int
    list_key: str  # "A", "B" (our account) or "C" (another account)
    status: str = "active"
    signup_method: str = "api"
    signup_date: dt.datetime = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    last_sent_at: dt.datetime | None = None
    last_clicked_at: dt.datetime | None = None
    send_count: int = 0
    click_count: int = 0
    conversion_count: int = 0
    revenue_total: Decimal = Decimal(0)
    last_revenue_at: dt.datetime | None = None
    in_workflow: bool = False
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass
class Block:
    phone: str
    account: str  # OWN or OTHER
    list_key: str | None  # None: the whole account


@dataclass
class Dataset:
    people: list[Person]
    subscriptions: list[Subscription]
    blocks: list[Block]


@dataclass
class Lists:
    """Two accounts: ours with lists A and B, another with list C."""

    account_id: int
    other_account_id: int
    ids: dict[str, int]

    def account_of(self, list_key: str) -> int:
        return self.other_account_id if list_key == "C" else self.account_id


async def make_lists() -> Lists:
    own = await Account.create(name="Acme", owner_email="owner@acme.test")
    other = await Account.create(name="Other", owner_email="owner@other.test")
    ids = {}
    for key, account, number in (("A", own, "+14155550001"), ("B", own, "+14155550002"),
                                 ("C", other, "+14155550003")):
        created = await SendingList.create(account=account, phone_number=number,
                                           provider="simulator", webhook_token=f"tok{key}")
        ids[key] = created.id
    return Lists(own.id, other.id, ids)


async def clear() -> None:
    client = conn()
    for table in ("block", "list_contact", "contact"):
        await client.execute_query(f"DELETE FROM {table}")


def _money(value: Decimal, pg: bool) -> Any:
    quantized = value.quantize(Decimal("0.0001"))
    return quantized if pg else str(quantized)


async def load(data: Dataset, lists: Lists, now: dt.datetime) -> None:
    """Replace the contacts, subscriptions and blocks with ``data``."""
    await clear()
    client = conn()
    pg = is_postgres(client)
    if data.people:
        marks = ", ".join(placeholders(9, client))
        rows = [(p.id, p.phone, "US" if p.area_code else "GB", p.line_type, p.carrier,
                 p.timezone, p.state, p.area_code, ts(now, client)) for p in data.people]
        columns = ("id, phone_number, country_code, line_type, carrier, timezone, state, "
                   "area_code, created_at")
        await execute_many(f"INSERT INTO contact ({columns}, is_valid) VALUES ({marks}, TRUE)",
                           rows, client)
    if data.subscriptions:
        people = {p.id: p for p in data.people}  # state, area_code: copied, as core does
        columns = ("id, account_id, sending_list_id, contact_id, status, signup_date, "
                   "signup_method, first_name, last_name, email, ad_network_source, "
                   "ad_network_id, custom_fields, in_workflow, last_sent_at, last_clicked_at, "
                   "send_count, click_count, revenue_total, conversion_count, "
                   "last_revenue_at, created_at, updated_at, state, area_code")
        count = len(columns.split(","))
        marks = placeholders(count, client)
        if pg:
            marks[12] += "::jsonb"
        rows = [(s.id, lists.account_of(s.list_key), lists.ids[s.list_key], s.contact_id,
                 s.status, ts(s.signup_date, client), s.signup_method, "", "", "", "", "",
                 orjson.dumps(s.custom).decode(), s.in_workflow, ts(s.last_sent_at, client),
                 ts(s.last_clicked_at, client), s.send_count, s.click_count,
                 _money(s.revenue_total, pg), s.conversion_count,
                 ts(s.last_revenue_at, client), ts(now, client), ts(now, client),
                 people[s.contact_id].state, people[s.contact_id].area_code)
                for s in data.subscriptions]
        await execute_many(f"INSERT INTO list_contact ({columns}) VALUES ({', '.join(marks)})",
                           rows, client)
    if data.blocks:
        marks = ", ".join(placeholders(5, client))
        rows = [(lists.account_id if b.account == OWN else lists.other_account_id,
                 lists.ids[b.list_key] if b.list_key else None, b.phone, "test",
                 ts(now, client)) for b in data.blocks]
        await execute_many("INSERT INTO block (account_id, sending_list_id, phone_number, "
                           f"reason, created_at, created_by) VALUES ({marks}, 'test')",
                           rows, client)
