"""Must-show 5: `trackly campaign launch` killed (SIGKILL) in the middle of a
100,000-recipient launch on PostgreSQL; a restarted scheduler takes the run up once its
lease has run out, and every recipient ends up queued exactly once, with one short link
each."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.audience_count import populate
from core.clock import FakeClock
from core.db import database
from core.permissions import Actor
from core.settings import Settings
from tests.cli_helpers import clean_env
from tests.conftest import BASE_URL, IS_POSTGRES, TEST_SECRET, scratch_postgres
from trackly.bootstrap import build_services

PG_ADMIN = BASE_URL if IS_POSTGRES else "postgres://postgres@127.0.0.1:5432/test"
# PostgreSQL's run only: tortoise caches each model's INSERT per connection name, so a
# PostgreSQL database opened inside the SQLite run would reuse SQLite's placeholders.
pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="a 100,000-recipient launch in a "
                                "separate process is PostgreSQL's (SQLite is one process)")
N = 100_000


def _services(url: str, tmp: Path, clock: FakeClock):
    settings = Settings(database_url=url, secret_key=TEST_SECRET,
                        public_url="http://127.0.0.1:8080", data_dir=tmp)
    return build_services(settings, clock=clock, secret_key=TEST_SECRET)


async def _prepare(url: str, tmp: Path) -> tuple[int, int]:
    async with database(url) as ctx:
        account_id, list_a, _ = await populate(N)
        await ctx.db("default").execute_query("UPDATE list_contact SET status = 'active'")
        services = _services(url, tmp, FakeClock(dt.datetime.now(dt.UTC)))
        actor = Actor.system(account_id)
        offer = await services.offers.create(actor, name="Deal",
                                             tracking_url="https://offers.example/?c={click_id}")
        aud = await services.audiences.create(actor, name="everyone", list_ids=[list_a])
        view = await services.schedules.create(actor, {
            "name": "Big blast", "list_id": list_a, "audience_ids": [aud.id],
            "send_date": "2026-03-03", "send_time": "10:00",
            "blasts": [{"message": "Deal for {{first_name|you}}: {{link1}}",
                        "link_bindings": {"link1": {"offer_id": offer.id}},
                        "percent_audience": 100}]})
        return account_id, view.schedule.id


async def _counts(url: str) -> dict[str, int]:
    async with database(url) as ctx:
        rows = await ctx.db("default").execute_query_dict(
            "SELECT (SELECT count(*) FROM message_sent) AS messages, "
            "(SELECT count(DISTINCT contact_id) FROM message_sent) AS contacts, "
            "(SELECT count(*) FROM message_short_link) AS links, "
            "(SELECT count(DISTINCT message_id) FROM message_short_link) AS linked, "
            "(SELECT max(cursor) FROM schedule_run) AS cursor, "
            "(SELECT max(queued_count) FROM schedule_run) AS queued_count")
        return {k: int(v or 0) for k, v in rows[0].items()}


async def _restart(url: str, tmp: Path) -> tuple[int, str, str]:
    async with database(url):
        # The scheduler of a restarted platform, after the dead launch's lease ran out.
        from core.campaigns.launch import LEASE
        from core.campaigns.models import Schedule, ScheduleRun

        clock = FakeClock(dt.datetime.now(dt.UTC) + LEASE + dt.timedelta(seconds=5))
        services = _services(url, tmp, clock)
        taken = await services.schedules.resume_runs()
        run = await ScheduleRun.get()
        return taken, run.status, (await Schedule.get()).status


def test_a_launch_killed_midway_resumes_and_queues_everyone_exactly_once(tmp_path):
    with scratch_postgres("trackly_crash", server=PG_ADMIN) as url:
        account_id, schedule_id = asyncio.run(_prepare(url, tmp_path))
        seen = []
        with subprocess.Popen(
                [sys.executable, "-m", "trackly", "campaign", "launch", str(schedule_id),
                 "--account", str(account_id), "--now", "--yes"],
                cwd=tmp_path, env=clean_env({"TRACKLY_DATABASE_URL": url,
                                             "TRACKLY_DATA_DIR": str(tmp_path)}),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
            assert proc.stderr is not None
            began = time.monotonic()
            for line in proc.stderr:
                seen.append(line)
                found = re.search(r"\((\d+)%\)", line)
                if found and int(found.group(1)) >= 30:
                    proc.kill()  # SIGKILL: no cleanup, no finally
                    break
            proc.communicate(timeout=60)
        print(f"killed after {time.monotonic() - began:.1f} s: {''.join(seen)}")
        assert proc.returncode == -9, "".join(seen)

        before = asyncio.run(_counts(url))
        assert 0 < before["messages"] < N
        assert before["messages"] == before["contacts"] == before["cursor"] \
            == before["queued_count"]  # what committed, committed with its cursor

        taken, run_status, schedule_status = asyncio.run(_restart(url, tmp_path))
        assert (taken, run_status, schedule_status) == (1, "completed", "completed")
        after = asyncio.run(_counts(url))
        assert after["messages"] == after["contacts"] == after["queued_count"] == N
        assert after["links"] == after["linked"] == N
