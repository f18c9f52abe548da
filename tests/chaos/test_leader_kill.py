"""Chaos: two real ``trackly run --role scheduler`` processes on one PostgreSQL; the
leader is killed with SIGKILL in the middle of a tick (a campaign run half queued, more
schedules due behind it); the standby takes over within seconds, takes up the dead
launch once its lease has run out, starts the schedules still due, and no schedule runs
twice: one run per schedule, one message per contact per schedule.

"In the middle of a tick" is read from the database, not from a hook: the campaigns tick
of the leader is inside ``dispatch_due`` while a run is ``sending`` with part of its
recipients queued (its cursor moved, not at the end). The leader is named by the
``scheduler`` heartbeat, which only the leader writes (with its pid).
TRACKLY_CAMPAIGN_LEASE_SECONDS is shortened so the abandoned launch is taken up within
the test's time (its default is two minutes)."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bench.audience_count import populate
from core.clock import FakeClock
from core.permissions import Actor
from core.settings import Settings
from core.sql import conn
from tests.cli_helpers import clean_env, stop_process
from tests.conftest import IS_POSTGRES, TEST_SECRET
from trackly.bootstrap import build_services

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="two scheduler processes need "
                                "PostgreSQL (SQLite is single-process)")
CONTACTS = 6_000  # per schedule's audience (one in 20 unsubscribed): two batches each
SCHEDULES = 3
LEASE_SECONDS = 3
TAKEOVER_WITHIN = 20.0  # seconds: retry every 2 s, plus a loaded machine's start-up
NEW_YORK = ZoneInfo("America/New_York")


async def _prepare(url: str, tmp: Path) -> list[int]:
    """SCHEDULES one-time blasts to the same audience, all due a couple of minutes ago
    (inside the grace window), launched by a clock ten minutes back so each waits in
    ``scheduled`` for the scheduler's tick."""
    account_id, list_a, _ = await populate(CONTACTS)
    await conn().execute_query(
        "UPDATE list_contact SET status = 'active' WHERE contact_id % 20 <> 0")
    now = dt.datetime.now(dt.UTC)
    settings = Settings(database_url=url, secret_key=TEST_SECRET,
                        public_url="http://127.0.0.1:8080", data_dir=tmp)
    services = build_services(settings, clock=FakeClock(now - dt.timedelta(minutes=10)),
                              secret_key=TEST_SECRET)
    actor = Actor.system(account_id)
    aud = await services.audiences.create(actor, name="everyone", list_ids=[list_a])
    due = (now - dt.timedelta(minutes=2)).astimezone(NEW_YORK)
    ids = []
    for i in range(SCHEDULES):
        view = await services.schedules.create(actor, {
            "name": f"Blast {i}", "list_id": list_a, "audience_ids": [aud.id],
            "send_date": due.date().isoformat(), "send_time": due.strftime("%H:%M"),
            "timezone": "America/New_York", "blasts": [
                {"message": f"Blast {i} for {{{{first_name|you}}}}",
                 "percent_audience": 100}]})
        launched = await services.schedules.launch(actor, view.schedule.id)
        assert launched.status == "scheduled", launched.status
        ids.append(view.schedule.id)
    return ids


async def _query(sql: str) -> list[dict[str, Any]]:
    return list(await conn().execute_query_dict(sql))


async def _state() -> dict[str, Any]:
    [row] = await _query(
        "SELECT (SELECT (detail->>'pid')::int FROM heartbeat WHERE component = 'scheduler')"
        " AS leader, "
        "(SELECT count(*) FROM schedule_run WHERE status = 'sending' AND cursor > 0 "
        " AND cursor < recipients_total) AS half_queued, "
        "(SELECT count(*) FROM schedule WHERE status = 'scheduled') AS waiting, "
        "(SELECT count(*) FROM schedule WHERE status = 'completed') AS completed, "
        "(SELECT count(*) FROM schedule_run) AS runs, "
        "(SELECT count(*) FROM message_sent) AS messages")
    return {k: int(v) if v is not None else None for k, v in row.items()}


def _scheduler(url: str, tmp: Path, name: str) -> subprocess.Popen[bytes]:
    with (tmp / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "trackly", "run", "--role", "scheduler"], cwd=tmp,
            env=clean_env({"TRACKLY_DATABASE_URL": url, "TRACKLY_DATA_DIR": str(tmp),
                           "TRACKLY_CAMPAIGN_LEASE_SECONDS": str(LEASE_SECONDS),
                           "TRACKLY_LOG_LEVEL": "INFO"}),
            stdout=log, stderr=subprocess.STDOUT)


async def _wait(what: str, within: float, check: Callable[[], Awaitable[bool]],
                poll: float = 0.05) -> float:
    began = time.monotonic()
    while not await check():
        if time.monotonic() - began > within:
            raise AssertionError(f"waited {within:.0f} s for {what}")
        await asyncio.sleep(poll)
    return time.monotonic() - began


async def test_the_leader_killed_mid_tick_a_standby_takes_over_and_nothing_runs_twice(
        db, tmp_path):
    began = time.monotonic()
    schedule_ids = await _prepare(db, tmp_path)
    prepared = time.monotonic() - began
    procs: dict[int, subprocess.Popen[bytes]] = {}

    def logs() -> str:
        return "".join(p.read_text()[-3000:] for p in sorted(tmp_path.glob("*.log")))

    try:
        for name in ("a", "b"):
            proc = _scheduler(db, tmp_path, name)
            procs[proc.pid] = proc
        seen: dict[str, Any] = {}

        async def mid_tick() -> bool:
            for proc in procs.values():
                assert proc.poll() is None, logs()
            seen.update(await _state())
            return bool(seen["half_queued"]) and seen["leader"] in procs

        started = await _wait("the leader to be half-way through a launch", 75, mid_tick)
        leader = procs[seen["leader"]]
        leader.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        leader.wait()
        [standby] = [p for p in procs.values() if p is not leader]
        at_kill = await _state()
        # The tick was cut short: a launch half queued, and schedules not yet started.
        assert at_kill["half_queued"] and at_kill["waiting"], at_kill

        async def standby_leads() -> bool:
            return (await _state())["leader"] == standby.pid

        took_over = await _wait("the standby to lead", TAKEOVER_WITHIN, standby_leads, 0.1)

        async def all_done() -> bool:
            assert standby.poll() is None, logs()
            return (await _state())["completed"] == SCHEDULES

        try:
            await _wait("every schedule to complete", 60, all_done, poll=0.2)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {await _state()}; at kill {at_kill}\n{logs()}"
                                 ) from None
        finished = time.monotonic() - killed_at
    finally:
        for proc in procs.values():
            stop_process(proc)

    runs = await _query("SELECT schedule_id, status, recipients_total, queued_count "
                        "FROM schedule_run ORDER BY schedule_id")
    assert [r["schedule_id"] for r in runs] == schedule_ids  # one run each, no skip
    assert {r["status"] for r in runs} == {"completed"}
    eligible = CONTACTS - CONTACTS // 20
    assert {r["recipients_total"] for r in runs} == {eligible}
    [twice] = await _query(
        "SELECT count(*) AS pairs, coalesce(max(n), 0) AS most, "
        "coalesce(sum(n), 0) AS messages FROM (SELECT schedule_id, contact_id, "
        "count(*) AS n FROM message_sent GROUP BY schedule_id, contact_id) AS per")
    assert twice["most"] == 1, twice  # nobody messaged twice by one schedule
    assert twice["pairs"] == twice["messages"] == SCHEDULES * eligible
    print(f"\nprepared in {prepared:.1f} s; killed {started:.1f} s after the start, "
          f"with {at_kill}; standby led after {took_over:.1f} s; "
          f"all {SCHEDULES} schedules completed {finished:.1f} s after the kill")
