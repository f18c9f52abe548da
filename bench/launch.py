"""A 4-condition audience count and a 100,000-recipient launch on a 1,000,000-contact
list, SQLite and PostgreSQL, each beside a baseline measured in the same run.

    python bench/launch.py [--rows 1000000] [--backends postgres,sqlite] [--runs 5]
                           [--recipients 100000]

For each backend, in a fresh database with the data of ``bench/audience_count.py``:

* counts: the bare ``count(*)`` of the list (baseline), then the 4 AND-ed conditions of
  ``audience_count.FOUR_AND`` (median of ``runs``, after a warm-up);
* launch: a one-variant blast with one short link per message to the contacts whose
  ``send_count`` is 3 (a tenth of the list: 100,000 of a million), timed from
  ``ScheduleService.launch`` to every message queued, with peak resident memory; the
  baseline writes the same rows (messages and links, copied from what the launch
  queued) with the fastest bulk path of the backend (COPY on PostgreSQL, one executemany
  transaction on SQLite) into empty tables. "vs base" is the launch's rows/s over the
  baseline's.

Goals (issue 12), PostgreSQL: the count at most 3x the bare count and under 300 ms; the
launch at least 0.5x the COPY's rows/s, with peak memory under 500 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.audience_count import FOUR_AND, NOW, populate, timed  # noqa: E402
from bench.harness import PeakRss, Result, print_table, rss_mb, scratch_database  # noqa: E402

_MESSAGE_COLUMNS = ("id", "public_id", "account_id", "sending_list_id", "contact_id",
                    "list_contact_id", "offer_id", "schedule_id", "run_id", "blast_id",
                    "to_number", "from_number", "body", "segments", "encoding", "price",
                    "provider", "status", "attempts", "transactional", "is_reply",
                    "queued_at", "updated_at")
_LINK_COLUMNS = ("code", "account_id", "message_id", "contact_id", "offer_id", "link_key",
                 "destination_url", "created_at")


async def _baseline_write(backend: str, messages: list[tuple], links: list[tuple]) -> float:
    """The same rows written again, the fastest way the backend has; seconds."""
    from core.sql import conn

    client = conn()
    # Empty tables for the baseline (not timed): TRUNCATE on PostgreSQL; on SQLite a
    # DELETE with foreign keys off, or every row would be checked against each table
    # that points at messages.
    if backend == "postgres":
        await client.execute_script("TRUNCATE message_short_link, message_sent CASCADE")
    else:
        async with client.acquire_connection() as raw:
            await raw.execute("PRAGMA foreign_keys = OFF")
            await raw.execute("DELETE FROM message_short_link")
            await raw.execute("DELETE FROM message_sent")
            await raw.commit()
            await raw.execute("PRAGMA foreign_keys = ON")
    began = time.perf_counter()
    async with client.acquire_connection() as raw:
        if backend == "postgres":
            async with raw.transaction():
                await raw.copy_records_to_table("message_sent", records=messages,
                                                columns=_MESSAGE_COLUMNS)
                await raw.copy_records_to_table("message_short_link", records=links,
                                                columns=_LINK_COLUMNS)
        else:
            await raw.execute("BEGIN")  # one transaction, as the launch's batches are
            marks = ", ".join("?" * len(_MESSAGE_COLUMNS))
            await raw.executemany(f"INSERT INTO message_sent ({', '.join(_MESSAGE_COLUMNS)}) "
                                  f"VALUES ({marks})", messages)
            marks = ", ".join("?" * len(_LINK_COLUMNS))
            await raw.executemany(f"INSERT INTO message_short_link ({', '.join(_LINK_COLUMNS)}"
                                  f") VALUES ({marks})", links)
            await raw.commit()
    return time.perf_counter() - began


async def bench(backend: str, rows: int, runs: int, baseline_runs: int) -> list[Result]:
    from core.audiences.compiler import Scope, count_sql
    from core.audiences.conditions import parse_filter
    from core.clock import FakeClock
    from core.permissions import Actor
    from core.settings import Settings
    from core.sql import conn
    from trackly.bootstrap import build_services

    results = []
    async with scratch_database(backend) as url:
        began = time.perf_counter()
        account_id, list_a, _ = await populate(rows)
        print(f"{backend}: {rows:,} list contacts written in "
              f"{time.perf_counter() - began:.0f} s", flush=True)
        dialect = "postgres" if backend == "postgres" else "sqlite"
        mark = "$1" if dialect == "postgres" else "?"
        base_ms, size, laps = await timed(
            f"SELECT count(*) FROM list_contact WHERE sending_list_id = {mark}", [list_a], runs)
        results.append(Result(backend, "bare count(*) of the list", size, base_ms / 1000,
                              latencies_ms=laps, note=f"{base_ms:.0f} ms"))
        query = count_sql(parse_filter(FOUR_AND), Scope(account_id, (list_a,), NOW), dialect)
        ms, size, laps = await timed(query.sql, query.params, runs)
        results.append(Result(backend, "4-condition audience count", size, ms / 1000,
                              latencies_ms=laps,
                              baseline_rate=size / (base_ms / 1000) if base_ms else None,
                              note=f"{ms:.0f} ms, {ms / base_ms:.2f}x the bare count's time"))

        import tempfile
        settings = Settings(database_url=url, secret_key="bench-secret-key-0123456789abcdef",
                            public_url="http://127.0.0.1:8080",
                            data_dir=Path(tempfile.mkdtemp(prefix="trackly-bench-")))
        services = build_services(settings, clock=FakeClock(NOW),
                                  secret_key="bench-secret-key-0123456789abcdef")
        actor = Actor.system(account_id)
        offer = await services.offers.create(actor, name="Deal",
                                             tracking_url="https://offers.example/?c={click_id}")
        aud = await services.audiences.create(actor, name="a tenth", list_ids=[list_a], filter={
            "operator": "and", "conditions": [{"field": "send_count", "operator": "eq",
                                               "value": 3}], "groups": []})
        view = await services.schedules.create(actor, {
            "name": "Big blast", "list_id": list_a, "audience_ids": [aud.id],
            "send_date": "2026-03-03", "send_time": "10:00",
            "blasts": [{"message": "Deal for {{first_name|you}}: {{link1}}",
                        "link_bindings": {"link1": {"offer_id": offer.id}},
                        "percent_audience": 100}]})
        rss_before = rss_mb()
        async with PeakRss() as peak:
            began = time.perf_counter()
            launched = await services.schedules.launch(actor, view.schedule.id, now=True)
            seconds = time.perf_counter() - began
        queued = (await conn().execute_query_dict(
            "SELECT count(*) AS n FROM message_sent"))[0]["n"]
        assert queued == launched.recipients, (queued, launched.recipients)
        print(f"{backend}: launch of {queued:,} in {seconds:.2f} s "
              f"(RSS {rss_before:.0f} MB before, peak {peak.peak:.0f} MB)", flush=True)

        # The baseline's rows: what the launch wrote, read back (not timed).
        cols = ", ".join(_MESSAGE_COLUMNS)
        message_rows = [tuple(r.values()) for r in await conn().execute_query_dict(
            f"SELECT {cols} FROM message_sent ORDER BY id")]
        link_rows = [tuple(r.values()) for r in await conn().execute_query_dict(
            f"SELECT {', '.join(_LINK_COLUMNS)} FROM message_short_link ORDER BY id")]
        base_s = statistics.median([await _baseline_write(backend, message_rows, link_rows)
                                    for _ in range(baseline_runs)])
        what = "COPY" if backend == "postgres" else "executemany"
        results.append(Result(backend, f"baseline: {what} of the rows", queued, base_s,
                              note=f"{len(link_rows):,} links too"))
        print(f"{backend}: baseline {what} of {queued:,} messages and {len(link_rows):,} "
              f"links in {base_s:.2f} s", flush=True)
        results.append(Result(backend, "launch to queued (1 link each)", queued, seconds,
                              peak_mb=peak.peak, baseline_rate=queued / base_s,
                              note=f"{launched.segments:,} segments, "
                                   f"est. ${launched.estimated_cost}"))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline-runs", type=int, default=1,
                        help="times the baseline write is repeated (median)")
    args = parser.parse_args()
    results: list[Result] = []
    for backend in args.backends.split(","):
        results += asyncio.run(bench(backend, args.rows, args.runs, args.baseline_runs))
    print_table("Audience count and launch (items: audience size / messages queued)",
                results, unit="rows/s")


if __name__ == "__main__":
    main()
