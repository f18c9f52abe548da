"""Named SQL of the launch path: resolving a run's recipients in one statement, streaming
them in batches, writing their messages in bulk (COPY on PostgreSQL), and the numbers a
test-then-winner decision reads.

No ORM object per recipient: rows are tuples from the database to the outbox."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import orjson
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.audiences.compiler import Scope, subscriptions_sql
from core.audiences.conditions import Group
from core.messaging.outbox import NewMessage, enqueue
from core.reasons import StatusDetail
from core.sql import Params, conn, execute, fetch, is_postgres, read_ts, sqlite_ts, ts

SKIP_REASONS = ("unsubscribed", "blocked", "in_journey", "frequency_cap", "invalid")


@dataclass(frozen=True)
class Resolve:
    """What decides who a run reaches."""

    audiences: list[tuple[Group, Scope]]
    account_id: int
    sending_list_id: int
    allow_landlines: bool
    frequency_cutoff: dt.datetime | None  # sent since then: skipped (frequency cap)


def _resolve_select(r: Resolve, dialect: str) -> tuple[str, Any]:
    """One row per contact in any of the audiences: (contact_id, list_contact_id, skip),
    ``skip`` the first reason that leaves it out, NULL when it gets the message. The
    subscription a message goes out on is the contact's one to the sending list when it
    has one, else its first matching one."""
    matched, p = subscriptions_sql(
        r.audiences, dialect,
        "lc.id AS lcid, lc.contact_id AS cid, lc.status AS st, lc.in_workflow AS wf")
    account = p(r.account_id)
    sending = p(r.sending_list_id)
    landline = "" if r.allow_landlines else " OR c.line_type = 'landline'"
    cap = ""
    if r.frequency_cutoff is not None:
        cutoff = p(ts_for(dialect, r.frequency_cutoff))
        cap = (f"WHEN EXISTS (SELECT 1 FROM list_contact x WHERE x.contact_id = per.cid "
               f"AND x.account_id = {account} AND x.last_sent_at >= {cutoff}) "
               "THEN 'frequency_cap' ")
    sql = (
        f"WITH matched AS ({matched}), "
        "per AS (SELECT m.cid, min(m.lcid) AS any_lc, "
        "max(CASE WHEN m.st = 'active' THEN 1 ELSE 0 END) AS active, "
        "max(CASE WHEN m.wf THEN 1 ELSE 0 END) AS wf FROM matched m GROUP BY m.cid) "
        "SELECT per.cid AS contact_id, COALESCE(own.id, per.any_lc) AS list_contact_id, "
        f"CASE WHEN NOT c.is_valid{landline} THEN 'invalid' "
        "WHEN per.active = 0 OR own.status = 'unsubscribed' OR EXISTS (SELECT 1 FROM "
        f"account_opt_out o WHERE o.account_id = {account} AND o.contact_id = per.cid) "
        "THEN 'unsubscribed' "
        f"WHEN EXISTS (SELECT 1 FROM block b WHERE b.account_id = {account} "
        "AND b.phone_number = c.phone_number AND (b.sending_list_id IS NULL "
        f"OR b.sending_list_id = {sending})) THEN 'blocked' "
        "WHEN per.wf = 1 OR own.in_workflow THEN 'in_journey' "
        f"{cap}END AS skip "
        "FROM per JOIN contact c ON c.id = per.cid "
        f"LEFT JOIN list_contact own ON own.sending_list_id = {sending} "
        "AND own.contact_id = per.cid")
    return sql, p


def ts_for(dialect: str, value: dt.datetime) -> Any:
    return value.astimezone(dt.UTC) if dialect == "postgres" else sqlite_ts(value)


def _dialect() -> str:
    return conn().capabilities.dialect


async def count_recipients(r: Resolve) -> dict[str | None, int]:
    """The dry run: how many contacts each skip reason leaves out (None: recipients)."""
    select, p = _resolve_select(r, _dialect())
    rows = await conn().execute_query_dict(
        f"SELECT skip, count(*) AS n FROM ({select}) AS r GROUP BY skip", p.params)
    return {row["skip"]: int(row["n"]) for row in rows}


@dataclass(frozen=True)
class Split:
    """How recipients are numbered into variants: recipient k (1-based, in a random
    order) of n sendable ones belongs to the test share when k <= n x test_percent / 100
    (all of them without a test), and within the share of T to the first variant whose
    cumulative share c (in hundredths of a percent) has k x 10000 <= T x c. Each variant
    then gets floor(T c_i / 10000) - floor(T c_(i-1) / 10000): within one contact of its
    share."""

    blasts: list[tuple[int, int]]  # (blast id, cumulative share /10000), the last 10000
    test_percent: int | None


async def resolve_into(run_id: int, r: Resolve, split: Split) -> dict[str | None, int]:
    """Write the run's recipients (one INSERT ... SELECT) and answer the counts by skip
    reason. Sendable recipients are numbered 1..n, skipped ones negatively."""
    select, p = _resolve_select(r, _dialect())
    share = "q.n" if not split.test_percent else f"(q.n * {int(split.test_percent)} / 100)"
    cases = " ".join(f"WHEN q.rn * 10000 <= {share} * {int(c)} THEN {int(b)}"
                     for b, c in split.blasts)
    run = p(run_id)
    sql = (
        "INSERT INTO schedule_recipient (run_id, position, contact_id, list_contact_id, "
        "blast_id, skip_reason) "
        f"SELECT CAST({run} AS INTEGER), "
        "CASE WHEN q.skip IS NULL THEN q.rn ELSE -q.rn END, q.contact_id, "
        f"q.list_contact_id, CASE WHEN q.skip IS NOT NULL THEN NULL {cases} END, q.skip "
        "FROM (SELECT r.contact_id, r.list_contact_id, r.skip, "
        "row_number() OVER (PARTITION BY r.skip IS NULL ORDER BY random()) AS rn, "
        f"count(*) OVER (PARTITION BY r.skip IS NULL) AS n FROM ({select}) AS r) AS q")
    await conn().execute_query(sql, p.params)
    q = Params()
    rows = await fetch("SELECT skip_reason, count(*) AS n FROM schedule_recipient "
                       f"WHERE run_id = {q(run_id)} GROUP BY skip_reason", q)
    return {row["skip_reason"]: int(row["n"]) for row in rows}


async def blast_counts(run_id: int) -> dict[int | None, int]:
    """Sendable recipients per variant (None: waiting for a winner)."""
    p = Params()
    rows = await fetch("SELECT blast_id, count(*) AS n FROM schedule_recipient WHERE "
                       f"run_id = {p(run_id)} AND position > 0 GROUP BY blast_id", p)
    return {row["blast_id"]: int(row["n"]) for row in rows}


@dataclass(frozen=True, slots=True)
class RecipientRow:
    position: int
    contact_id: int
    list_contact_id: int
    blast_id: int | None
    phone: str
    timezone: str | None
    first_name: str
    last_name: str
    custom: dict[str, Any]


async def recipients_after(run_id: int, after: int, upto: int, limit: int
                           ) -> list[RecipientRow]:
    """The next ``limit`` recipients after position ``after`` (at most ``upto``)."""
    p = Params()
    rows = await fetch(
        "SELECT r.position, r.contact_id, r.list_contact_id, r.blast_id, c.phone_number, "
        "c.timezone, lc.first_name, lc.last_name, lc.custom_fields FROM schedule_recipient r "
        "JOIN contact c ON c.id = r.contact_id JOIN list_contact lc ON lc.id = "
        f"r.list_contact_id WHERE r.run_id = {p(run_id)} AND r.position > {p(after)} "
        f"AND r.position <= {p(upto)} ORDER BY r.position LIMIT {p(limit)}", p)
    out = []
    for row in rows:
        custom = row["custom_fields"]
        if isinstance(custom, str | bytes):
            custom = orjson.loads(custom) if custom not in ("", b"", "{}") else {}
        out.append(RecipientRow(row["position"], row["contact_id"], row["list_contact_id"],
                                row["blast_id"], row["phone_number"], row["timezone"],
                                row["first_name"], row["last_name"], custom or {}))
    return out


async def assign_rest(run_id: int, after: int, blast_id: int) -> int:
    p = Params()
    return await execute(f"UPDATE schedule_recipient SET blast_id = {p(blast_id)} WHERE "
                         f"run_id = {p(run_id)} AND position > {p(after)}", p)


# -- writing a batch ----------------------------------------------------------------------

_MESSAGE_COLUMNS = (
    "id", "public_id", "account_id", "sending_list_id", "contact_id", "list_contact_id",
    "creative_id", "offer_id", "schedule_id", "run_id", "blast_id", "to_number",
    "from_number", "body", "segments", "encoding", "price", "provider", "status", "attempts",
    "transactional", "is_reply", "not_before", "queued_at", "updated_at")
_LINK_COLUMNS = ("code", "account_id", "message_id", "contact_id", "offer_id", "link_key",
                 "destination_url", "created_at")


async def write_batch(run_id: int, cursor: int, new_cursor: int,
                      messages: Sequence[NewMessage], now: dt.datetime,
                      queued_at: dt.datetime | None = None) -> bool:
    """Queue one batch and move the run's cursor from ``cursor`` to ``new_cursor`` in
    one transaction: a crash leaves either both or neither. False when the cursor had
    already moved (another worker queued this batch): nothing is written.

    The rows go straight into the tables with the backend's bulk path: COPY on
    PostgreSQL (ids drawn from the sequence first), one prepared INSERT run for every
    row (``executemany``) on SQLite (ids after the table's largest: the transaction
    holds SQLite's one write lock since the cursor's UPDATE). A unique violation (a
    public id or link code drawn twice, a recipient queued already) rolls the batch
    back and it goes through ``outbox.enqueue``, which redraws and skips duplicates.

    ``queued_at`` is the run's own start instant, the same for every batch and after a
    crash-restart: on PostgreSQL message_sent is partitioned by it, and the (run,
    contact) unique index is per partition, so a whole run must land in one
    (core/system/partitions.py)."""
    queued_at = queued_at or now
    if messages:
        try:
            async with in_transaction() as tx:
                if not await _move_cursor(run_id, cursor, new_cursor, len(messages)):
                    return False
                async with tx.acquire_connection() as raw:
                    if is_postgres():
                        await _copy(raw, messages, now, queued_at)
                    else:
                        await _insert_sqlite(raw, messages, now, queued_at)
            return True
        except (asyncpg.UniqueViolationError, sqlite3.IntegrityError, IntegrityError):
            pass
    async with in_transaction():
        if not await _move_cursor(run_id, cursor, new_cursor, len(messages)):
            return False
        await enqueue(list(messages), now=now, queued_at=queued_at)
    return True


async def _move_cursor(run_id: int, cursor: int, new_cursor: int, count: int) -> bool:
    """Only a run still sending takes a batch: a pause (or cancel) commits its status
    first, so a batch written after it finds the run paused and writes nothing, and one
    written before it is committed when the pause holds the run's queued messages (on
    PostgreSQL the pause's UPDATE waits for this row's lock)."""
    p = Params()
    moved = await execute(f"UPDATE schedule_run SET cursor = {p(new_cursor)}, queued_count = "
                          f"queued_count + {p(count)} WHERE id = {p(run_id)} "
                          f"AND cursor = {p(cursor)} AND status = 'sending'", p)
    return moved == 1


_INSERT_MESSAGE = (f"INSERT INTO message_sent ({', '.join(_MESSAGE_COLUMNS)}) VALUES "
                   f"({', '.join('?' * len(_MESSAGE_COLUMNS))})")
_INSERT_LINK = (f"INSERT INTO message_short_link ({', '.join(_LINK_COLUMNS)}) VALUES "
                f"({', '.join('?' * len(_LINK_COLUMNS))})")


async def _insert_sqlite(raw: Any, messages: Sequence[NewMessage], now: dt.datetime,
                         queued_at: dt.datetime) -> None:
    found = await raw.execute("SELECT coalesce(max(id), 0) FROM message_sent")
    first = (await found.fetchone())[0] + 1
    stamp = sqlite_ts(now)
    queued = sqlite_ts(queued_at)
    records = []
    links = []
    for ident, m in enumerate(messages, start=first):
        records.append((ident, m.public_id, m.account_id, m.sending_list_id, m.contact_id,
                        m.list_contact_id, m.creative_id, m.offer_id, m.schedule_id,
                        m.run_id, m.blast_id, m.to_number, m.from_number, m.body, m.segments,
                        m.encoding, str(m.price), m.provider, "queued", 0, False, False,
                        sqlite_ts(m.not_before) if m.not_before else None, queued, stamp))
        links += [(link.code, m.account_id, ident, m.contact_id, link.offer_id, link.link_key,
                   link.destination_url, stamp) for link in m.links]
    await raw.executemany(_INSERT_MESSAGE, records)
    if links:
        await raw.executemany(_INSERT_LINK, links)


async def _copy(raw: Any, messages: Sequence[NewMessage], now: dt.datetime,
                queued_at: dt.datetime) -> None:
    ids = [r[0] for r in await raw.fetch(
        "SELECT nextval(pg_get_serial_sequence('message_sent', 'id')) "
        "FROM generate_series(1, $1)", len(messages))]
    records = []
    links = []
    for ident, m in zip(ids, messages, strict=True):
        records.append((ident, m.public_id, m.account_id, m.sending_list_id, m.contact_id,
                        m.list_contact_id, m.creative_id, m.offer_id, m.schedule_id,
                        m.run_id, m.blast_id, m.to_number, m.from_number, m.body, m.segments,
                        m.encoding, m.price, m.provider, "queued", 0, False, False,
                        m.not_before, queued_at, now))
        links += [(link.code, m.account_id, ident, m.contact_id, link.offer_id, link.link_key,
                   link.destination_url, now) for link in m.links]
    await raw.copy_records_to_table("message_sent", records=records, columns=_MESSAGE_COLUMNS)
    if links:
        await raw.copy_records_to_table("message_short_link", records=links,
                                        columns=_LINK_COLUMNS)


# -- lifecycle ----------------------------------------------------------------------------


async def drop_queued(run_ids: Sequence[int], detail: str, now: dt.datetime) -> int:
    """A cancelled run's messages that no executor has marked sending yet (queued,
    claimed or not, and held by a pause) are dropped with ``detail``."""
    if not run_ids:
        return 0
    p = Params()
    return await execute(
        f"UPDATE message_sent SET status = 'dropped', status_detail = {p(detail)}, "
        f"dropped_at = {p(ts(now))}, updated_at = {p(ts(now))}, claim_token = NULL, "
        f"lease_expires_at = NULL WHERE status IN ('queued', 'held') AND "
        f"{p.isin('run_id', run_ids)}", p)


async def runs_with_queued(schedule_id: int) -> list[int]:
    """The schedule's runs with messages still waiting in the queue (a run is completed
    once all are queued; local-time waves wait there for hours)."""
    p = Params()
    rows = await fetch("SELECT DISTINCT run_id FROM message_sent WHERE schedule_id = "
                       f"{p(schedule_id)} AND status = 'queued' AND run_id IS NOT NULL", p)
    return [int(r["run_id"]) for r in rows]


async def hold_queued(run_ids: Sequence[int], now: dt.datetime) -> int:
    """A paused run's queued messages are held: no executor claims a held message, and
    one claimed a moment ago is no longer queued when its executor tries to mark it
    sending, so it does not leave (the same guard a drop relies on)."""
    if not run_ids:
        return 0
    p = Params()
    return await execute(
        f"UPDATE message_sent SET status = 'held', status_detail = "
        f"{p(StatusDetail.CAMPAIGN_PAUSED.value)}, "
        f"claim_token = NULL, lease_expires_at = NULL, updated_at = {p(ts(now))} "
        f"WHERE status = 'queued' AND {p.isin('run_id', run_ids)}", p)


async def release_held(run_ids: Sequence[int], now: dt.datetime) -> int:
    """A resumed run's held messages go back to the queue, due from the resume (a
    local-time wave still at its own time): the executor's staleness counts from then,
    not from before the pause."""
    if not run_ids:
        return 0
    p = Params()
    stamp = ts(now)
    return await execute(
        f"UPDATE message_sent SET status = 'queued', status_detail = NULL, updated_at = "
        f"{p(stamp)}, not_before = CASE WHEN not_before IS NULL OR not_before < {p(stamp)} "
        f"THEN {p(stamp)} ELSE not_before END WHERE status = 'held' AND "
        f"{p.isin('run_id', run_ids)}", p)


async def run_message_counts(run_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Messages per status of each run."""
    if not run_ids:
        return {}
    p = Params()
    rows = await fetch(f"SELECT run_id, status, count(*) AS n FROM message_sent WHERE "
                       f"{p.isin('run_id', run_ids)} GROUP BY run_id, status", p)
    out: dict[int, dict[str, int]] = {i: {} for i in run_ids}
    for row in rows:
        out[row["run_id"]][row["status"]] = int(row["n"])
    return out


# -- test then winner ---------------------------------------------------------------------


@dataclass(frozen=True)
class VariantNumbers:
    blast_id: int
    sends: int
    clicks: int  # human clicks: counted ones (message_click holds the first human one)
    revenue: Decimal
    opt_outs: int


async def variant_numbers(run_id: int, started_at: dt.datetime) -> list[VariantNumbers]:
    p = Params()
    rows = await fetch(
        "SELECT m.blast_id, count(*) AS sends, count(k.id) AS clicks, "
        "sum(CASE WHEN lc.status = 'unsubscribed' AND lc.unsubscribed_at >= "
        f"{p(ts(started_at))} THEN 1 ELSE 0 END) AS opt_outs "
        "FROM message_sent m LEFT JOIN message_click k ON k.message_id = m.id "
        "LEFT JOIN list_contact lc ON lc.id = m.list_contact_id "
        f"WHERE m.run_id = {p(run_id)} AND m.blast_id IS NOT NULL GROUP BY m.blast_id", p)
    q = Params()
    revenue = {row["blast_id"]: Decimal(str(row["revenue"] or 0)) for row in await fetch(
        "SELECT m.blast_id, sum(v.revenue) AS revenue FROM conversion v JOIN message_sent m "
        f"ON m.id = v.message_id WHERE m.run_id = {q(run_id)} AND v.attributed "
        "GROUP BY m.blast_id", q)}
    return [VariantNumbers(row["blast_id"], int(row["sends"]), int(row["clicks"]),
                           revenue.get(row["blast_id"], Decimal(0)), int(row["opt_outs"] or 0))
            for row in rows]


def when(value: Any) -> dt.datetime | None:
    return read_ts(value)
