"""Shared fixtures: a clean database per test on the backend named by
``TRACKLY_TEST_DATABASE_URL`` (SQLite in memory by default), a FakeClock, services,
and an HTTP client talking to the real web app over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from tortoise import Tortoise
from tortoise.migrations.executor import MigrationExecutor

from core.clock import FakeClock
from core.db import database, migrate, tortoise_config
from core.services import Services
from core.settings import Settings
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


@contextlib.contextmanager
def scratch_postgres(prefix: str, *, server: str = BASE_URL, migrated: bool = True
                     ) -> Iterator[str]:
    """A PostgreSQL database of its own on ``server`` (a unique name, so parallel runs
    never meet), migrated unless asked not to; dropped afterwards. Yields its URL."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(server))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        url = _with_database(server, name)
        if migrated:
            asyncio.run(migrate(url))
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """SQLite: in memory, fresh per test. PostgreSQL: one database per test session,
    migrated once, truncated per test."""
    if not IS_POSTGRES:
        yield "sqlite://:memory:"
        return
    with scratch_postgres("trackly_test") as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template() -> bytes:
    """The committed migrations applied once to an in-memory SQLite database, serialised.

    tortoise's migration engine replays model state in Python (seconds per run), so each
    test loads this image instead of migrating again."""
    if IS_POSTGRES:
        return b""

    async def build() -> bytes:
        async with database("sqlite://:memory:") as ctx:
            client = ctx.db("default")
            executor = MigrationExecutor(client, tortoise_config("sqlite://:memory:")["apps"])
            await executor.migrate()
            raw = client._connection  # aiosqlite connection; serialise in its thread
            return await raw._execute(raw._conn.serialize)

    return asyncio.run(build())


async def _truncate_postgres() -> None:
    conn = Tortoise.get_connection("default")
    tables = [m._meta.db_table for m in Tortoise.apps.get_models_iterable()]
    tables += ["audience_sending_list", "schedule_audience"]
    quoted = ", ".join(f'"{t}"' for t in tables)
    await conn.execute_script(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")


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
    client = TestClient(TestServer(create_app(services), **server_args()))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
