"""The committed migrations are the schema: they match the models, and produce the same
tables and columns on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg

from core.db import model_changes_without_migration
from tests.cli_helpers import trackly
from tests.conftest import BASE_URL, IS_POSTGRES, _asyncpg_dsn, scratch_postgres

PG_ADMIN = BASE_URL if IS_POSTGRES else "postgres://postgres@127.0.0.1:5432/test"


async def test_models_have_no_changes_missing_a_migration(db):
    assert await model_changes_without_migration() == []


def _sqlite_schema(path) -> set[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        return {(t, row[1]) for t in tables for row in conn.execute(f'PRAGMA table_info("{t}")')}
    finally:
        conn.close()


def _sqlite_indexes(path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='index' AND name NOT LIKE 'sqlite_%'")}
    finally:
        conn.close()


async def _pg_schema(dsn: str) -> tuple[set[tuple[str, str]], set[str]]:
    conn = await asyncpg.connect(dsn)
    try:
        cols = {(r["table_name"], r["column_name"]) for r in await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name NOT IN "  # monthly partitions
            "(SELECT relname FROM pg_class WHERE relispartition)")}
        indexes = {r["indexname"] for r in await conn.fetch(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' "
            "AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'")}
        return cols, indexes
    finally:
        await conn.close()


def test_trackly_migrate_gives_the_same_tables_on_sqlite_and_postgres(tmp_path):
    sqlite_file = tmp_path / "fresh.sqlite3"
    done = trackly("migrate", cwd=tmp_path,
                   env={"TRACKLY_DATABASE_URL": f"sqlite://{sqlite_file}"})
    assert done.returncode == 0, done.stderr
    assert "applied 0001_initial" in done.stdout
    again = trackly("migrate", cwd=tmp_path,
                    env={"TRACKLY_DATABASE_URL": f"sqlite://{sqlite_file}"})
    assert "up to date" in again.stdout

    # An empty database: `trackly migrate` is what is being tested.
    with scratch_postgres("trackly_mig", server=PG_ADMIN, migrated=False) as pg_url:
        done = trackly("migrate", cwd=tmp_path, env={"TRACKLY_DATABASE_URL": pg_url})
        assert done.returncode == 0, done.stderr
        pg_cols, pg_indexes = asyncio.run(_pg_schema(_asyncpg_dsn(pg_url)))

    sqlite_cols = _sqlite_schema(sqlite_file)
    assert len(sqlite_cols) > 300
    assert sqlite_cols == pg_cols
    # Unique constraints appear as indexes on SQLite and as constraints on PostgreSQL;
    # the explicit indexes must match by name.
    explicit = {i for i in _sqlite_indexes(sqlite_file) if i.startswith(("idx_", "uniq_"))}
    assert explicit and explicit <= pg_indexes
