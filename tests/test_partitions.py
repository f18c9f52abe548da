"""Monthly partitions on PostgreSQL (core/system/partitions.py, issue 17): the upkeep job
keeps months created ahead and moves rows the DEFAULT partition caught; retention drops
whole old months of messages, events and raw clicks; the per-partition unique keys still
make a duplicate insert do nothing; and the hot queries' plans use their indexes and
prune partitions (bench/plans.py runs the same on 10 million messages).

Dates are explicit (years 2040-2045) so nothing here meets another test's rows."""

from __future__ import annotations

import datetime as dt

import pytest
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from bench import plans
from core.clock import FakeClock
from core.system import partitions
from core.system.service import SystemService
from tests.conftest import IS_POSTGRES

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="SQLite keeps plain tables")

TABLES = [spec.table for spec in partitions.PARTITIONED]


def _client():
    return Tortoise.get_connection("default")


async def _where(table: str, column: str, value: object) -> list[str]:
    rows = await _client().execute_query_dict(
        f"SELECT tableoid::regclass::text AS part FROM {table} WHERE {column} = $1", [value])
    return [r["part"] for r in rows]


async def _message(mid: int, queued_at: dt.datetime, *, run_id: int | None = None,
                   contact_id: int = 1, public_id: str | None = None) -> int:
    """A message row (foreign keys unchecked: plans and partitions do not need them)."""
    rows = await _unchecked(
        "INSERT INTO message_sent (id, public_id, account_id, sending_list_id, contact_id, "
        "run_id, to_number, from_number, body, segments, encoding, price, provider, status, "
        "attempts, transactional, is_reply, queued_at, updated_at) VALUES ($1, $2, 1, 1, $3, "
        "$4, '+15550001', '+15550002', 'hi', 1, 'GSM-7', 0, 'twilio', 'queued', 0, false, "
        "false, $5, $5) ON CONFLICT DO NOTHING RETURNING id",
        [mid, public_id or f"p{mid:07d}", contact_id, run_id, queued_at])
    return len(rows)


async def _unchecked(sql: str, values: list) -> list[dict]:
    """Foreign keys not checked (SET LOCAL: this transaction only, whichever pooled
    connection it runs on): the rows' accounts, lists and contacts need not exist."""
    async with in_transaction() as tx:
        await tx.execute_script("SET LOCAL session_replication_role = replica")
        return await tx.execute_query_dict(sql, values)


def at(year: int, month: int, day: int = 10) -> dt.datetime:
    return dt.datetime(year, month, day, 12, tzinfo=dt.UTC)


async def test_upkeep_creates_this_month_and_the_next_three_once(db):
    system = SystemService(clock=FakeClock(at(2040, 11)))
    upkeep = await system.maintain_partitions()
    months = ["p204011", "p204012", "p204101", "p204102"]
    assert sorted(upkeep.created) == sorted(f"{t}_{m}" for t in TABLES for m in months)
    assert (await system.maintain_partitions()).created == []
    assert upkeep.dropped == []  # no retention set


async def _parents() -> None:
    """Account 1, list 1 and contact 1 (a partition attached is checked against them)."""
    from core.accounts.models import Account
    from core.contacts.models import Contact, SendingList

    account = await Account.create(name="Partitions", owner_email="p@example.test")
    await SendingList.create(account=account, phone_number="+15550002", provider="twilio",
                             webhook_token="partitions-token")
    await Contact.create(phone_number="+15550001")


async def test_a_month_not_created_yet_lands_in_default_and_moves_when_created(db):
    await _parents()
    assert await _message(1, at(2042, 6)) == 1
    assert await _where("message_sent", "id", 1) == ["message_sent_default"]
    upkeep = await SystemService(clock=FakeClock(at(2042, 6))).maintain_partitions()
    assert "message_sent_p204206" in upkeep.created
    assert await _where("message_sent", "id", 1) == ["message_sent_p204206"]
    # The moved partition keeps the local unique keys: the same public id is refused.
    assert await _message(2, at(2042, 6, 20), public_id="p0000001") == 0


async def test_a_run_queued_twice_in_one_partition_writes_once(db):
    # A run's messages carry the run's start as queued_at: a restart writing the same
    # recipient again meets the per-partition (run_id, contact_id) key.
    started = at(2043, 3, 31)
    assert await _message(10, started, run_id=7, contact_id=5) == 1
    assert await _message(11, started, run_id=7, contact_id=5) == 0
    assert await _message(12, started, run_id=7, contact_id=6) == 1


async def test_retention_drops_whole_months_of_messages_events_and_clicks(db):
    system = SystemService(clock=FakeClock(at(2044, 1)))
    await system.maintain_partitions()  # 2044-01 .. 2044-04
    conn = _client()
    for month in (1, 2, 3, 4):
        mid = 100 + month
        await _message(mid, at(2044, month))
        await _unchecked(
            "INSERT INTO message_event (message_id, status, source, occurred_at) "
            "VALUES ($1, 'queued', 'outbox', $2)", [mid, at(2044, month)])
        await _unchecked(
            "INSERT INTO message_short_link_click (short_link_id, account_id, message_id, "
            "clicked_at, ip_address, user_agent, is_bot, verdict) VALUES (1, 1, $1, $2, '', "
            "'', false, 'human')", [mid, at(2044, month, 11)])
        await _unchecked(
            "INSERT INTO message_click (click_id, account_id, message_id, contact_id, "
            "short_link_id, clicked_at) VALUES ($1, 1, $2, 1, 1, $3)",
            [f"c{mid}", mid, at(2044, month, 11)])
    await _message(99, at(2043, 5))  # an old row the default partition caught
    # April 15th with two months kept: February and March whole, April running.
    retained = SystemService(clock=FakeClock(at(2044, 4, 15)), retention_months=2)
    upkeep = await retained.maintain_partitions()
    for table in TABLES:
        assert f"{table}_p204401" in upkeep.dropped
        assert f"{table}_p204402" not in upkeep.dropped
        names = [n for n, _ in await partitions.month_partitions(conn, table)]
        assert f"{table}_p204401" not in names and f"{table}_p204402" in names
    kept = await conn.execute_query_dict(
        "SELECT (SELECT array_agg(id ORDER BY id) FROM message_sent) AS m, "
        "(SELECT array_agg(message_id ORDER BY message_id) FROM message_event) AS e, "
        "(SELECT array_agg(message_id ORDER BY message_id) FROM message_short_link_click) "
        "AS r, (SELECT array_agg(message_id ORDER BY message_id) FROM message_click) AS c")
    assert kept[0] == {"m": [102, 103, 104], "e": [102, 103, 104], "r": [102, 103, 104],
                       "c": [102, 103, 104]}


async def test_retention_off_by_default(db):
    from core.settings import Settings

    assert Settings.model_fields["retention_months"].default is None


async def test_hot_query_plans_use_their_indexes_and_prune(db):
    conn = _client()
    messages = 200_000
    start, stop = await plans.populate(conn, messages=messages, months=4,
                                       end=dt.date(2045, 4, 1))
    found = {p.query: p for p in await plans.explain(conn, start, stop, messages)}
    for name, plan in found.items():
        assert plan.seq_scans == (), (name, plan)
        assert plan.indexes, (name, plan)
    assert found["claim"].indexes == ("id_idx",)  # the partial index of queued rows
    assert found["reconcile"].indexes == ("id_idx1",)  # the partial index of sending rows
    assert found["receipt (provider id)"].indexes == ("provider_provider_message_id_idx",)
    assert found["receipt (public id)"].indexes == ("public_id_uniq",)
    assert "account_id_queued_at_idx" in found["list (period)"].indexes
    # A period of a week reads one or two months, not all of them.
    assert found["list (period)"].partitions <= 2 and found["list (period)"].pruned
    assert found["clicks (period)"].partitions <= 2 and found["clicks (period)"].pruned
    assert found["counts (run)"].indexes == ("run_id_contact_id_uniq",)
    assert set(found["queue (metrics)"].indexes) == {"id_idx", "id_idx1"}
