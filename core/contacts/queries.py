"""Named SQL for the contacts domain: the bulk paths below the ORM.

The CSV import writes thousands of rows per statement: PostgreSQL gets one
``INSERT ... SELECT FROM unnest($1::..[], ...) ON CONFLICT`` per table and batch (arrays
travel in asyncpg's binary protocol, no per-row round trip), SQLite gets ``executemany``
with ``ON CONFLICT``. Every function takes the transaction's connection, so a batch is
written whole or not at all, and both backends are tested.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import get_connection

from core.contacts.models import SubscriptionStatus
from core.messaging.models import MessageEvent, MessageSent, MessageStatus


@dataclass(slots=True)
class ExistingSubscription:
    id: int
    status: str
    first_name: str
    last_name: str
    email: str
    consent_date: dt.datetime | None
    ad_network_source: str
    ad_network_id: str
    custom_fields: dict[str, Any]


# (phone, country_code, line_type, carrier, timezone, state, area_code)
ContactRow = tuple[str, str, str, str, str | None, str | None, str | None]
# (contact_id, signup_date, consent_date, first_name, last_name, email,
#  ad_network_source, ad_network_id, custom_fields)
SubscriptionRow = tuple[int, dt.datetime, dt.datetime | None, str, str, str, str, str,
                        dict[str, Any]]
# (id, first_name, last_name, email, consent_date, ad_network_source, ad_network_id,
#  custom_fields)
SubscriptionUpdate = tuple[int, str, str, str, dt.datetime | None, str, str, dict[str, Any]]
# (line, code, reason, value)
RowErrorRow = tuple[int, str, str, str]


def is_postgres(conn: BaseDBAsyncClient | None = None) -> bool:
    conn = conn or get_connection("default")
    return conn.capabilities.dialect == "postgres"


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _ts(value: dt.datetime | None) -> str | None:
    """SQLite stores datetimes as text the way tortoise writes them."""
    return None if value is None else str(value.astimezone(dt.UTC))


def _from_ts(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# -- contacts -----------------------------------------------------------------------------


async def lookup_contacts(conn: BaseDBAsyncClient, phones: Sequence[str]
                          ) -> dict[str, tuple[int, str]]:
    """phone -> (contact id, line type) for the numbers that already exist."""
    if not phones:
        return {}
    async with conn.acquire_connection() as raw:
        if is_postgres(conn):
            rows = await raw.fetch(
                "SELECT id, phone_number, line_type FROM contact "
                "WHERE phone_number = ANY($1::varchar[])", list(phones))
            return {r["phone_number"]: (r["id"], r["line_type"]) for r in rows}
        cursor = await raw.execute(
            "SELECT id, phone_number, line_type FROM contact "
            "WHERE phone_number IN (SELECT value FROM json_each(?))", (json.dumps(phones),))
        found = await cursor.fetchall()
        await cursor.close()
        return {r[1]: (r[0], r[2]) for r in found}


async def insert_contacts(conn: BaseDBAsyncClient, rows: Sequence[ContactRow],
                          now: dt.datetime) -> dict[str, int]:
    """Create the contacts that do not exist yet; phone -> id for every row given."""
    if not rows:
        return {}
    if is_postgres(conn):
        columns = list(zip(*rows, strict=True))
        async with conn.acquire_connection() as raw:
            await raw.execute(
                "INSERT INTO contact (phone_number, country_code, is_valid, line_type, "
                "carrier, timezone, state, area_code, created_at) "
                "SELECT p, cc, TRUE, lt, ca, tz, st, ac, $8 FROM unnest("
                "$1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[], "
                "$6::varchar[], $7::varchar[]) AS u(p, cc, lt, ca, tz, st, ac) "
                "ON CONFLICT (phone_number) DO NOTHING",
                *[list(c) for c in columns], now)
    else:
        created = _ts(now)
        async with conn.acquire_connection() as raw:
            await raw.executemany(
                "INSERT INTO contact (phone_number, country_code, is_valid, line_type, "
                "carrier, timezone, state, area_code, created_at) "
                "VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?) ON CONFLICT (phone_number) DO NOTHING",
                [(*row, created) for row in rows])
    found = await lookup_contacts(conn, [row[0] for row in rows])
    return {phone: ident for phone, (ident, _) in found.items()}


# -- subscriptions ------------------------------------------------------------------------

_SUB_COLUMNS = ("id, contact_id, status, first_name, last_name, email, consent_date, "
                "ad_network_source, ad_network_id, custom_fields")


async def lookup_subscriptions(conn: BaseDBAsyncClient, list_id: int,
                               contact_ids: Sequence[int]) -> dict[int, ExistingSubscription]:
    """contact id -> its subscription to ``list_id``, for those subscribed (any status)."""
    if not contact_ids:
        return {}
    async with conn.acquire_connection() as raw:
        if is_postgres(conn):
            rows = await raw.fetch(
                f"SELECT {_SUB_COLUMNS} FROM list_contact WHERE sending_list_id = $1 "
                "AND contact_id = ANY($2::bigint[])", list_id, list(contact_ids))
        else:
            cursor = await raw.execute(
                f"SELECT {_SUB_COLUMNS} FROM list_contact WHERE sending_list_id = ? "
                "AND contact_id IN (SELECT value FROM json_each(?))",
                (list_id, json.dumps(list(contact_ids))))
            rows = await cursor.fetchall()
            await cursor.close()
    out = {}
    for r in rows:
        custom = r[9]
        out[r[1]] = ExistingSubscription(
            id=r[0], status=r[2], first_name=r[3], last_name=r[4], email=r[5],
            consent_date=_from_ts(r[6]), ad_network_source=r[7], ad_network_id=r[8],
            custom_fields=json.loads(custom) if isinstance(custom, str | bytes) else
            (custom or {}))
    return out


async def insert_subscriptions(conn: BaseDBAsyncClient, rows: Sequence[SubscriptionRow], *,
                               account_id: int, list_id: int, source: str,
                               now: dt.datetime) -> int:
    """Subscribe contacts (status active, method import, stats zeroed); returns how many
    were inserted (a row another writer created meanwhile is left alone)."""
    if not rows:
        return 0
    active = SubscriptionStatus.ACTIVE.value
    if is_postgres(conn):
        cols = list(zip(*rows, strict=True))
        async with conn.acquire_connection() as raw:
            done = await raw.fetch(
                "INSERT INTO list_contact (account_id, sending_list_id, contact_id, status, "
                "signup_date, signup_method, consent_date, consent_source, first_name, "
                "last_name, email, ad_network_source, ad_network_id, custom_fields, "
                "in_workflow, send_count, click_count, revenue_total, conversion_count, "
                "created_at, updated_at) "
                "SELECT $10, $11, c, $12, sd, 'import', cd, $13, fn, ln, em, ans, ani, "
                "cf::jsonb, FALSE, 0, 0, 0, 0, $14, $14 FROM unnest($1::bigint[], "
                "$2::timestamptz[], $3::timestamptz[], $4::varchar[], $5::varchar[], "
                "$6::varchar[], $7::varchar[], $8::varchar[], $9::text[]) "
                "AS u(c, sd, cd, fn, ln, em, ans, ani, cf) "
                "ON CONFLICT (sending_list_id, contact_id) DO NOTHING RETURNING id",
                *[list(c) for c in cols[:8]], [_json(c) for c in cols[8]],
                account_id, list_id, active, source, now)
            return len(done)
    stamp = _ts(now)
    params = [(account_id, list_id, r[0], active, _ts(r[1]), _ts(r[2]), source, r[3], r[4],
               r[5], r[6], r[7], _json(r[8]), stamp, stamp) for r in rows]
    async with conn.acquire_connection() as raw:
        before = raw.total_changes
        await raw.executemany(
            "INSERT INTO list_contact (account_id, sending_list_id, contact_id, status, "
            "signup_date, signup_method, consent_date, consent_source, first_name, last_name, "
            "email, ad_network_source, ad_network_id, custom_fields, in_workflow, send_count, "
            "click_count, revenue_total, conversion_count, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, 'import', ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, '0', 0, ?, ?) "
            "ON CONFLICT (sending_list_id, contact_id) DO NOTHING", params)
        return raw.total_changes - before


async def update_subscriptions(conn: BaseDBAsyncClient, rows: Sequence[SubscriptionUpdate],
                               now: dt.datetime) -> int:
    """Write changed names, consent dates and custom fields (status is never touched)."""
    if not rows:
        return 0
    if is_postgres(conn):
        cols = list(zip(*rows, strict=True))
        async with conn.acquire_connection() as raw:
            status = await raw.execute(
                "UPDATE list_contact AS lc SET first_name = u.fn, last_name = u.ln, "
                "email = u.em, consent_date = u.cd, ad_network_source = u.ans, "
                "ad_network_id = u.ani, custom_fields = u.cf::jsonb, updated_at = $9 "
                "FROM unnest($1::bigint[], $2::varchar[], $3::varchar[], $4::varchar[], "
                "$5::timestamptz[], $6::varchar[], $7::varchar[], $8::text[]) "
                "AS u(id, fn, ln, em, cd, ans, ani, cf) WHERE lc.id = u.id",
                *[list(c) for c in cols[:7]], [_json(c) for c in cols[7]], now)
            return int(status.split()[-1])
    stamp = _ts(now)
    params = [(r[1], r[2], r[3], _ts(r[4]), r[5], r[6], _json(r[7]), stamp, r[0])
              for r in rows]
    async with conn.acquire_connection() as raw:
        before = raw.total_changes
        await raw.executemany(
            "UPDATE list_contact SET first_name = ?, last_name = ?, email = ?, "
            "consent_date = ?, ad_network_source = ?, ad_network_id = ?, custom_fields = ?, "
            "updated_at = ? WHERE id = ?", params)
        return raw.total_changes - before


# -- import row errors --------------------------------------------------------------------


async def insert_row_errors(conn: BaseDBAsyncClient, job_id: int,
                            rows: Sequence[RowErrorRow]) -> None:
    if not rows:
        return
    clipped = [(job_id, line, code[:32], reason[:300], value[:200])
               for line, code, reason, value in rows]
    async with conn.acquire_connection() as raw:
        if is_postgres(conn):
            await raw.copy_records_to_table(
                "import_row_error", records=clipped,
                columns=["job_id", "line", "code", "reason", "value"])
        else:
            await raw.executemany(
                "INSERT INTO import_row_error (job_id, line, code, reason, value) "
                "VALUES (?, ?, ?, ?, ?)", clipped)


# -- queued messages ----------------------------------------------------------------------


async def drop_queued_messages(*, contact_id: int, list_ids: Sequence[int], detail: str,
                               source: str, now: dt.datetime) -> int:
    """Make a contact's QUEUED messages from these lists unsendable (status dropped).

    One conditional UPDATE: a message an executor already claimed is not touched (the
    executor re-checks suppression at claim time). Each dropped message gets an event.
    Runs in the caller's transaction when there is one."""
    if not list_ids:
        return 0
    conn = get_connection("default")
    table = MessageSent._meta.db_table
    dropped, queued = MessageStatus.DROPPED.value, MessageStatus.QUEUED.value
    async with conn.acquire_connection() as raw:
        if is_postgres(conn):
            rows = await raw.fetch(
                f"UPDATE {table} SET status = $1, status_detail = $2, dropped_at = $3, "
                "updated_at = $3 WHERE contact_id = $4 AND status = $5 "
                "AND sending_list_id = ANY($6::int[]) RETURNING id",
                dropped, detail, now, contact_id, queued, list(list_ids))
        else:
            cursor = await raw.execute(
                f"UPDATE {table} SET status = ?, status_detail = ?, dropped_at = ?, "
                "updated_at = ? WHERE contact_id = ? AND status = ? "
                "AND sending_list_id IN (SELECT value FROM json_each(?)) RETURNING id",
                (dropped, detail, _ts(now), _ts(now), contact_id, queued,
                 json.dumps(list(list_ids))))
            rows = await cursor.fetchall()
            await cursor.close()
    ids = [row[0] for row in rows]
    if ids:
        await MessageEvent.bulk_create([
            MessageEvent(message_id=i, status=MessageStatus.DROPPED, detail=detail,
                         source=source, occurred_at=now) for i in ids])
    return len(ids)
