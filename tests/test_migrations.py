"""The committed migrations are the schema: they match the models, and produce the same
tables and columns on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import importlib
import sqlite3

import asyncpg
import pytest
from tortoise.migrations.graph import MigrationKey
from tortoise.migrations.schema_generator.state import State

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


# -- every migration runs on a database whose tables hold rows ------------------------------

_PG_VALUES = {"integer": "1", "bigint": "1", "smallint": "1", "boolean": "true",
              "numeric": "1", "real": "1", "double precision": "1", "jsonb": "'{}'",
              "json": "'{}'", "date": "'2026-01-01'", "uuid":
              "'00000000-0000-0000-0000-000000000001'", "bytea": "'\\x00'::bytea",
              "time with time zone": "'10:00:00+00'", "time without time zone": "'10:00:00'",
              "timestamp with time zone": "now()", "timestamp without time zone": "now()"}


def _sqlite_value(declared: str) -> str:
    declared = declared.upper()
    if "INT" in declared or "BOOL" in declared or "DEC" in declared or "REAL" in declared:
        return "1"
    if "TIMESTAMP" in declared or "DATETIME" in declared:
        return "'2026-01-01 00:00:00+00:00'"
    if "JSON" in declared:
        return "'{}'"
    if "BLOB" in declared:
        return "x'00'"
    return "'1'"


async def _fill_empty_tables(client, pg: bool) -> None:
    """One row in every empty table, each required column given a value of its type
    (foreign keys are not checked: the point is the rows, not what they reference)."""
    if pg:
        columns = await client.execute_query_dict(
            "SELECT c.table_name AS t, c.column_name AS c, c.data_type AS type "
            "FROM information_schema.columns c JOIN pg_class k ON k.relname = c.table_name "
            "WHERE c.table_schema = 'public' AND c.is_nullable = 'NO' "
            "AND c.column_default IS NULL AND c.is_identity = 'NO' AND NOT k.relispartition "
            "AND k.relkind IN ('r', 'p') ORDER BY c.table_name, c.ordinal_position")
        tables = {r["t"] for r in await client.execute_query_dict(
            "SELECT relname AS t FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind IN ('r', 'p') AND NOT relispartition")}
        required: dict[str, list[tuple[str, str]]] = {t: [] for t in tables}
        for r in columns:
            required[r["t"]].append((r["c"], _PG_VALUES.get(r["type"], "'1'")))
        await client.execute_script("SET session_replication_role = replica")
    else:
        tables = {r["name"] for r in await client.execute_query_dict(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
        required = {}
        for t in tables:
            info = await client.execute_query_dict(f'PRAGMA table_info("{t}")')
            required[t] = [(c["name"], _sqlite_value(c["type"])) for c in info
                           if c["notnull"] and c["dflt_value"] is None and not c["pk"]]
        await client.execute_script("PRAGMA foreign_keys = OFF")
    for table in sorted(tables):
        if table == "tortoise_migrations":
            continue
        if (await client.execute_query_dict(f'SELECT COUNT(*) AS n FROM "{table}"'))[0]["n"]:
            continue
        cols = required[table]
        if cols:
            names = ", ".join(f'"{c}"' for c, _ in cols)
            await client.execute_script(f'INSERT INTO "{table}" ({names}) VALUES '
                                        f'({", ".join(v for _, v in cols)})')
        else:
            await client.execute_script(f'INSERT INTO "{table}" DEFAULT VALUES')


async def _migrate_one_by_one_over_rows(url: str, names: list[str]) -> None:
    from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

    from core.db import database, tortoise_config

    class StateKept(MigrationExecutor):
        """Each ``migrate`` call replays the model state of every migration already
        applied before it applies the next (quadratic in the migrations, seconds each).
        A forward step mutates that state in place, so the state the previous call left
        is the projection of what is applied now: keep it instead of replaying."""

        kept: State | None = None

        async def _project_state(self, applied: set[MigrationKey], *,
                                 upto: MigrationKey | None = None) -> State:
            if upto is not None:
                return await super()._project_state(applied, upto=upto)
            if self.kept is None:
                self.kept = await super()._project_state(applied)
            return self.kept

    async with database(url) as ctx:
        client = ctx.db("default")
        executor = StateKept(client, tortoise_config(url)["apps"])
        for name in names:
            await executor.migrate([MigrationTarget("models", name)], direction="forward")
            await _fill_empty_tables(client, url.startswith("postgres"))


def test_every_migration_runs_on_tables_that_hold_rows(tmp_path):
    """An upgrade meets tables with rows: a column added NOT NULL without a database
    default (tortoise's AddField with only a Python default) fails there, on PostgreSQL
    and on SQLite, though it passes on the empty tables of a fresh install."""
    from pathlib import Path

    names = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "core"
                                    / "migrations").glob("0*.py"))
    assert len(names) >= 18
    if IS_POSTGRES:
        with scratch_postgres("trackly_rows", server=PG_ADMIN, migrated=False) as url:
            asyncio.run(_migrate_one_by_one_over_rows(url, names))
    else:
        asyncio.run(_migrate_one_by_one_over_rows(f"sqlite://{tmp_path / 'up.db'}", names))


# -- 0020: list_contact rewritten (PostgreSQL), state and area code copied ------------------

_CATALOG = (
    # list_contact's own constraints and indexes, and the foreign keys pointing at it
    "SELECT 'con ' || conrelid::regclass || ' ' || conname || ' ' || "
    "pg_get_constraintdef(oid) AS d FROM pg_constraint "
    "WHERE conrelid = 'list_contact'::regclass OR confrelid = 'list_contact'::regclass "
    "UNION ALL SELECT 'idx ' || pg_get_indexdef(indexrelid) FROM pg_index "
    "WHERE indrelid = 'list_contact'::regclass "
    "UNION ALL SELECT 'col ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) "
    "|| ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') "
    "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid "
    "AND d.adnum = a.attnum WHERE a.attrelid = 'list_contact'::regclass AND a.attnum > 0 "
    "AND NOT a.attisdropped AND a.attname NOT IN ('state', 'area_code') "
    "UNION ALL SELECT 'seq ' || pg_get_serial_sequence('list_contact', 'id')")


async def _up_to_0020_over_rows(url: str, pg: bool) -> None:
    from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

    from core.db import database, tortoise_config

    async with database(url) as ctx:
        client = ctx.db("default")
        executor = MigrationExecutor(client, tortoise_config(url)["apps"])
        await executor.migrate([MigrationTarget("models", "0019_message_sent_lean_indexes")],
                               direction="forward")
        await _fill_empty_tables(client, pg)
        await client.execute_script("UPDATE contact SET state = 'CA', area_code = '415'")
        before = (sorted(r["d"] for r in await client.execute_query_dict(_CATALOG))
                  if pg else [])
        rows = await client.execute_query_dict("SELECT id, contact_id FROM list_contact")
        await executor.migrate([MigrationTarget("models", "0020_list_contact_layout")],
                               direction="forward")
        after = await client.execute_query_dict(
            "SELECT id, contact_id, state, area_code FROM list_contact")
        assert after == [{**r, "state": "CA", "area_code": "415"} for r in rows]
        if not pg:
            return
        await client.execute_script("SET session_replication_role = origin")
        # The same constraints, indexes, foreign keys (message_sent's, partitioned,
        # journey_enrollment's), column types and defaults, and the id's sequence.
        assert sorted(r["d"] for r in await client.execute_query_dict(_CATALOG)) == before
        layout = importlib.import_module("core.migrations.0020_list_contact_layout").LAYOUT
        order = [r["attname"] for r in await client.execute_query_dict(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'list_contact'::regclass "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum")]
        assert order == list(layout)
        # The foreign keys are enforced again, and the sequence goes on where it was.
        with pytest.raises(Exception, match="foreign key"):
            await client.execute_script(
                "UPDATE journey_enrollment SET list_contact_id = 999999")
        (step,) = await client.execute_query_dict(
            "SELECT nextval(pg_get_serial_sequence('list_contact', 'id')) AS id")
        assert step["id"] > max(r["id"] for r in rows)


def test_0020_rewrites_list_contact_keeping_its_rows_constraints_and_references(tmp_path):
    if IS_POSTGRES:
        with scratch_postgres("trackly_0020", server=PG_ADMIN, migrated=False) as url:
            asyncio.run(_up_to_0020_over_rows(url, True))
    else:
        asyncio.run(_up_to_0020_over_rows(f"sqlite://{tmp_path / 'up.db'}", False))
