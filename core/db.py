"""Database wiring: one tortoise app (``models``), one models module per domain,
built-in migrations committed under ``core/migrations``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import get_connection
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.executor import MigrationExecutor

APP = "models"
MIGRATIONS_MODULE = "core.migrations"
MODEL_MODULES = [
    "core.accounts.models",
    "core.contacts.models",
    "core.inbound.models",
    "core.offers.models",
    "core.creatives.models",
    "core.audiences.models",
    "core.messaging.models",
    "core.tracking.models",
    "core.campaigns.models",
    "core.journeys.models",
    "core.selection.models",
    "core.billing.models",
    "core.notifications.models",
    "core.support.models",
    "core.webhooks.models",
    "core.system.models",
    "core.audit.models",
]


def normalize_url(url: str) -> str:
    """tortoise speaks ``postgres://`` (asyncpg) and ``sqlite://``."""
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "asyncpg"):
        return urlunsplit(("postgres", *parts[1:]))
    return url


def connection_config(url: str) -> dict[str, Any]:
    """tortoise's reading of the URL, plus what our PostgreSQL connections need.

    Every statement asyncpg runs is prepared; after five runs PostgreSQL may switch a
    prepared statement to a generic plan, which for our bulk lookups (``= ANY($1)``,
    ``IN (...)`` from the ORM) can be a hundred times slower than the custom one.
    Planning each run costs microseconds; a bad generic plan costs the send pipeline.

    asyncpg's pool resets every connection it takes back with ``RESET ALL``, ``UNLISTEN``,
    ``CLOSE ALL`` and an advisory unlock: one round trip per release, a third of a single
    send's. Nothing of ours leaves session state behind (settings are ``SET LOCAL``,
    staging tables empty themselves at commit, no session advisory lock, no LISTEN on a
    pooled connection), so the reset is :func:`keep_session`; asyncpg still rolls back a
    transaction left open before the connection is handed out again."""
    config = expand_db_url(normalize_url(url))
    if config["engine"] == "tortoise.backends.asyncpg":
        credentials = config["credentials"]
        settings = credentials.setdefault("server_settings", {})
        settings.setdefault("plan_cache_mode", "force_custom_plan")
        settings.setdefault("application_name", "trackly")
        credentials.setdefault("reset", keep_session)
    return config


async def keep_session(connection: Any) -> None:
    """The pool's reset: nothing to undo (see :func:`connection_config`)."""


def tortoise_config(url: str) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(url)},
        "apps": {
            APP: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def dialect() -> str:
    """``postgres`` or ``sqlite``: the few hot paths below the ORM branch on it."""
    return get_connection("default").capabilities.dialect


@contextlib.asynccontextmanager
async def database(url: str, *, create: bool = False) -> AsyncIterator[TortoiseContext]:
    """Open the database for this process; every task started inside sees it."""
    ctx = TortoiseContext()
    async with ctx:
        await ctx.init(config=tortoise_config(url), _create_db=create,
                       _enable_global_fallback=True)
        await ctx.db("default").execute_query("SELECT 1")  # fail here, not mid-operation
        yield ctx


async def migrate(url: str) -> list[str]:
    """Apply every committed migration not yet applied; return their names."""
    async with database(url) as ctx:
        executor = MigrationExecutor(ctx.db("default"), tortoise_config(url)["apps"])
        plan = await executor.plan()
        await executor.migrate()
        return [step.migration.name for step in plan if not step.backward]


async def pending_migrations(url: str) -> list[str]:
    async with database(url):
        return await pending_migrations_here()


async def pending_migrations_here() -> list[str]:
    """Migrations not yet applied to the database this process has open."""
    executor = MigrationExecutor(get_connection("default"),
                                 tortoise_config("sqlite://:memory:")["apps"])
    return [step.migration.name for step in await executor.plan() if not step.backward]


_drift: list[str] | None = None  # model_changes_without_migration's answer, once computed


async def model_changes_without_migration() -> list[str]:
    """Operations the models imply that no committed migration performs (should be none).

    Needs an initialised context (any backend: it compares model state, not tables).
    Computed once per process (replaying every migration's model state takes seconds of
    CPU): both sides are imported modules, which cannot change while the process runs."""
    global _drift
    if _drift is None:
        apps = Tortoise.apps
        assert apps is not None
        detector = MigrationAutodetector(apps, tortoise_config("sqlite://:memory:")["apps"])
        writers = await detector.changes()
        _drift = [repr(op) for writer in writers for op in writer.operations]
    return list(_drift)


async def write_migrations(name: str | None = None) -> list[str]:
    """Write migration files for model changes (developer command)."""
    async with database("sqlite://:memory:"):
        apps = Tortoise.apps
        assert apps is not None
        detector = MigrationAutodetector(apps, tortoise_config("sqlite://:memory:")["apps"])
        writers = await detector.changes()
        paths = []
        for writer in writers:
            if name:
                number = writer.name.split("_", 1)[0]
                writer.name = f"{number}_{name}"
            paths.append(str(writer.write()))
        return paths


def database_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database could not be reached or
    dropped the connection (server restarting, shut down, network cut), as opposed to a
    statement the database refused. Such a request may simply be tried again."""
    import asyncpg
    from tortoise.exceptions import DBConnectionError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBConnectionError | asyncpg.PostgresConnectionError
                      | asyncpg.CannotConnectNowError | asyncpg.ConnectionDoesNotExistError
                      | asyncpg.AdminShutdownError | asyncpg.CrashShutdownError
                      | ConnectionRefusedError | ConnectionResetError):
            return True
        if isinstance(current, asyncpg.InterfaceError) and "closed" in str(current):
            return True
        if isinstance(current, asyncpg.InternalClientError) \
                and "cannot switch to state" in str(current):
            # A connection that received the server's shutdown notice while idle is still
            # consuming that error when the next statement arrives (seen in CI when
            # PostgreSQL restarted under load): the connection is dying, not the statement.
            return True
        current = current.__cause__ or current.__context__
    return False
