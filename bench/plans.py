"""The hot queries' plans on millions of messages (PostgreSQL, issue 17 must-show 3).

    python -m bench.plans [--messages 10000000] [--months 12]

Builds a scratch database (bench.harness.scratch_database: migrated, so partitioned by
month as production is), writes ``--messages`` synthetic messages server-side with
generate_series spread evenly over ``--months`` monthly partitions (ids rising with
queued_at, as the sequence gives them), one short link per 20 messages and one raw click
per 50, the last 2,000 messages still queued and 100 in flight; ANALYZE; then runs
EXPLAIN (ANALYZE, BUFFERS) for each hot query, with the WHERE clauses the code runs:

- claim: core.messaging.queries.claim_queued's inner SELECT (queued, due, no lease);
- reconcile: the reconciler's scan of in-flight messages whose lease ran out;
- receipt (provider id): apply_receipt by provider + provider_message_id;
- receipt (public id): apply_receipt by our public id;
- link: core.tracking.links' lookup by code, joined to its message;
- list (period): the API's message listing for an account and a queued_at period;
- report (period): the performance report's filter (account, sent_at period);
- queue (metrics): core.operations.snapshot's queued and in-flight counts;
- by id (executor): the executor's and receipts' updates by message id;
- counts (run): the campaign progress counts of one run.

Prints a table: query, partitions scanned (of those that exist), index(es) used, seq
scans, execution time. Foreign keys are not checked during the load
(session_replication_role = replica): the referenced accounts, lists and contacts do
not exist, and plans do not depend on them. Asserts nothing; tests/test_partitions.py
checks the same plan shapes on a smaller table.

Measured 2026-12-01 (2 cores shared, load average ~20; first run, cold cache; 12 months
of data + 3 months ahead + default = 16 partitions; 10M rows 6.4 GB with indexes):

    query                  partitions  index used                                ms
    claim                       16/16  id_idx (partial, queued)               13.12
    reconcile                   16/16  id_idx1 (partial, sending)              0.26
    receipt (provider id)       16/16  provider_provider_message_id_idx       15.16
    receipt (public id)         16/16  public_id_uniq                          9.91
    link                        16/16  message_short_link_code_key, pkey       8.79
    list (period)                1/16  account_id_queued_at_idx                0.25
    report (period)             16/16  account_id_sent_at, failed_at, sent_at 48.83
    clicks (period)              1/16  account_id_clicked_at_idx               0.36
    queue (metrics)             16/16  id_idx, id_idx1                         1.22
    by id (executor)            16/16  pkey                                    0.17
    counts (run)                16/16  run_id_contact_id_uniq                 40.84

No sequential scan of a non-empty partition anywhere. Queries keyed by something other
than the month (id, provider id, public id, run, sent_at) read one small index per
partition: their cost grows with the number of months kept, not with the rows.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import re
import time
from dataclasses import dataclass
from typing import Any

import orjson
from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient

from core.system import partitions

ACCOUNTS = 100
LISTS = 200
CONTACTS = 1_000_000
RUN_SIZE = 10_000
QUEUED = 2_000
IN_FLIGHT = 100


@dataclass(frozen=True)
class Plan:
    query: str
    partitions: int  # partitions of message_sent (or the clicked table) the plan touches
    total: int  # partitions that exist
    indexes: tuple[str, ...]
    seq_scans: tuple[str, ...]
    ms: float
    pruned: bool  # some partitions left out (at plan time or at run time)


def _month_span(end: dt.date, months: int) -> tuple[dt.datetime, dt.datetime]:
    first = partitions.add_months(end, -(months - 1))
    start = dt.datetime(first.year, first.month, first.day, tzinfo=dt.UTC)
    stop = partitions.add_months(end, 1)
    return start, dt.datetime(stop.year, stop.month, stop.day, tzinfo=dt.UTC)


async def populate(client: BaseDBAsyncClient, *, messages: int, months: int,
                   end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Write the synthetic rows; answers the [start, stop) they span."""
    start, stop = _month_span(end, months)
    month = partitions.month_start(start)
    while month < stop.date():
        for spec in partitions.PARTITIONED:
            await partitions.create_month(client, spec, month)
        month = partitions.add_months(month, 1)
    span = (stop - start).total_seconds() - 3600
    n = messages
    # Status by position: the newest QUEUED are queued, IN_FLIGHT before them sending
    # with a lapsed lease, 2% failed, the rest delivered.
    await client.execute_script(
        "SET session_replication_role = replica;"
        "INSERT INTO message_sent (id, public_id, account_id, sending_list_id, contact_id, "
        "run_id, schedule_id, to_number, from_number, body, segments, encoding, price, "
        "provider, provider_message_id, status, attempts, transactional, is_reply, "
        "lease_expires_at, queued_at, sent_at, delivered_at, failed_at, updated_at) "
        "SELECT g, lpad(to_hex(g), 8, 'x'), 1 + g % " + str(ACCOUNTS) + ", "
        "1 + g % " + str(LISTS) + ", 1 + (g::bigint * 7919) % " + str(CONTACTS) + ", "
        "1 + g / " + str(RUN_SIZE) + ", 1 + g / " + str(RUN_SIZE * 10) + ", "
        "'+1555' || lpad((g % 10000000)::text, 7, '0'), '+15550000000', "
        "'Hello, this is message ' || g || ' https://t.example/abc1234', 1, 'GSM-7', "
        "0.0079, 'twilio', CASE WHEN s = 'queued' THEN NULL ELSE 'SM' || md5(g::text) END, "
        "s, CASE WHEN s = 'queued' THEN 0 ELSE 1 END, false, false, "
        "CASE WHEN s = 'sending' THEN q END, q, "
        "CASE WHEN s IN ('queued', 'failed') THEN NULL ELSE q + interval '1 minute' END, "
        "CASE WHEN s = 'delivered' THEN q + interval '2 minutes' END, "
        "CASE WHEN s = 'failed' THEN q + interval '1 minute' END, q "
        "FROM (SELECT g, "
        f"'{start.isoformat()}'::timestamptz + (g::float8 / {n} * {span}) * interval '1 second'"
        " AS q, CASE WHEN g > " + str(n - QUEUED) + " THEN 'queued' WHEN g > "
        + str(n - QUEUED - IN_FLIGHT) + " THEN 'sending' WHEN g % 50 = 7 THEN 'failed' "
        "ELSE 'delivered' END AS s FROM generate_series(1, " + str(n) + ") g) x;"
        "SELECT setval(pg_get_serial_sequence('message_sent', 'id'), " + str(n) + ");"
        "INSERT INTO message_short_link (id, code, account_id, message_id, contact_id, "
        "link_key, destination_url, created_at) "
        "SELECT g / 20, lpad(to_hex(g / 20), 7, 'z'), 1 + g % " + str(ACCOUNTS) + ", g, "
        "1 + (g::bigint * 7919) % " + str(CONTACTS) + ", 'link1', 'https://shop.example/', "
        "queued_at FROM (SELECT id AS g, queued_at FROM message_sent WHERE id % 20 = 0) m;"
        "SELECT setval(pg_get_serial_sequence('message_short_link', 'id'), "
        + str(n // 20 + 1) + ");"
        "INSERT INTO message_short_link_click (short_link_id, account_id, message_id, "
        "contact_id, clicked_at, ip_address, user_agent, is_bot, verdict) "
        "SELECT id / 20, account_id, id, contact_id, "
        f"LEAST(queued_at + interval '3 hours', '{stop.isoformat()}'::timestamptz "
        "- interval '1 second'), '203.0.113.9', 'Mozilla/5.0', false, 'human' "
        "FROM message_sent WHERE id % 50 = 0;"
        "SET session_replication_role = origin;")
    # VACUUM too, as autovacuum would have on a live table: rows deleted before (a test
    # database's per-test reset deletes them) stay as dead rows and index entries,
    # and the planner then scanned a month rather than walk them (seen in the plan test).
    for table in ("message_sent", "message_short_link", "message_short_link_click"):
        await client.execute_script(f"VACUUM ANALYZE {table}")
    return start, stop


def _walk(node: dict[str, Any], out: list[dict[str, Any]]) -> None:
    out.append(node)
    for child in node.get("Plans", ()):
        _walk(child, out)


def shape(query: str, plan: dict[str, Any], table: str, total: int) -> Plan:
    nodes: list[dict[str, Any]] = []
    _walk(plan["Plan"], nodes)
    prefix = f"{table}_"
    touched = set()
    indexes = set()
    seqs = set()
    removed = 0
    for node in nodes:
        removed += int(node.get("Subplans Removed", 0))
        relation = node.get("Relation Name", "")
        never = node.get("Actual Loops") == 0  # run-time pruning: never executed
        if relation.startswith(prefix) and not never:
            touched.add(relation)
        if "Index Name" in node and not never:
            indexes.add(_index_kind(node["Index Name"]))
        read = int(node.get("Shared Hit Blocks", 0)) + int(node.get("Shared Read Blocks", 0))
        if node.get("Node Type") == "Seq Scan" and not never and read:
            seqs.add(relation)  # an empty partition (a month ahead) reads no block
    pruned = len(touched) < total or removed > 0
    return Plan(query, len(touched), total, tuple(sorted(indexes)), tuple(sorted(seqs)),
                float(plan.get("Execution Time", 0.0)), pruned)


_PARTITION = re.compile(r"^(message_sent|message_short_link_click|message_event)_"
                        r"(p\d{6}|default)_")


def _index_kind(index: str) -> str:
    """``message_sent_p202603_provider_provider_message_id_idx`` -> the same index on
    every partition: ``provider_provider_message_id_idx``."""
    return _PARTITION.sub("", index)


def hot_queries(start: dt.datetime, stop: dt.datetime, messages: int
                ) -> list[tuple[str, str, str]]:
    """(name, table whose partitions count, SQL) for each hot query."""
    now = stop - dt.timedelta(minutes=30)
    mid = messages // 2
    period_from = start + (stop - start) * 0.5
    period_to = period_from + dt.timedelta(days=7)
    t = "'{}'::timestamptz".format
    account = 1 + mid % ACCOUNTS
    return [
        ("claim", "message_sent",
         f"SELECT id FROM message_sent WHERE status = 'queued' AND COALESCE(not_before, "
         f"'1970-01-01 00:00:00+00') <= {t(now)} AND (lease_expires_at IS NULL OR "
         f"lease_expires_at < {t(now)}) ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED"),
        ("reconcile", "message_sent",
         f"SELECT id FROM message_sent WHERE status = 'sending' AND lease_expires_at < "
         f"{t(now)} ORDER BY id LIMIT 500"),
        ("receipt (provider id)", "message_sent",
         f"SELECT id FROM message_sent WHERE provider = 'twilio' AND provider_message_id = "
         f"'SM' || md5('{mid}') AND status IN ('sending', 'sent', 'orphaned', 'delivered')"),
        ("receipt (public id)", "message_sent",
         f"SELECT id FROM message_sent WHERE public_id = lpad(to_hex({mid}), 8, 'x')"),
        ("link", "message_sent",
         "SELECT l.id, l.destination_url, m.public_id, m.sent_at, m.schedule_id "
         "FROM message_short_link l LEFT JOIN message_sent m ON m.id = l.message_id "
         f"WHERE l.code = lpad(to_hex({mid // 20}), 7, 'z')"),
        ("list (period)", "message_sent",
         f"SELECT id, public_id, status FROM message_sent WHERE account_id = {account} AND "
         f"queued_at >= {t(period_from)} AND queued_at < {t(period_to)} "
         "ORDER BY queued_at DESC LIMIT 50"),
        ("report (period)", "message_sent",
         f"SELECT count(*), sum(price) FROM message_sent m WHERE m.account_id = {account} "
         "AND m.status IN ('sent', 'delivered', 'undelivered', 'failed') AND "
         f"((m.sent_at >= {t(period_from)} AND m.sent_at < {t(period_to)}) OR "
         f"(m.sent_at IS NULL AND m.failed_at >= {t(period_from)} AND m.failed_at < "
         f"{t(period_to)}))"),
        ("clicks (period)", "message_short_link_click",
         f"SELECT count(*) FROM message_short_link_click WHERE account_id = {account} AND "
         f"clicked_at >= {t(period_from)} AND clicked_at < {t(period_to)}"),
        ("queue (metrics)", "message_sent",
         "SELECT count(*), min(queued_at) FROM message_sent WHERE status = 'queued' "
         "OR status = 'sending'"),
        ("by id (executor)", "message_sent",
         f"SELECT id, status FROM message_sent WHERE id = {mid}"),
        ("counts (run)", "message_sent",
         f"SELECT status, count(*) FROM message_sent WHERE run_id = {1 + mid // RUN_SIZE} "
         "GROUP BY status"),
    ]


async def explain(client: BaseDBAsyncClient, start: dt.datetime, stop: dt.datetime,
                  messages: int) -> list[Plan]:
    out = []
    totals: dict[str, int] = {}
    for name, table, sql in hot_queries(start, stop, messages):
        if table not in totals:
            totals[table] = len(await partitions.month_partitions(client, table)) + 1
        rows = await client.execute_query_dict(
            f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
        raw = rows[0]["QUERY PLAN"]
        plan = (orjson.loads(raw) if isinstance(raw, str | bytes) else raw)[0]
        out.append(shape(name, plan, table, totals[table]))
    return out


def print_plans(plans: list[Plan], title: str) -> None:
    print(f"\n{title}")
    print(f"{'query':<22} {'partitions':>10}  {'index used':<58} {'seq scans':<10} {'ms':>8}")
    print("(partitions: those the plan read, of all that exist, the months ahead and the "
          "default included)")
    for p in plans:
        print(f"{p.query:<22} {f'{p.partitions}/{p.total}':>10}  "
              f"{', '.join(p.indexes) or '-':<58} {', '.join(p.seq_scans) or '-':<10} "
              f"{p.ms:>8.2f}")


async def main(messages: int, months: int) -> None:
    from bench.harness import scratch_database

    end = partitions.month_start(dt.datetime.now(dt.UTC))
    async with scratch_database("postgres"):
        client = Tortoise.get_connection("default")
        began = time.perf_counter()
        start, stop = await populate(client, messages=messages, months=months, end=end)
        print(f"{messages:,} messages over {months} months written and analysed in "
              f"{time.perf_counter() - began:.0f} s")
        size = await client.execute_query_dict(
            "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) AS s FROM "
            "pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'message_sent'::regclass")
        print(f"message_sent with its indexes: {size[0]['s']}")
        print_plans(await explain(client, start, stop, messages),
                    f"EXPLAIN (ANALYZE, BUFFERS) on {messages:,} messages, {months} months")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.months))
