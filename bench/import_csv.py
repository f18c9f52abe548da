"""CSV import speed and memory, SQLite and PostgreSQL, next to a bare-write baseline.

    python bench/import_csv.py [--sizes 100000,1000000] [--backends sqlite,postgres]
                               [--pg postgres://postgres@127.0.0.1:5432/postgres]

Generates contacts files (5% bad rows: invalid numbers, future consent dates, bad
emails, numbers repeated from earlier lines) under bench/data/, then for each backend
and size, in a fresh database and a fresh process each:

* import: the real ImportService (read, detect, validate, normalise, dedupe, write
  contacts, subscriptions and row errors, commit per batch), dry_run off;
* baseline: the same good rows written with a bare COPY (PostgreSQL) or executemany
  (SQLite), no file, no parsing.

rows/s counts the rows of the file for the import and the rows written for the
baseline; "vs base" divides the two. The percentiles are per batch of 10,000 rows (the
import: read, check and write one batch; the baseline: write one). Peak memory is the
process's maximum resident set size (ru_maxrss), so it includes the interpreter and the
libraries.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
sys.path.insert(0, str(ROOT))

from bench.harness import Result, print_table  # noqa: E402  (after the path is set)

SECRET = "bench-secret-key-0123456789abcdef"
LIST_NUMBER = "+14155550000"
NOW = dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC)
BATCH = 10_000  # as the importer's batches


# -- data --------------------------------------------------------------------------------


def us_area_codes() -> list[str]:
    import phonenumbers

    from core.contacts.area_codes import AREA_CODE_STATES

    codes = []
    for npa in sorted(AREA_CODE_STATES):
        number = phonenumbers.parse(f"+1{npa}2345678", None)
        if phonenumbers.region_code_for_number(number) == "US" and \
                phonenumbers.is_valid_number(number):
            codes.append(npa)
    return codes


def good_number(i: int, codes: list[str]) -> str:
    """The i-th distinct, valid US number (spread over area codes and exchanges)."""
    npa = codes[i % len(codes)]
    rest = i // len(codes)
    nxx = 200 + (rest % 700)
    line = (rest // 700) % 10_000
    return f"{npa}{nxx}{line:04d}"


def generate(path: Path, rows: int) -> None:
    rng = random.Random(rows)
    codes = us_area_codes()
    styles = ["({a}) {b}-{c}", "{a}.{b}.{c}", "+1 {a} {b} {c}", "1{a}{b}{c}", "{a}-{b}-{c}"]
    cities = ["Austin", "Boston", "Chicago", "Denver", "Miami", "Seattle", "Tampa"]
    tmp = path.with_suffix(".tmp")
    good = 0
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["phone", "first_name", "last_name", "email", "consent_date", "city"])
        for n in range(rows):
            bad = rng.random() < 0.05
            kind = rng.randrange(4) if bad else -1
            if kind == 3 and good:  # a number seen on an earlier line
                digits = good_number(rng.randrange(good), codes)
            else:
                digits = good_number(good, codes)
                if not bad:
                    good += 1
            a, b, c = digits[:3], digits[3:6], digits[6:]
            phone = rng.choice(styles).format(a=a, b=b, c=c)
            consent = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            email = f"user{n}@example.com"
            if kind == 0:
                phone = f"555-{c}"
            elif kind == 1:
                consent = "2031-01-01"
            elif kind == 2:
                email = f"user{n}-at-example"
            out.writerow([phone, f"First{n}", f"Last{n}", email, consent, rng.choice(cities)])
    tmp.replace(path)


def data_file(rows: int) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"contacts_{rows}.csv"
    if not path.exists():
        print(f"generating {path.name} ...", file=sys.stderr, flush=True)
        generate(path, rows)
    return path


# -- databases ------------------------------------------------------------------------------


def fresh_database(backend: str, pg_admin: str, tag: str) -> str:
    from core.db import migrate

    if backend == "sqlite":
        path = DATA / f"bench_{tag}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite://{path}"
    else:
        import asyncpg

        name = f"trackly_bench_{tag}"

        async def create() -> None:
            parts = urlsplit(pg_admin)
            conn = await asyncpg.connect(urlunsplit(("postgresql", *parts[1:])))
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())
        parts = urlsplit(pg_admin)
        url = urlunsplit(("postgres", parts.netloc, f"/{name}", "", ""))
    asyncio.run(migrate(url))
    return url


def drop_database(backend: str, pg_admin: str, url: str) -> None:
    if backend == "sqlite":
        path = urlsplit(url).path
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import asyncpg

    async def drop() -> None:
        parts = urlsplit(pg_admin)
        conn = await asyncpg.connect(urlunsplit(("postgresql", *parts[1:])))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path[1:]}" '
                               "WITH (FORCE)")
        finally:
            await conn.close()

    asyncio.run(drop())


# -- the two measurements (each in its own process) ------------------------------------------


async def measure_import(url: str, path: Path) -> dict[str, Any]:
    from core.clock import FakeClock
    from core.contacts.lists import ListChanges
    from core.db import database
    from core.permissions import Actor
    from core.settings import Settings
    from trackly.bootstrap import build_services

    settings = Settings(database_url=url, secret_key=SECRET, data_dir=DATA)
    services = build_services(settings, clock=FakeClock(NOW), secret_key=SECRET)
    async with database(url):
        account = await services.accounts.create_account("Bench", "bench@example.com")
        actor = Actor.system(account.id)
        await services.lists.create_list(actor, ListChanges(phone_number=LIST_NUMBER,
                                                            provider="simulator"))
        job = await services.imports.create_job(actor, list_number=LIST_NUMBER, path=path,
                                                dry_run=False)
        laps: list[float] = []
        started = last = time.perf_counter()

        def lap(_: object) -> None:
            nonlocal last
            now = time.perf_counter()
            laps.append((now - last) * 1000)
            last = now

        job = await services.imports.run(job.id, progress=lap)
        seconds = time.perf_counter() - started
    assert job.status == "completed", job.failure
    return {"rows": job.rows_processed, "written": job.created_count, "seconds": seconds,
            "errors": job.error_count, "laps": laps}


async def measure_baseline(url: str, rows: int) -> dict[str, Any]:
    """The good rows of the file, already normalised in memory, written bare."""
    from tortoise.transactions import in_transaction

    from core.db import database
    from core.settings import Settings

    codes = us_area_codes()
    good = int(rows * 0.95)
    settings = Settings(database_url=url, secret_key=SECRET, data_dir=DATA)
    laps: list[float] = []
    async with database(settings.database_url) as ctx:
        conn = ctx.db("default")
        await conn.execute_query(
            "INSERT INTO account (name, owner_email, status, default_timezone, "
            "default_region, brand_name, prepend_text, append_text, smart_encoding, "
            "bot_filter_mode, stop_scope, complaint_is_opt_out, price_plan, billing_status, "
            "settings, created_at, updated_at) VALUES ('Bench', 'b@example.com', 'active', "
            "'America/New_York', 'US', '', '', '', false, 'record', 'list', true, "
            "'default', 'ok', '{}', '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00')")
        await conn.execute_query(
            "INSERT INTO sending_list (account_id, name, phone_number, number_type, "
            "country_code, provider, brand_name, webhook_token, status, "
            "rate_limit_per_minute, allow_landlines, created_at, updated_at) VALUES "
            "(1, '', '+14155550000', 'long_code', 'US', 'simulator', '', 'tok', 'active', "
            "17000, false, '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00')")
        postgres = conn.capabilities.dialect == "postgres"
        stamp = NOW if postgres else str(NOW)
        for start in range(0, good, BATCH):
            ids = range(start + 1, min(start + BATCH, good) + 1)
            contacts = [(i, "+1" + good_number(i - 1, codes), "US", True, "cell", "",
                         "America/New_York", "NY", "212", stamp) for i in ids]
            subs = [(i, 1, 1, i, "active", stamp, "import", stamp, f"First{i}", f"Last{i}",
                     f"user{i}@example.com", "", "", '{"city":"Austin"}', False, 0, 0, 0, 0,
                     stamp, stamp, "NY", "212") for i in ids]
            began = time.perf_counter()
            async with in_transaction() as tx, tx.acquire_connection() as raw:
                if postgres:  # the importer's own commit setting, so the two compare
                    await raw.execute("SET LOCAL synchronous_commit TO OFF")
                    await raw.copy_records_to_table("contact", records=contacts, columns=[
                        "id", "phone_number", "country_code", "is_valid", "line_type",
                        "carrier", "timezone", "state", "area_code", "created_at"])
                    await raw.copy_records_to_table("list_contact", records=subs, columns=[
                        "id", "account_id", "sending_list_id", "contact_id", "status",
                        "signup_date", "signup_method", "consent_date", "first_name",
                        "last_name", "email", "ad_network_source", "ad_network_id",
                        "custom_fields", "in_workflow", "send_count", "click_count",
                        "revenue_total", "conversion_count", "created_at", "updated_at",
                        "state", "area_code"])
                else:
                    await raw.executemany(
                        "INSERT INTO contact (id, phone_number, country_code, is_valid, "
                        "line_type, carrier, timezone, state, area_code, created_at) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?)", contacts)
                    await raw.executemany(
                        "INSERT INTO list_contact (id, account_id, sending_list_id, "
                        "contact_id, status, signup_date, signup_method, consent_date, "
                        "first_name, last_name, email, ad_network_source, ad_network_id, "
                        "custom_fields, in_workflow, send_count, click_count, revenue_total, "
                        "conversion_count, created_at, updated_at, state, area_code) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", subs)
            laps.append((time.perf_counter() - began) * 1000)
    return {"rows": good, "written": good, "seconds": sum(laps) / 1000, "errors": 0,
            "laps": laps}


def child(mode: str, url: str, rows: int) -> None:
    if mode == "import":
        result = asyncio.run(measure_import(url, data_file(rows)))
    else:
        result = asyncio.run(measure_baseline(url, rows))
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_child(mode: str, url: str, rows: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", mode, "--url", url,
                           "--rows", str(rows)], capture_output=True, text=True,
                          check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode != 0:
        raise SystemExit(f"{mode} on {url} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--pg", default=os.environ.get(
        "BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--child", choices=["import", "baseline"])
    parser.add_argument("--url")
    parser.add_argument("--rows", type=int)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.rows)
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    backends = args.backends.split(",")
    for rows in sizes:
        data_file(rows)
    results: list[Result] = []
    for backend in backends:
        for rows in sizes:
            measured = {}
            for mode in ("baseline", "import"):
                url = fresh_database(backend, args.pg, f"{os.getpid()}")
                try:
                    print(f"{backend} {rows} {mode} ...", file=sys.stderr, flush=True)
                    measured[mode] = run_child(mode, url, rows)
                finally:
                    drop_database(backend, args.pg, url)
            base = measured["baseline"]
            for mode in ("baseline", "import"):
                r = measured[mode]
                results.append(Result(
                    backend, f"{mode} {rows:,} rows", int(r["rows"]), r["seconds"],
                    latencies_ms=r["laps"], peak_mb=r["peak_mb"],
                    baseline_rate=base["rows"] / base["seconds"] if mode == "import" else None,
                    note=f"{int(r['written']):,} written, {int(r['errors']):,} bad"))
    print_table("CSV import (percentiles per batch of 10,000 rows)", results, unit="rows/s")


if __name__ == "__main__":
    main()
