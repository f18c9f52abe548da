"""Writing the outbox: queued MessageSent rows and their short links, in bulk, inside
one transaction and outside any provider call. Public ids and link codes are random;
the rare collision is caught by the unique constraints and redrawn."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from tortoise.transactions import in_transaction

from core.ids import message_public_id, short_code
from core.sql import Params, conn, execute, fetch, is_postgres, ts

CHUNK = 500  # rows per transaction; on PostgreSQL COPY_CHUNK
COPY_CHUNK = 5000
COPY_FROM = 50  # rows from which PostgreSQL writes through COPY and a staging table
LINK_ROWS = 2000  # short links per INSERT (8 parameters each)
MAX_REDRAWS = 5


@dataclass
class NewLink:
    code: str
    link_key: str
    destination_url: str
    offer_id: int | None = None


@dataclass
class NewMessage:
    account_id: int
    sending_list_id: int
    contact_id: int
    to_number: str
    from_number: str
    body: str
    segments: int
    encoding: str
    price: Decimal
    provider: str
    list_contact_id: int | None = None
    transactional: bool = False
    is_reply: bool = False
    idempotency_key: str | None = None
    creative_id: int | None = None
    offer_id: int | None = None
    schedule_id: int | None = None
    run_id: int | None = None
    blast_id: int | None = None
    journey_id: int | None = None
    enrollment_id: int | None = None
    not_before: dt.datetime | None = None
    links: list[NewLink] = field(default_factory=list)
    public_id: str = field(default_factory=message_public_id)


@dataclass(frozen=True)
class Queued:
    id: int
    public_id: str


_COLUMNS = ("public_id", "account_id", "sending_list_id", "contact_id", "list_contact_id",
            "creative_id", "offer_id", "schedule_id", "run_id", "blast_id", "journey_id",
            "enrollment_id", "to_number", "from_number", "body", "segments", "encoding",
            "price", "provider", "status", "attempts", "transactional", "is_reply",
            "idempotency_key",
            "not_before", "queued_at", "updated_at")


async def enqueue(messages: Sequence[NewMessage], *, now: dt.datetime,
                  queued_at: dt.datetime | None = None) -> list[Queued]:
    """Queue messages; returns the rows written. Duplicates by a unique key other than the
    public id (same run and contact, same idempotency key) are skipped, not raised.
    ``queued_at`` (default ``now``): a schedule run's messages all carry its start, the
    partition key on PostgreSQL (core/system/partitions.py)."""
    queued_at = queued_at or now
    written: list[Queued] = []
    if len(messages) == 1 and not messages[0].links:
        # One row is one INSERT, written whole or not at all: no transaction to open.
        return await _insert_chunk(list(messages), now, queued_at)
    size = COPY_CHUNK if is_postgres() else CHUNK
    for start in range(0, len(messages), size):
        chunk = messages[start:start + size]
        async with in_transaction():
            written += await _insert_chunk(list(chunk), now, queued_at)
    return written


async def _insert_chunk(chunk: list[NewMessage], now: dt.datetime, queued_at: dt.datetime
                        ) -> list[Queued]:
    queued: dict[str, tuple[int, NewMessage]] = {}
    pending = chunk
    for _ in range(MAX_REDRAWS):
        if not pending:
            break
        seen: set[str] = set()  # an id twice in one INSERT: the second row would be lost
        for m in pending:
            while m.public_id in seen:
                m.public_id = message_public_id()
            seen.add(m.public_id)
        by_public_id = {m.public_id: m for m in pending}
        for row in await _insert_messages(pending, now, queued_at):
            queued[row["public_id"]] = (row["id"], by_public_id[row["public_id"]])
        missing = [m for m in pending if m.public_id not in queued]
        collided = set(await _existing_public_ids([m.public_id for m in missing]))
        pending = []
        for m in missing:
            if m.public_id in collided:
                m.public_id = message_public_id()
                pending.append(m)
    else:
        if pending:
            raise RuntimeError("could not draw unique message ids")

    await _insert_links([(mid, m) for mid, m in queued.values() if m.links], now)
    return [Queued(mid, pid) for pid, (mid, _) in queued.items()]


async def _insert_messages(batch: list[NewMessage], now: dt.datetime, queued_at: dt.datetime
                           ) -> list[dict]:
    if len(batch) >= COPY_FROM and is_postgres():
        return await _copy_messages(batch, now, queued_at)
    p = Params()
    rows = []
    pg = p.pg
    stamp = ts(now)
    for m in batch:
        values = (m.public_id, m.account_id, m.sending_list_id, m.contact_id, m.list_contact_id,
                  m.creative_id, m.offer_id, m.schedule_id, m.run_id, m.blast_id, m.journey_id,
                  m.enrollment_id, m.to_number, m.from_number, m.body, m.segments, m.encoding,
                  m.price if pg else str(m.price), m.provider, "queued", 0, m.transactional,
                  m.is_reply, m.idempotency_key, ts(m.not_before) if m.not_before else None,
                  ts(queued_at), stamp)
        rows.append("(" + ", ".join(p(v) for v in values) + ")")
    sql = (f"INSERT INTO message_sent ({', '.join(_COLUMNS)}) VALUES {', '.join(rows)} "
           f"ON CONFLICT DO NOTHING RETURNING id, public_id")
    return await fetch(sql, p)


# A staging table per session (the pool keeps sessions: core.db); each write empties it.
_STAGE = "outbox_stage"
_STAGE_COLUMNS = (
    "public_id varchar, account_id int, sending_list_id int, contact_id bigint, "
    "list_contact_id bigint, creative_id int, offer_id int, schedule_id int, run_id int, "
    "blast_id int, journey_id int, enrollment_id int, to_number varchar, "
    "from_number varchar, body text, segments int, encoding varchar, price numeric, "
    "provider varchar, transactional bool, is_reply bool, idempotency_key varchar, "
    "not_before timestamptz")
_STAGED = ("public_id", "account_id", "sending_list_id", "contact_id", "list_contact_id",
           "creative_id", "offer_id", "schedule_id", "run_id", "blast_id", "journey_id",
           "enrollment_id", "to_number", "from_number", "body", "segments", "encoding",
           "price", "provider", "transactional", "is_reply", "idempotency_key",
           "not_before")


async def _copy_messages(batch: list[NewMessage], now: dt.datetime, queued_at: dt.datetime
                         ) -> list[dict]:
    """PostgreSQL: the rows COPYed (binary) into a staging table, then one
    ``INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING``. A 13,500-parameter
    VALUES statement is parsed and planned anew every time (too big for asyncpg's
    statement cache); COPY sends the rows as data and the INSERT is one small statement.
    Must run inside the caller's transaction (enqueue's)."""
    client = conn()
    async with client.acquire_connection() as raw:
        # Every time: a table created in a transaction that rolled back is gone.
        await raw.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} ({_STAGE_COLUMNS}) "
                          "ON COMMIT DELETE ROWS")
        await raw.copy_records_to_table(_STAGE, columns=_STAGED, records=[
            (m.public_id, m.account_id, m.sending_list_id, m.contact_id, m.list_contact_id,
             m.creative_id, m.offer_id, m.schedule_id, m.run_id, m.blast_id, m.journey_id,
             m.enrollment_id, m.to_number, m.from_number, m.body, m.segments, m.encoding,
             m.price, m.provider, m.transactional, m.is_reply, m.idempotency_key,
             m.not_before) for m in batch])
        staged = ", ".join(_STAGED)
        rows = await raw.fetch(
            f"WITH new AS (DELETE FROM {_STAGE} RETURNING {staged}) "
            f"INSERT INTO message_sent ({', '.join(_COLUMNS)}) "
            f"SELECT public_id, account_id, sending_list_id, contact_id, list_contact_id, "
            f"creative_id, offer_id, schedule_id, run_id, blast_id, journey_id, "
            f"enrollment_id, to_number, from_number, body, segments, encoding, price, "
            f"provider, 'queued', 0, transactional, is_reply, idempotency_key, not_before, "
            f"$2, $1 FROM new ON CONFLICT DO NOTHING RETURNING id, public_id", now, queued_at)
    return [dict(r) for r in rows]


async def _existing_public_ids(public_ids: list[str]) -> list[str]:
    if not public_ids:
        return []
    p = Params()
    found = await fetch("SELECT public_id FROM message_sent WHERE "
                        f"{p.isin('public_id', public_ids, 'varchar')}", p)
    return [r["public_id"] for r in found]


async def _insert_links(items: list[tuple[int, NewMessage]], now: dt.datetime) -> None:
    pending = [(mid, m, link) for mid, m in items for link in m.links]
    for _ in range(MAX_REDRAWS):
        if not pending:
            return
        # A code twice in one batch would come back as written for both links.
        seen: set[str] = set()
        for mid, m, link in pending:
            while link.code in seen:
                await _redraw_code(mid, m, link)
            seen.add(link.code)
        done: set[str] = set()
        # A chunk of ten-link messages is 5,000 rows: 40,000 parameters in one statement
        # is past PostgreSQL's limit (32,767), so the rows go in slices.
        for start in range(0, len(pending), LINK_ROWS):
            p = Params()
            rows = []
            for mid, m, link in pending[start:start + LINK_ROWS]:
                values = (link.code, m.account_id, mid, m.contact_id, link.offer_id,
                          link.link_key, link.destination_url, ts(now))
                rows.append("(" + ", ".join(p(v) for v in values) + ")")
            inserted = await fetch(
                "INSERT INTO message_short_link (code, account_id, message_id, contact_id, "
                f"offer_id, link_key, destination_url, created_at) VALUES {', '.join(rows)} "
                "ON CONFLICT DO NOTHING RETURNING code", p)
            done.update(r["code"] for r in inserted)
        retry = []
        for mid, m, link in pending:
            if link.code in done:
                continue
            await _redraw_code(mid, m, link)  # the code exists elsewhere
            retry.append((mid, m, link))
        pending = retry
    raise RuntimeError("could not draw unique link codes")


async def _redraw_code(message_row_id: int, m: NewMessage, link: NewLink) -> None:
    """A new code for ``link``, and the (still queued) body fixed to show it."""
    old = link.code
    link.code = short_code()
    m.body = m.body.replace(old, link.code)
    q = Params()
    await execute(f"UPDATE message_sent SET body = {q(m.body)} WHERE id = {q(message_row_id)}",
                  q)
