"""Named SQL for the contacts domain: the bulk paths below the ORM.

The CSV import writes thousands of rows per statement. PostgreSQL: COPY (binary) into a
temporary staging table, then one ``INSERT ... SELECT ... ON CONFLICT`` (or ``UPDATE ...
FROM``) per table and batch; lookups join an ``unnest``-ed array. SQLite:
``executemany`` with ``ON CONFLICT``, lookups through ``json_each``. Every function takes
the transaction's connection, so a batch is written whole or not at all; both backends
are tested.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient

from core.contacts.models import SubscriptionStatus
from core.sql import is_postgres, read_ts, sqlite_ts


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
#  ad_network_source, ad_network_id, custom_fields, state, area_code): the last two are
# the contact's as this import read its number (the COPY of new contacts writes them;
# the other paths copy the stored contact's)
SubscriptionRow = tuple[int, dt.datetime, dt.datetime | None, str, str, str, str, str,
                        dict[str, Any], str | None, str | None]
# (id, first_name, last_name, email, consent_date, ad_network_source, ad_network_id,
#  custom_fields)
SubscriptionUpdate = tuple[int, str, str, str, dt.datetime | None, str, str, dict[str, Any]]
# (line, code, reason, value)
RowErrorRow = tuple[int, str, str, str]


def _json(value: dict[str, Any]) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")


# Staging tables live for the session and empty themselves at each commit.
_STAGES = {
    "import_stage_contact": "(p varchar, cc varchar, lt varchar, ca varchar, tz varchar, "
                            "st varchar, ac varchar)",
    "import_stage_subscription": "(c bigint, sd timestamptz, cd timestamptz, fn varchar, "
                                 "ln varchar, em varchar, ans varchar, ani varchar, cf text)",
    "import_stage_update": "(id bigint, fn varchar, ln varchar, em varchar, "
                           "cd timestamptz, ans varchar, ani varchar, cf text)",
}


async def _stage(raw: Any, table: str, records: Sequence[tuple[Any, ...]]) -> None:
    await raw.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} {_STAGES[table]} "
                      "ON COMMIT DELETE ROWS")
    await raw.execute(f"TRUNCATE {table}")
    await raw.copy_records_to_table(table, records=records)


async def relax_durability(conn: BaseDBAsyncClient) -> None:
    """Let this transaction commit without waiting for the WAL flush (PostgreSQL).

    For bulk batches whose loss in a crash costs nothing: the job's counters commit in
    the same transaction, and importing the file again redoes exactly what was lost."""
    if is_postgres(conn):
        async with conn.acquire_connection() as raw:
            await raw.execute("SET LOCAL synchronous_commit TO OFF")


# -- contacts -----------------------------------------------------------------------------


async def lookup_contacts(conn: BaseDBAsyncClient, phones: Sequence[str]
                          ) -> dict[str, tuple[int, str]]:
    """phone -> (contact id, line type) for the numbers that already exist."""
    if not phones:
        return {}
    async with conn.acquire_connection() as raw:
        if is_postgres(conn):
            rows = await raw.fetch(
                "SELECT c.id, c.phone_number, c.line_type FROM unnest($1::varchar[]) AS u(p) "
                "JOIN contact c ON c.phone_number = u.p", list(phones))
            return {r["phone_number"]: (r["id"], r["line_type"]) for r in rows}
        cursor = await raw.execute(
            "SELECT id, phone_number, line_type FROM contact "
            "WHERE phone_number IN (SELECT value FROM json_each(?))", (json.dumps(phones),))
        found = await cursor.fetchall()
        await cursor.close()
        return {r[1]: (r[0], r[2]) for r in found}


async def ensure_contact(conn: BaseDBAsyncClient, row: ContactRow, now: dt.datetime
                         ) -> tuple[int, str, bool]:
    """One contact, created when new: (contact id, stored line type, created by this
    call). The single send's path: one statement and no transaction on PostgreSQL (a
    staging table and COPY cost five round trips for one row), two at most on SQLite."""
    stamp: Any = now if is_postgres(conn) else sqlite_ts(now)
    values = [*row, stamp]
    if is_postgres(conn):
        sql = ("WITH new AS (INSERT INTO contact (phone_number, country_code, is_valid, "
               "line_type, carrier, timezone, state, area_code, created_at) "
               "VALUES ($1, $2, TRUE, $3, $4, $5, $6, $7, $8) "
               "ON CONFLICT (phone_number) DO NOTHING RETURNING id, line_type) "
               "SELECT id, line_type, TRUE AS created FROM new UNION ALL "
               "SELECT id, line_type, FALSE FROM contact "
               "WHERE phone_number = $1 AND NOT EXISTS (SELECT 1 FROM new)")
        for _ in range(2):
            found = await conn.execute_query_dict(sql, values)
            if found:
                return found[0]["id"], found[0]["line_type"], bool(found[0]["created"])
            # Another transaction inserted it meanwhile: our snapshot predates its row,
            # the next statement's does not.
        raise RuntimeError("contact neither inserted nor found")
    created = await conn.execute_query_dict(
        "INSERT INTO contact (phone_number, country_code, is_valid, line_type, carrier, "
        "timezone, state, area_code, created_at) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (phone_number) DO NOTHING RETURNING id, line_type", values)
    if created:
        return created[0]["id"], created[0]["line_type"], True
    existing = await conn.execute_query_dict(
        "SELECT id, line_type FROM contact WHERE phone_number = ?", [row[0]])
    return existing[0]["id"], existing[0]["line_type"], False


@dataclass(frozen=True, slots=True)
class Subscription:
    """What a send reads of a contact's subscription to a list."""

    id: int
    status: str
    first_name: str
    last_name: str
    custom_fields: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A contact as a single send needs it: its id and line type, and its subscription
    to the list (None: not subscribed)."""

    contact_id: int
    line_type: str
    subscription: Subscription | None


async def ensure_subscriber(conn: BaseDBAsyncClient, row: ContactRow, list_id: int,
                            now: dt.datetime) -> Subscriber:
    """One contact, created when new, with its subscription to ``list_id``: the single
    send's path. PostgreSQL: one statement (the upsert of :func:`ensure_contact` joined
    to list_contact; was two). SQLite: :func:`ensure_contact`, then the subscription."""
    if is_postgres(conn):
        sql = ("WITH new AS (INSERT INTO contact (phone_number, country_code, is_valid, "
               "line_type, carrier, timezone, state, area_code, created_at) "
               "VALUES ($1, $2, TRUE, $3, $4, $5, $6, $7, $8) "
               "ON CONFLICT (phone_number) DO NOTHING RETURNING id, line_type), "
               "c AS (SELECT id, line_type FROM new UNION ALL "
               "SELECT id, line_type FROM contact "
               "WHERE phone_number = $1 AND NOT EXISTS (SELECT 1 FROM new)) "
               "SELECT c.id, c.line_type, s.id AS sub_id, s.status, s.first_name, "
               "s.last_name, s.custom_fields FROM c LEFT JOIN list_contact s "
               "ON s.contact_id = c.id AND s.sending_list_id = $9")
        for _ in range(2):
            found = await conn.execute_query_dict(sql, [*row, now, list_id])
            if found:
                return _subscriber(found[0])
            # Another transaction inserted it meanwhile: our snapshot predates its row,
            # the next statement's does not.
        raise RuntimeError("contact neither inserted nor found")
    ident, line_type, _ = await ensure_contact(conn, row, now)
    subscribed = await conn.execute_query_dict(
        "SELECT id AS sub_id, status, first_name, last_name, custom_fields "
        "FROM list_contact WHERE sending_list_id = ? AND contact_id = ?", [list_id, ident])
    return _subscriber({"id": ident, "line_type": line_type, **(
        subscribed[0] if subscribed else {"sub_id": None})})


def _subscriber(row: dict[str, Any]) -> Subscriber:
    if row["sub_id"] is None:
        return Subscriber(row["id"], row["line_type"], None)
    custom = row.get("custom_fields")
    if isinstance(custom, str | bytes):  # asyncpg's jsonb and SQLite's JSON are text
        custom = json.loads(custom)
    return Subscriber(row["id"], row["line_type"], Subscription(
        row["sub_id"], row["status"], row.get("first_name") or "",
        row.get("last_name") or "", custom if isinstance(custom, dict) else None))


async def ensure_contacts(conn: BaseDBAsyncClient, rows: Sequence[ContactRow],
                          now: dt.datetime) -> dict[str, tuple[int, str, bool]]:
    """Create the contacts that do not exist yet. Every row's phone -> (contact id, stored
    line type, created by this call)."""
    if not rows:
        return {}
    out: dict[str, tuple[int, str, bool]] = {}
    if is_postgres(conn):
        async with conn.acquire_connection() as raw:
            await _stage(raw, "import_stage_contact", rows)
            created = await raw.fetch(
                "INSERT INTO contact (phone_number, country_code, is_valid, line_type, "
                "carrier, timezone, state, area_code, created_at) "
                "SELECT p, cc, TRUE, lt, ca, tz, st, ac, $1 FROM import_stage_contact "
                "ON CONFLICT (phone_number) DO NOTHING RETURNING id, phone_number, line_type",
                now)
        out = {r["phone_number"]: (r["id"], r["line_type"], True) for r in created}
        existing = await lookup_contacts(conn, [row[0] for row in rows if row[0] not in out])
        out.update({phone: (ident, kind, False) for phone, (ident, kind) in existing.items()})
        return out
    existing = await lookup_contacts(conn, [row[0] for row in rows])
    out = {phone: (ident, kind, False) for phone, (ident, kind) in existing.items()}
    missing = [row for row in rows if row[0] not in out]
    if missing:
        stamp = sqlite_ts(now)
        async with conn.acquire_connection() as raw:
            await raw.executemany(
                "INSERT INTO contact (phone_number, country_code, is_valid, line_type, "
                "carrier, timezone, state, area_code, created_at) "
                "VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?) ON CONFLICT (phone_number) DO NOTHING",
                [(*row, stamp) for row in missing])
        created = await lookup_contacts(conn, [row[0] for row in missing])
        out.update({phone: (ident, kind, True) for phone, (ident, kind) in created.items()})
    return out


# -- subscriptions ------------------------------------------------------------------------

_SUB_COLUMNS = ("id, contact_id, status, first_name, last_name, email, consent_date, "
                "ad_network_source, ad_network_id, custom_fields")
_SUB_COLUMNS_LC = ", ".join(f"lc.{c.strip()}" for c in _SUB_COLUMNS.split(","))


async def lookup_subscriptions(conn: BaseDBAsyncClient, list_id: int,
                               contact_ids: Sequence[int]) -> dict[int, ExistingSubscription]:
    """contact id -> its subscription to ``list_id``, for those subscribed (any status)."""
    if not contact_ids:
        return {}
    async with conn.acquire_connection() as raw:
        if is_postgres(conn):
            # A join, not "contact_id = ANY(...)": while a big import grows the table
            # faster than statistics follow, the planner may pick the (list, status)
            # index and test every row against the whole array.
            rows = await raw.fetch(
                f"SELECT {_SUB_COLUMNS_LC} FROM unnest($2::bigint[]) AS u(cid) "
                "JOIN list_contact lc ON lc.sending_list_id = $1 AND lc.contact_id = u.cid",
                list_id, list(contact_ids))
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
            consent_date=read_ts(r[6]), ad_network_source=r[7], ad_network_id=r[8],
            custom_fields=orjson.loads(custom) if isinstance(custom, str | bytes) else
            (custom or {}))
    return out


_SUB_INSERT_COLUMNS = [
    "account_id", "sending_list_id", "contact_id", "status", "signup_date", "signup_method",
    "consent_date", "consent_source", "first_name", "last_name", "email",
    "ad_network_source", "ad_network_id", "custom_fields", "in_workflow", "send_count",
    "click_count", "revenue_total", "conversion_count", "created_at", "updated_at",
    "state", "area_code"]


# A contact who said STOP to the whole account (account_opt_out) is subscribed with that
# STOP recorded: the same three columns an inbound STOP writes.
_OPT_OUTS = ("LEFT JOIN account_opt_out o ON o.account_id = {account} "
             "AND o.contact_id = {contact}")
_STATUS = "CASE WHEN o.id IS NULL THEN {active} ELSE 'unsubscribed' END"
_STOP_COLUMNS = "unsubscribe_reason, unsubscribed_at, unsubscribe_keyword"
_STOP_VALUES = "o.reason, o.opted_out_at, o.keyword"


async def insert_subscriptions(conn: BaseDBAsyncClient, rows: Sequence[SubscriptionRow], *,
                               account_id: int, list_id: int, source: str,
                               now: dt.datetime, new_contacts: bool = False) -> int:
    """Subscribe contacts (status active, method import, stats zeroed); returns how many
    were inserted (a row another writer created meanwhile is left alone). A contact under
    an account-wide opt-out gets the subscription with that STOP on it (unsubscribed).

    ``new_contacts``: every contact was created in this very transaction, so nobody else
    can have subscribed it yet, nor opted out, and PostgreSQL can COPY straight into the
    table."""
    if not rows:
        return 0
    active = SubscriptionStatus.ACTIVE.value
    if is_postgres(conn) and new_contacts:
        async with conn.acquire_connection() as raw:
            await raw.copy_records_to_table("list_contact", columns=_SUB_INSERT_COLUMNS,
                                            records=[
                (account_id, list_id, r[0], active, r[1], "import", r[2], source, r[3],
                 r[4], r[5], r[6], r[7], _json(r[8]), False, 0, 0, 0, 0, now, now, r[9],
                 r[10])
                for r in rows])
        return len(rows)
    if is_postgres(conn):
        async with conn.acquire_connection() as raw:
            await _stage(raw, "import_stage_subscription",
                         [(*r[:8], _json(r[8])) for r in rows])
            status = await raw.execute(
                "INSERT INTO list_contact (account_id, sending_list_id, contact_id, status, "
                "signup_date, signup_method, consent_date, consent_source, first_name, "
                "last_name, email, ad_network_source, ad_network_id, custom_fields, "
                "in_workflow, send_count, click_count, revenue_total, conversion_count, "
                f"created_at, updated_at, {_STOP_COLUMNS}, state, area_code) "
                f"SELECT $1, $2, c, {_STATUS.format(active='$3')}, sd, 'import', cd, $4, fn, "
                "ln, em, ans, ani, cf::jsonb, FALSE, 0, 0, 0, 0, $5, $5, "
                f"{_STOP_VALUES}, k.state, k.area_code FROM import_stage_subscription "
                "JOIN contact k ON k.id = c "
                f"{_OPT_OUTS.format(account='$1', contact='c')} "
                "ON CONFLICT (sending_list_id, contact_id) DO NOTHING",
                account_id, list_id, active, source, now)
            return int(status.split()[-1])
    stamp = sqlite_ts(now)
    params = [(account_id, list_id, r[0], active, sqlite_ts(r[1]), sqlite_ts(r[2]), source,
               r[3], r[4], r[5], r[6], r[7], _json(r[8]), stamp, stamp, account_id, r[0], r[0])
              for r in rows]
    async with conn.acquire_connection() as raw:
        before = raw.total_changes
        # The WHERE (any): SQLite needs one to read the ON CONFLICT of an INSERT ... SELECT.
        await raw.executemany(
            "INSERT INTO list_contact (account_id, sending_list_id, contact_id, status, "
            "signup_date, signup_method, consent_date, consent_source, first_name, last_name, "
            "email, ad_network_source, ad_network_id, custom_fields, in_workflow, send_count, "
            f"click_count, revenue_total, conversion_count, created_at, updated_at, "
            f"{_STOP_COLUMNS}, state, area_code) SELECT ?, ?, ?, "
            f"{_STATUS.format(active='?')}, ?, 'import', ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, '0', "
            f"0, ?, ?, {_STOP_VALUES}, k.state, k.area_code FROM contact k "
            f"{_OPT_OUTS.format(account='?', contact='?')} WHERE k.id = ? "
            "ON CONFLICT (sending_list_id, contact_id) DO NOTHING", params)
        return raw.total_changes - before


async def update_subscriptions(conn: BaseDBAsyncClient, rows: Sequence[SubscriptionUpdate],
                               now: dt.datetime) -> int:
    """Write changed names, consent dates and custom fields (status is never touched)."""
    if not rows:
        return 0
    if is_postgres(conn):
        async with conn.acquire_connection() as raw:
            await _stage(raw, "import_stage_update", [(*r[:7], _json(r[7])) for r in rows])
            status = await raw.execute(
                "UPDATE list_contact AS lc SET first_name = u.fn, last_name = u.ln, "
                "email = u.em, consent_date = u.cd, ad_network_source = u.ans, "
                "ad_network_id = u.ani, custom_fields = u.cf::jsonb, updated_at = $1 "
                "FROM import_stage_update AS u WHERE lc.id = u.id", now)
            return int(status.split()[-1])
    stamp = sqlite_ts(now)
    params = [(r[1], r[2], r[3], sqlite_ts(r[4]), r[5], r[6], _json(r[7]), stamp, r[0])
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
