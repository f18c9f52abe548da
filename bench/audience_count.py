"""Audience counts on a big list, SQLite and PostgreSQL, next to a bare count(*).

    python bench/audience_count.py [--rows 1000000] [--backends postgres,sqlite]
                                   [--runs 5] [--explain]

For each backend, in a fresh database: ``rows`` contacts (spread over every US area
code, so over the states and zones), each on list A, and every fifth also on list B,
with the mix of stored values the audiences meet in practice (custom ``age`` as a JSON
number for a third, as CSV text for a third, absent for the rest; half never clicked;
5% unsubscribed; 5% with revenue; each subscription with its contact's state and area
code, as core writes them since migration 0020). Then, after ANALYZE and one warm-up
run each, the
median of ``runs`` runs of:

* baseline: ``SELECT count(*) FROM list_contact WHERE sending_list_id = A``;
* the audience of API.md's example (4 conditions: state, custom.age, and an OR group of
  last_clicked_at within 30 days and has_revenue) on list A, the statement
  ``core.audiences.queries.count_audience`` runs;
* four AND-ed conditions (state in 4 states, custom.age >= 30, clicked within 30 days,
  status active) on list A;
* the example on lists A and B (each contact once).

"vs base" is the baseline's time over the case's: 0.33x means three times as long.
The goal (issue 12) on PostgreSQL: a 4-condition count at most 3x the bare count and
under 300 ms. The conditions read every subscription of the list (a seq scan, where the
bare count is an index-only scan). Migration 0020 (state on the subscription, filter
columns first), 1,000,000 rows, before and after back to back on the shared 2-core
machine (load ~4-7): the example 290 -> 148 ms (0.16x -> 0.29x of a 43-46 ms bare
count), 4 ANDed conditions 284 -> 192 ms (0.16x -> 0.22x). Under 300 ms; not yet 3x.

``--explain`` prints each case's plan (PostgreSQL's EXPLAIN ANALYZE, SQLite's EXPLAIN
QUERY PLAN). On SQLite 0020 made the counts slow: a state condition no longer went
through contact's (state, id) index, so SQLite read list A through (sending_list_id,
status, signup_date) and fetched every subscription by rowid in signup-date order, a
random walk over the table (the unique (list, contact) index or a plain table scan read
the same rows 5-7x faster at 200,000; the JSON of custom.age is a smaller cost). Migration
0022's (sending_list_id, state) index, 1,000,000 rows, same session (ms, before -> after):

    SQLite      example A 1,422 -> 172, 4 ANDed 1,610 -> 509, example A+B 410 -> 204,
                bare 31 -> 30 (now SEARCH ... (sending_list_id=? AND state=?))
    PostgreSQL  quiet (load ~1.5): example A 100 -> 107, 4 ANDed 98 -> 128, A+B 108 -> 129,
                bare 32 -> 33; loaded (load ~3, --runs 7): 143 -> 136, 152 -> 166,
                169 -> 165, bare 44 -> 47. Its plan for a state condition becomes a
                parallel bitmap heap scan that reads the same ~20,000 pages as the seq scan
                (the states are on every page): no clear change, 2.9-3.9x either way.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import Result, print_table, scratch_database  # noqa: E402

NOW = dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC)
EXAMPLE = {"operator": "and",
           "conditions": [{"field": "state", "operator": "eq", "value": "CA"},
                          {"field": "custom.age", "operator": "gte", "value": 30}],
           "groups": [{"operator": "or",
                       "conditions": [{"field": "last_clicked_at", "operator": "within_days",
                                       "value": 30},
                                      {"field": "has_revenue", "operator": "eq",
                                       "value": True}],
                       "groups": []}]}
FOUR_AND = {"operator": "and", "conditions": [
    {"field": "state", "operator": "in", "value": ["CA", "TX", "NY", "FL"]},
    {"field": "custom.age", "operator": "gte", "value": 30},
    {"field": "last_clicked_at", "operator": "within_days", "value": 30},
    {"field": "status", "operator": "eq", "value": "active"}], "groups": []}


def area_codes() -> tuple[list[str], list[str], list[str]]:
    """US area codes with their state and a zone (the zone of the state's biggest city
    is enough for a benchmark)."""
    from core.contacts.area_codes import AREA_CODE_STATES

    zones = {"CA": "America/Los_Angeles", "WA": "America/Los_Angeles",
             "OR": "America/Los_Angeles", "NV": "America/Los_Angeles",
             "AZ": "America/Phoenix", "CO": "America/Denver", "UT": "America/Denver",
             "TX": "America/Chicago", "IL": "America/Chicago", "MN": "America/Chicago"}
    codes = [(npa, st) for npa, st in sorted(AREA_CODE_STATES.items()) if len(st) == 2]
    return ([npa for npa, _ in codes], [st for _, st in codes],
            [zones.get(st, "America/New_York") for _, st in codes])


async def populate(rows: int) -> tuple[int, int, int]:
    from core.accounts.models import Account
    from core.contacts.models import SendingList
    from core.sql import conn, is_postgres

    account = await Account.create(name="Bench", owner_email="bench@example.test")
    a = await SendingList.create(account=account, phone_number="+14155550000",
                                 provider="simulator", webhook_token="bench-a")
    b = await SendingList.create(account=account, phone_number="+14155550001",
                                 provider="simulator", webhook_token="bench-b")
    npas, states, zones = area_codes()
    client = conn()
    now = NOW
    if is_postgres(client):
        await client.execute_query(
            "INSERT INTO contact (id, phone_number, country_code, is_valid, line_type, "
            "carrier, timezone, state, area_code, created_at) "
            "SELECT i, '+1' || ($1::text[])[1 + i % $4] || lpad(i::text, 7, '0'), 'US', "
            "TRUE, 'cell', (ARRAY['Verizon Wireless', 'T-Mobile', 'AT&T'])[1 + i % 3], "
            "($3::text[])[1 + i % $4], ($2::text[])[1 + i % $4], ($1::text[])[1 + i % $4], "
            "$5 FROM generate_series(1, $6) AS i",
            [npas, states, zones, len(npas), now, rows])
        for list_id, step in ((a.id, 1), (b.id, 5)):
            await client.execute_query(
                "INSERT INTO list_contact (account_id, sending_list_id, contact_id, status, "
                "signup_date, signup_method, first_name, last_name, email, "
                "ad_network_source, ad_network_id, custom_fields, in_workflow, "
                "last_clicked_at, send_count, click_count, revenue_total, conversion_count, "
                "created_at, updated_at, state, area_code) "
                "SELECT $1, $2, i, CASE WHEN i % 20 = 0 THEN 'unsubscribed' ELSE 'active' END, "
                "$3::timestamptz - make_interval(days => i % 365), 'import', '', '', '', '', '', "
                "CASE i % 3 WHEN 0 THEN jsonb_build_object('age', 18 + i % 60) "
                "WHEN 1 THEN jsonb_build_object('age', (18 + i % 60)::text, 'tier', 'gold') "
                "ELSE '{\"tier\": \"silver\"}'::jsonb END, FALSE, "
                "CASE WHEN i % 2 = 0 THEN NULL "
                "ELSE $3::timestamptz - make_interval(days => i % 90) END, "
                "i % 10, i % 4, CASE WHEN i % 20 = 1 THEN 12.5 ELSE 0 END, "
                "CASE WHEN i % 20 = 1 THEN 1 ELSE 0 END, $3, $3, "
                "($7::text[])[1 + i % $6], ($8::text[])[1 + i % $6] "
                "FROM generate_series(1, $4) AS i WHERE i % $5 = 0",
                [account.id, list_id, now, rows, step, len(npas), states, npas])
        # As autovacuum would leave them: statistics, and a visibility map for the
        # index-only scans.
        for table in ("contact", "list_contact"):
            await client.execute_script(f"VACUUM ANALYZE {table}")
        return account.id, a.id, b.id
    from core.sql import sqlite_ts

    stamp = sqlite_ts(now)
    async with client.acquire_connection() as raw:
        await raw.execute(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?4) "
            "INSERT INTO contact (id, phone_number, country_code, is_valid, line_type, carrier, "
            "timezone, state, area_code, created_at) "
            "SELECT i, '+1' || json_extract(?1, '$[' || (i % ?5) || ']') "
            "|| substr('0000000' || i, -7), 'US', 1, 'cell', "
            "json_extract('[\"Verizon Wireless\", \"T-Mobile\", \"AT&T\"]', '$[' || (i % 3) "
            "|| ']'), json_extract(?3, '$[' || (i % ?5) || ']'), "
            "json_extract(?2, '$[' || (i % ?5) || ']'), json_extract(?1, '$[' || (i % ?5) "
            "|| ']'), ?6 FROM s",
            (json.dumps(npas), json.dumps(states), json.dumps(zones), rows, len(npas), stamp))
        for list_id, step in ((a.id, 1), (b.id, 5)):
            await raw.execute(
                "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?4) "
                "INSERT INTO list_contact (account_id, sending_list_id, contact_id, status, "
                "signup_date, signup_method, first_name, last_name, email, ad_network_source, "
                "ad_network_id, custom_fields, in_workflow, last_clicked_at, send_count, "
                "click_count, revenue_total, conversion_count, created_at, updated_at, "
                "state, area_code) "
                "SELECT ?1, ?2, i, CASE WHEN i % 20 = 0 THEN 'unsubscribed' ELSE 'active' END, "
                "strftime('%Y-%m-%d %H:%M:%S+00:00', ?3, '-' || (i % 365) || ' days'), "
                "'import', '', '', '', '', '', "
                "CASE i % 3 WHEN 0 THEN json_object('age', 18 + i % 60) "
                "WHEN 1 THEN json_object('age', CAST(18 + i % 60 AS TEXT), 'tier', 'gold') "
                "ELSE '{\"tier\": \"silver\"}' END, 0, "
                "CASE WHEN i % 2 = 0 THEN NULL ELSE strftime('%Y-%m-%d %H:%M:%S+00:00', ?3, "
                "'-' || (i % 90) || ' days') END, i % 10, i % 4, "
                "CASE WHEN i % 20 = 1 THEN '12.5000' ELSE '0.0000' END, "
                "CASE WHEN i % 20 = 1 THEN 1 ELSE 0 END, ?3, ?3, "
                "json_extract(?7, '$[' || (i % ?6) || ']'), "
                "json_extract(?8, '$[' || (i % ?6) || ']') FROM s WHERE i % ?5 = 0",
                (account.id, list_id, stamp, rows, step, len(npas), json.dumps(states),
                 json.dumps(npas)))
        await raw.commit()
        await raw.execute("ANALYZE")
    return account.id, a.id, b.id


async def timed(query: str, params: list[object], runs: int) -> tuple[float, int, list[float]]:
    from core.sql import conn

    client = conn()
    laps = []
    size = 0
    for index in range(runs + 1):  # the first warms the cache
        began = time.perf_counter()
        found = await client.execute_query_dict(query, params)
        if index:
            laps.append((time.perf_counter() - began) * 1000)
        size = int(next(iter(found[0].values())))
    return statistics.median(laps), size, laps


async def explained(query: str, params: list[object], dialect: str) -> str:
    """The plan the database chose: PostgreSQL's with its timings, SQLite's query plan."""
    from core.sql import conn

    if dialect == "postgres":
        plan = await conn().execute_query_dict("EXPLAIN (ANALYZE, BUFFERS) " + query, params)
        return "\n".join(r["QUERY PLAN"] for r in plan)
    plan = await conn().execute_query_dict("EXPLAIN QUERY PLAN " + query, params)
    return "\n".join(f"{r['id']:>3} {r['parent']:>3} {r['detail']}" for r in plan)


async def bench(backend: str, rows: int, runs: int, explain: bool) -> list[Result]:
    from core.audiences.compiler import Scope, count_sql
    from core.audiences.conditions import parse_filter

    results = []
    async with scratch_database(backend):
        began = time.perf_counter()
        account_id, list_a, list_b = await populate(rows)
        print(f"{backend}: {rows:,} list contacts written in {time.perf_counter() - began:.0f} s",
              flush=True)
        dialect = "postgres" if backend == "postgres" else "sqlite"
        mark = "$1" if dialect == "postgres" else "?"
        bare = f"SELECT count(*) FROM list_contact WHERE sending_list_id = {mark}"
        base_ms, size, laps = await timed(bare, [list_a], runs)
        if explain:
            print(f"-- {backend}, bare count(*) of list A", flush=True)
            print(await explained(bare, [list_a], dialect), flush=True)
        results.append(Result(backend, "bare count(*) of list A", size, base_ms / 1000,
                              latencies_ms=laps, note=f"{base_ms:.0f} ms"))
        cases = [("example, list A", EXAMPLE, (list_a,)),
                 ("4 ANDed conditions, list A", FOUR_AND, (list_a,)),
                 ("example, lists A+B", EXAMPLE, (list_a, list_b))]
        for name, tree, lists in cases:
            query = count_sql(parse_filter(tree), Scope(account_id, lists, NOW), dialect)
            ms, size, laps = await timed(query.sql, query.params, runs)
            results.append(Result(backend, name, size, ms / 1000, latencies_ms=laps,
                                  baseline_rate=size / (base_ms / 1000) if base_ms else None,
                                  note=f"{ms:.0f} ms, {base_ms / ms:.2f}x the bare count"))
            if explain:
                print(f"-- {backend}, {name}", flush=True)
                print(await explained(query.sql, query.params, dialect), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    results: list[Result] = []
    for backend in args.backends.split(","):
        results += asyncio.run(bench(backend, args.rows, args.runs, args.explain))
    # "items" is the audience size; the rate column is meaningless here, read the note.
    print_table("Audience counts (median of runs; note: time and ratio to the bare count)",
                results, unit="rows/s")


if __name__ == "__main__":
    main()
