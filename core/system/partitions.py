"""Monthly partitions of the tables that grow without end (PostgreSQL only).

``message_sent`` (by ``queued_at``), ``message_event`` (by ``occurred_at``) and
``message_short_link_click`` (by ``clicked_at``) are partitioned by RANGE, one partition a
month (``<table>_pYYYYMM``) plus a DEFAULT partition, so an insert never fails whatever
its date (a fake clock in a test, a month the maintenance job has not reached yet). SQLite
keeps plain tables: nothing here runs there.

Uniqueness. A unique index on a partitioned table must include the partition key, so the
exactly-once keys of ``message_sent`` are *local* unique indexes, one set on every
partition (created here with it), and ``INSERT ... ON CONFLICT DO NOTHING`` (no target,
as the outbox and the launch write) checks every unique index of the partition the row
lands in:

* ``(run_id, contact_id)``: every message of a schedule run carries the run's own
  ``started_at`` as ``queued_at`` (core.campaigns.queries.write_batch), fixed at the run's
  creation and the same after a crash-restart, so all of a run lands in one partition and
  the local index is as strong as the old global one.
* ``(account_id, idempotency_key)``: API replays are answered by
  core.system.idempotency (its own plain table) before a message is built; the local index
  is the second line within a month.
* ``public_id``: unique within a partition, and redrawn on collision by the outbox.

Foreign keys that pointed at ``message_sent(id)`` (events, short links, clicks,
conversions, usage, journey steps, selection decisions) and at
``message_short_link_click(id)`` cannot exist once the key is ``(id, queued_at)``: they
are dropped on PostgreSQL. Integrity holds by construction: those rows are written only
with the id of a message that was just written (outbox, executor, recorder), messages
are never deleted one by one, and retention drops whole months of messages, events and
raw clicks together. A click or event of a later month than its message outlives the
message by at most that month; readers join with LEFT JOIN or tolerate the miss.

``message_click`` (the counted click, one per message and contact) stays a plain table:
its unique ``(message_id, contact_id)`` is the first-human-click guarantee the recorder
names in ``ON CONFLICT``, which no partitioned table can hold; it is a small fraction of
raw clicks, and retention deletes its old rows instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Partitioned:
    table: str
    key: str
    local_unique: tuple[tuple[str, ...], ...] = ()
    # Storage parameters of every partition (a partitioned parent holds none).
    storage: tuple[tuple[str, int], ...] = ()


# message_sent: room on each page for the claim's UPDATE (token and lease, no indexed
# column), so it is HOT and writes no index entry (migration 0019 says more).
MESSAGE_FILLFACTOR = 80

PARTITIONED = (
    Partitioned("message_sent", "queued_at",
                (("public_id",), ("run_id", "contact_id"), ("account_id", "idempotency_key")),
                (("fillfactor", MESSAGE_FILLFACTOR),)),
    Partitioned("message_event", "occurred_at"),
    Partitioned("message_short_link_click", "clicked_at"),
)
# Rows of plain tables that follow retention (table, time column).
RETAINED_PLAIN = (("message_click", "clicked_at"),)
AHEAD_MONTHS = 3  # partitions kept created ahead of the current month


def month_start(when: dt.datetime | dt.date) -> dt.date:
    return dt.date(when.year, when.month, 1)


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: dt.date) -> str:
    return f"{table}_p{month.year:04d}{month.month:02d}"


def storage_sql(spec: Partitioned) -> str:
    return ", ".join(f"{name} = {int(value)}" for name, value in spec.storage)


def _with(spec: Partitioned) -> str:
    return f" WITH ({storage_sql(spec)})" if spec.storage else ""


def _bound(month: dt.date) -> str:
    return f"'{month.isoformat()} 00:00:00+00'"


def _unique_sql(name: str, columns: tuple[str, ...]) -> str:
    cols = ", ".join(f'"{c}"' for c in columns)
    index = f'{name}_{"_".join(columns)}_uniq'
    return f'CREATE UNIQUE INDEX IF NOT EXISTS "{index}" ON "{name}" ({cols})'


async def _exists(client: BaseDBAsyncClient, name: str) -> bool:
    rows = await client.execute_query_dict("SELECT to_regclass($1) IS NOT NULL AS found",
                                           [f'public."{name}"'])
    return bool(rows[0]["found"])


async def is_partitioned(client: BaseDBAsyncClient, table: str) -> bool:
    rows = await client.execute_query_dict(
        "SELECT count(*) AS n FROM pg_partitioned_table p JOIN pg_class c "
        "ON c.oid = p.partrelid WHERE c.relname = $1", [table])
    return int(rows[0]["n"]) > 0


async def create_default(client: BaseDBAsyncClient, spec: Partitioned) -> None:
    name = f"{spec.table}_default"
    await client.execute_script(
        f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{spec.table}" DEFAULT'
        f"{_with(spec)}")
    for columns in spec.local_unique:
        await client.execute_script(_unique_sql(name, columns))


async def create_month(client: BaseDBAsyncClient, spec: Partitioned, month: dt.date) -> bool:
    """The partition of ``month``; False when it existed. Rows of that month already in
    the DEFAULT partition move into it (a partition cannot be created over them)."""
    name = partition_name(spec.table, month)
    if await _exists(client, name):
        return False
    start, end = _bound(month), _bound(add_months(month, 1))
    default = f"{spec.table}_default"
    in_default = await client.execute_query_dict(
        f'SELECT EXISTS (SELECT 1 FROM "{default}" WHERE "{spec.key}" >= {start} '
        f'AND "{spec.key}" < {end}) AS found')
    if not in_default[0]["found"]:
        await client.execute_script(
            f'CREATE TABLE "{name}" PARTITION OF "{spec.table}" '
            f"FOR VALUES FROM ({start}) TO ({end}){_with(spec)}")
        for columns in spec.local_unique:
            await client.execute_script(_unique_sql(name, columns))
        return True
    # One script: PostgreSQL runs a multi-statement simple query as one transaction.
    statements = [
        f'CREATE TABLE "{name}" (LIKE "{spec.table}" INCLUDING DEFAULTS){_with(spec)}',
        f'WITH moved AS (DELETE FROM "{default}" WHERE "{spec.key}" >= {start} AND '
        f'"{spec.key}" < {end} RETURNING *) INSERT INTO "{name}" SELECT * FROM moved',
        *(_unique_sql(name, columns) for columns in spec.local_unique),
        f'ALTER TABLE "{spec.table}" ATTACH PARTITION "{name}" '
        f"FOR VALUES FROM ({start}) TO ({end})",
    ]
    await client.execute_script(";\n".join(statements))
    return True


async def ensure_ahead(client: BaseDBAsyncClient, now: dt.datetime,
                       ahead: int = AHEAD_MONTHS) -> list[str]:
    """This month's partitions and the next ``ahead`` months', for every partitioned
    table; answers the partitions created. Run by the scheduler leader every hour."""
    created = []
    for spec in PARTITIONED:
        if not await is_partitioned(client, spec.table):
            continue
        await create_default(client, spec)
        for n in range(ahead + 1):
            month = add_months(month_start(now), n)
            if await create_month(client, spec, month):
                created.append(partition_name(spec.table, month))
    return created


async def month_partitions(client: BaseDBAsyncClient, table: str) -> list[tuple[str, dt.date]]:
    rows = await client.execute_query_dict(
        "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = $1", [table])
    out = []
    prefix = f"{table}_p"
    for row in rows:
        name = row["name"]
        suffix = name[len(prefix):]
        if name.startswith(prefix) and len(suffix) == 6 and suffix.isdigit():
            out.append((name, dt.date(int(suffix[:4]), int(suffix[4:]), 1)))
    return sorted(out, key=lambda item: item[1])


async def drop_older_than(client: BaseDBAsyncClient, now: dt.datetime,
                          months: int) -> list[str]:
    """Retention: partitions whose whole month ends before the cutoff (the start of the
    month ``months`` before this one) are detached, then dropped; older rows in the
    DEFAULT partition and in ``message_click`` are deleted. Answers what was dropped."""
    cutoff = add_months(month_start(now), -months)
    dropped = []
    for spec in PARTITIONED:
        if not await is_partitioned(client, spec.table):
            continue
        for name, month in await month_partitions(client, spec.table):
            if add_months(month, 1) <= cutoff:
                # Detached first: the parent's lock is short, the DROP touches one table.
                await client.execute_script(
                    f'ALTER TABLE "{spec.table}" DETACH PARTITION "{name}"')
                await client.execute_script(f'DROP TABLE "{name}"')
                dropped.append(name)
        await client.execute_script(
            f'DELETE FROM "{spec.table}_default" WHERE "{spec.key}" < {_bound(cutoff)}')
    for table, column in RETAINED_PLAIN:
        await client.execute_script(
            f'DELETE FROM "{table}" WHERE "{column}" < {_bound(cutoff)}')
    if dropped:
        log.info("retention (%d months): dropped %s", months, ", ".join(dropped))
    return dropped


# -- the migration (core/migrations/0018_partitions.py) -----------------------------------

async def _fetch_one_column(client: BaseDBAsyncClient, sql: str, values: list) -> list:
    return [next(iter(r.values())) for r in await client.execute_query_dict(sql, values)]


async def convert(client: BaseDBAsyncClient, spec: Partitioned, now: dt.datetime) -> None:
    """Rebuild the plain ``spec.table`` as a partitioned one, rows and indexes kept."""
    table, old = spec.table, f"{spec.table}_unpartitioned"
    # Foreign keys pointing at the table go (see the module docstring).
    for referencing, constraint in [
            (r["tbl"], r["con"]) for r in await client.execute_query_dict(
                "SELECT c.conrelid::regclass::text AS tbl, c.conname AS con FROM pg_constraint c "
                "WHERE c.contype = 'f' AND c.confrelid = $1::regclass", [table])]:
        await client.execute_script(
            f'ALTER TABLE {referencing} DROP CONSTRAINT "{constraint}"')
    indexes = await client.execute_query_dict(
        "SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def, x.indisunique AS uniq, "
        "x.indisprimary AS pk FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = $1::regclass", [table])
    fkeys = await client.execute_query_dict(
        "SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid = $1::regclass", [table])
    sequences = await _fetch_one_column(
        client, "SELECT pg_get_serial_sequence($1, 'id')", [table])
    await client.execute_script(f'ALTER TABLE "{table}" RENAME TO "{old}"')
    for index in indexes:
        await client.execute_script(f'ALTER INDEX "{index["name"]}" RENAME TO '
                                    f'"{index["name"][:58]}_old"')
    for fk in fkeys:
        await client.execute_script(f'ALTER TABLE "{old}" DROP CONSTRAINT "{fk["name"]}"')
    await client.execute_script(
        f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS) '
        f'PARTITION BY RANGE ("{spec.key}")')
    if sequences and sequences[0]:
        await client.execute_script(f"ALTER SEQUENCE {sequences[0]} OWNED BY \"{table}\".id")
    await client.execute_script(
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY (id, "{spec.key}")')
    for index in indexes:
        if index["pk"] or index["uniq"]:
            continue  # the unique ones become local (spec.local_unique)
        definition = index["def"].replace(f" ON public.{old} ", f" ON public.{table} ")
        await client.execute_script(definition)
    for fk in fkeys:
        await client.execute_script(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{fk["name"]}" {fk["def"]}')
    await create_default(client, spec)
    bounds = await client.execute_query_dict(
        f'SELECT min("{spec.key}") AS lo, max("{spec.key}") AS hi FROM "{old}"')
    lo, hi = bounds[0]["lo"], bounds[0]["hi"]
    month = month_start(min(lo, now) if lo else now)
    last = add_months(month_start(max(hi, now) if hi else now), AHEAD_MONTHS)
    while month <= last:
        await create_month(client, spec, month)
        month = add_months(month, 1)
    await client.execute_script(f'INSERT INTO "{table}" SELECT * FROM "{old}"')
    await client.execute_script(f'DROP TABLE "{old}"')


async def convert_all(client: BaseDBAsyncClient, now: dt.datetime) -> None:
    for spec in PARTITIONED:
        if not await is_partitioned(client, spec.table):
            await convert(client, spec, now)
