"""Shared fixtures: a clean database per test on the backend named by
``TRACKLY_TEST_DATABASE_URL`` (SQLite in memory by default), a FakeClock, services,
and an HTTP client talking to the real web app over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from tortoise import Tortoise
from tortoise.backends.base import executor as tortoise_executor
from tortoise.migrations.executor import MigrationExecutor

from core.clock import FakeClock
from core.db import database, migrate, tortoise_config
from core.services import Services
from core.settings import Settings
from tests.helpers import AppServer
from trackly.bootstrap import build_services
from web.app import create_app, server_args

pytest_plugins = ["tests.fakes.fixtures"]

BASE_URL = os.environ.get("TRACKLY_TEST_DATABASE_URL", "sqlite://:memory:")
IS_POSTGRES = urlsplit(BASE_URL).scheme in ("postgres", "postgresql", "asyncpg")
TEST_SECRET = "test-secret-key-0123456789abcdef"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _asyncpg_dsn(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("postgresql", *parts[1:]))


async def _pg_admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(server))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# Work done once per test run and shared by every pytest-xdist worker (and by the lone
# process without xdist): the migrated SQLite image and one migrated PostgreSQL template
# per server. tortoise replays every migration's model state in Python to migrate (20-50 s
# on this machine), so each worker doing it again would cost minutes of the run. The
# controlling process makes a directory for the run and names it in the environment its
# workers inherit; whoever needs a thing first builds it under a file lock, the others
# wait and take it. The controller drops the templates and the directory at the end.
_SHARED_ENV = "TRACKLY_TEST_SHARED_DIR"


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller, or the only process
        os.environ[_SHARED_ENV] = tempfile.mkdtemp(prefix="trackly-tests-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    shared = Path(os.environ.pop(_SHARED_ENV, "") or "/nonexistent")
    for marker in shared.glob("pg-*.template"):
        server, name = marker.read_text().split("\n")[:2]
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            asyncio.run(_pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    shutil.rmtree(shared, ignore_errors=True)


@contextlib.contextmanager
def _shared(name: str) -> Iterator[Path]:
    """The run's shared file ``name``, under an exclusive lock for as long as the block runs
    (to read it, or to build it when it is missing)."""
    shared = Path(os.environ[_SHARED_ENV])
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield shared / name
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@functools.cache
def _pg_template(server: str) -> str:
    """A database on ``server`` migrated once per test run: each scratch database is a
    clone of it (CREATE DATABASE ... TEMPLATE copies files; migrating replays every
    migration's model state in Python, seconds each time). Dropped at the run's end."""
    key = hashlib.sha256(server.encode()).hexdigest()[:16]
    with _shared(f"pg-{key}.template") as marker:
        if marker.exists():
            _, name, done = marker.read_text().split("\n")[:3]
            assert done == "migrated", f"building the template {name} failed in another worker"
            return name
        name = f"trackly_tmpl_{os.getpid()}_{secrets.token_hex(3)}"
        asyncio.run(_pg_admin(server, f'CREATE DATABASE "{name}"'))
        marker.write_text(f"{server}\n{name}\nbuilding\n")  # dropped at the end in any case
        asyncio.run(migrate(_with_database(server, name)))
        marker.write_text(f"{server}\n{name}\nmigrated\n")
        return name


@contextlib.contextmanager
def scratch_postgres(prefix: str, *, server: str = BASE_URL, migrated: bool = True
                     ) -> Iterator[str]:
    """A PostgreSQL database of its own on ``server`` (a unique name, so parallel runs
    never meet), migrated unless asked not to (a clone of a database migrated once per
    run); dropped afterwards. Yields its URL."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    template = f' TEMPLATE "{_pg_template(server)}"' if migrated else ""
    asyncio.run(_pg_admin(server, f'CREATE DATABASE "{name}"{template}'))
    try:
        yield _with_database(server, name)
    finally:
        asyncio.run(_pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def tortoise_caches_set_aside() -> Iterator[None]:
    """tortoise caches insert/delete SQL per connection *name* (EXECUTOR_CACHE): work on
    another backend under the name "default" in this process (an in-process command on
    SQLite during the PostgreSQL run) must neither use nor leave the other's SQL."""
    kept = dict(tortoise_executor.EXECUTOR_CACHE)
    tortoise_executor.EXECUTOR_CACHE.clear()
    try:
        yield
    finally:
        tortoise_executor.EXECUTOR_CACHE.clear()
        tortoise_executor.EXECUTOR_CACHE.update(kept)


@functools.cache
def sqlite_image() -> bytes:
    """The committed migrations applied once per test run to an in-memory SQLite database,
    serialised (the bytes of a database file)."""

    async def build() -> bytes:
        async with database("sqlite://:memory:") as ctx:
            client = ctx.db("default")
            executor = MigrationExecutor(client, tortoise_config("sqlite://:memory:")["apps"])
            await executor.migrate()
            raw = client._connection  # aiosqlite connection; serialise in its thread
            return await raw._execute(raw._conn.serialize)

    with _shared("sqlite.image") as path:
        if path.exists():
            return path.read_bytes()
        with tortoise_caches_set_aside():
            image = asyncio.run(build())
        path.write_bytes(image)
        return image


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """SQLite: in memory, fresh per test. PostgreSQL: one database per test process (each
    pytest-xdist worker has its own, so their resets and locks never meet), a clone of the
    run's migrated template, emptied per test."""
    if not IS_POSTGRES:
        yield "sqlite://:memory:"
        return
    with scratch_postgres("trackly_test") as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template() -> bytes:
    """The committed migrations applied once per run to an in-memory SQLite database,
    serialised.

    tortoise's migration engine replays model state in Python (seconds per run), so each
    test loads this image instead of migrating again."""
    return b"" if IS_POSTGRES else sqlite_image()


# The per-test reset on PostgreSQL, in one round trip: every table empty and every identity
# restarted, as TRUNCATE ... RESTART IDENTITY CASCADE of all of them leaves it, touching only
# what the last test used. TRUNCATE makes new files for every table, index and partition it
# reaches (about 280; through CASCADE from account nearly all) and syncs them at commit:
# 0.6-2.1 s per test on this loaded machine whatever the test wrote. DELETE writes no
# files, but with the foreign-key triggers on, DELETE of thousands of rows checks the
# referencing tables row by row (minutes, once, after a launch test). So each written table
# is DELETEd with those triggers off (session_replication_role = replica, for this
# transaction only: every table they would check is emptied in the same transaction, and
# the schema has no other triggers): 0.05-0.13 s after a launch to 20 to 10,000 contacts.
# A table that held more than RESET_DELETE_MAX rows would leave as many dead rows for
# every later probe and insert to wade through (autovacuum may be off): then the written
# tables are truncated instead, which also gives them fresh files.
RESET_DELETE_MAX = 5000

_RESET_POSTGRES = """
DO $reset$
DECLARE
    name text;
    n bigint;
    dirty text[] := '{}';
    big boolean := false;
    seq regclass;
    start bigint;
BEGIN
    FOREACH name IN ARRAY %(tables)s LOOP
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %%I LIMIT %(limit)s) s', name)
            INTO n;
        IF n > 0 THEN dirty := dirty || quote_ident(name); END IF;
        IF n > %(most)s THEN big := true; END IF;
    END LOOP;
    IF big THEN
        EXECUTE 'TRUNCATE ' || array_to_string(dirty, ', ') || ' RESTART IDENTITY CASCADE';
    ELSIF cardinality(dirty) > 0 THEN
        PERFORM set_config('session_replication_role', 'replica', true);
        FOREACH name IN ARRAY dirty LOOP
            EXECUTE 'DELETE FROM ' || name;
        END LOOP;
        PERFORM set_config('session_replication_role', 'origin', true);
    END IF;
    FOR seq, start IN
        SELECT q.seqrelid, q.seqstart FROM pg_sequence q
        JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = q.seqrelid
             AND d.deptype IN ('a', 'i')
        JOIN pg_class t ON t.oid = d.refobjid
        WHERE t.relname = ANY (%(tables)s)
    LOOP
        IF pg_sequence_last_value(seq) IS NOT NULL THEN  -- used since its last reset
            PERFORM setval(seq, start, false);
        END IF;
    END LOOP;
END
$reset$
"""


async def _truncate_postgres() -> None:
    """Every table empty and every identity restarted (see _RESET_POSTGRES)."""
    conn = Tortoise.get_connection("default")
    tables = [m._meta.db_table for m in Tortoise.apps.get_models_iterable()]
    tables += ["audience_sending_list", "schedule_audience"]
    array = "ARRAY[" + ", ".join("'" + t.replace("'", "''") + "'" for t in tables) + "]"
    await conn.execute_script(_RESET_POSTGRES % {
        "tables": array, "limit": RESET_DELETE_MAX + 1, "most": RESET_DELETE_MAX})


@pytest.fixture
async def db(database_url: str, sqlite_template: bytes) -> AsyncIterator[str]:
    """A clean, migrated database for this test. Yields its URL."""
    async with database(database_url) as ctx:
        if IS_POSTGRES:
            await _truncate_postgres()
        else:
            client = ctx.db("default")
            await client.execute_query("SELECT 1")  # opens the connection
            raw = client._connection
            await raw._execute(raw._conn.deserialize, sqlite_template)
        yield database_url


@pytest.fixture
def clock() -> FakeClock:
    # A Tuesday, 10:00 in New York.
    return FakeClock(dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC))


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        database_url=BASE_URL if not IS_POSTGRES else "postgres://localhost/unused",
        secret_key=TEST_SECRET,
        public_url="http://127.0.0.1:8080",
        data_dir=tmp_path,
    )


@pytest.fixture
def services(db: str, clock: FakeClock, settings: Settings) -> Services:
    return build_services(settings, clock=clock, secret_key=TEST_SECRET)


@pytest.fixture
async def http(services: Services) -> AsyncIterator[TestClient]:
    """An HTTP client for the real web app, served on a loopback port."""
    client = TestClient(AppServer(create_app(services), **server_args()))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
