"""A schedule's send_time is a wall-clock time of day (read in the schedule's timezone):
it must be stored and read back as that same time on both backends."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from core.accounts.models import Account
from core.campaigns.models import Schedule
from core.contacts.models import SendingList
from core.db import database, tortoise_config
from tests.cli_helpers import trackly
from tests.conftest import BASE_URL, IS_POSTGRES, _asyncpg_dsn, scratch_postgres
from tests.contacts.helpers import make_list
from tests.factories import make_tenant

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN = BASE_URL if IS_POSTGRES else "postgres://postgres@127.0.0.1:5432/test"


@pytest.mark.parametrize("send_time", [dt.time(10, 0), dt.time(0, 0), dt.time(23, 59, 30),
                                       dt.time(2, 30)])
async def test_send_time_round_trips(services, send_time):
    tenant = await make_tenant(services)
    sending_list = await make_list(services, tenant)
    created = await Schedule.create(account_id=tenant.account.id, name="Spring blast",
                                    sending_list_id=sending_list.id, send_time=send_time,
                                    timezone="America/Chicago")

    loaded = await Schedule.get(id=created.id)
    assert loaded.send_time == send_time
    assert loaded.send_time.tzinfo is None  # a wall time, in the schedule's zone
    assert await Schedule.filter(send_time=send_time).count() == 1


async def test_schedule_without_send_time(services):
    tenant = await make_tenant(services)
    sending_list = await make_list(services, tenant)
    created = await Schedule.create(account_id=tenant.account.id, name="Draft",
                                    sending_list_id=sending_list.id)
    assert (await Schedule.get(id=created.id)).send_time is None


async def test_an_aware_send_time_is_refused(services):
    tenant = await make_tenant(services)
    sending_list = await make_list(services, tenant)
    with pytest.raises(ValueError, match="wall-clock"):
        await Schedule.create(account_id=tenant.account.id, name="Aware",
                              sending_list_id=sending_list.id,
                              send_time=dt.time(10, 0, tzinfo=dt.UTC))




async def _schedule_with_zoned_send_time(url: str) -> None:
    """The schema as of 0004 (send_time TIMETZ) holding one schedule at 10:00+00."""
    async with database(url) as ctx:
        executor = MigrationExecutor(ctx.db("default"), tortoise_config(url)["apps"])
        await executor.migrate([MigrationTarget("models", "0004_ticket_message_edits")])
        account = await Account.create(name="Acme", owner_email="owner@acme.test")
        sending_list = await SendingList.create(
            account=account, phone_number="+14155550000", provider="simulator",
            webhook_token="token")
        # The row as 0004's table holds it: written in SQL, since today's Schedule model
        # has columns later migrations add.
        await ctx.db("default").execute_query(
            "INSERT INTO schedule (account_id, name, sending_list_id, send_type, recurrence, "
            "days_of_week, timezone, use_local_time, automated_percent, filter_bots, status, "
            "created_by, created_at, updated_at, send_time) VALUES ($1, 'Old', $2, 'blast', "
            "'one_time', '[]', 'America/New_York', false, 0, true, 'draft', 'system', now(), "
            "now(), '10:00:00+00'::timetz)", [account.id, sending_list.id])


async def _stored_send_times(url: str) -> list[str]:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        return [r["send_time"] for r in await conn.fetch("SELECT send_time FROM schedule")]
    finally:
        await conn.close()


def test_migration_keeps_the_wall_time_postgres_held_with_a_zone(tmp_path):
    # Each step in a process of its own: tortoise caches a model's INSERT per connection
    # name, whatever the backend, so one process cannot write to SQLite and PostgreSQL.
    with scratch_postgres("trackly_sendtime", server=PG_ADMIN, migrated=False) as url:
        setup = subprocess.run(
            [sys.executable, "-c", "import asyncio, sys; from tests.campaigns.test_send_time "
             "import _schedule_with_zoned_send_time as f; asyncio.run(f(sys.argv[1]))", url],
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
        assert setup.returncode == 0, setup.stderr
        done = trackly("migrate", cwd=tmp_path, env={"TRACKLY_DATABASE_URL": url})
        assert done.returncode == 0, done.stderr
        assert "0007_schedule_send_time_text" in done.stdout
        assert asyncio.run(_stored_send_times(url)) == ["10:00:00"]
