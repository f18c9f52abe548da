"""The scheduler leader (core.system.leader): one process ticks, a standby takes over
within seconds of the leader's death, and a leader whose session ended steps down."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from core.system.leader import Leadership, asyncpg_dsn
from tests.conftest import IS_POSTGRES, TEST_SECRET

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="leader election is PostgreSQL's "
                                "(SQLite runs one process, which always ticks)")

KEY = 0x5445_5354  # not the real scheduler's key: a test never fights a running platform


async def _until(predicate, within: float) -> float:
    began = time.monotonic()
    while not predicate():
        if time.monotonic() - began > within:
            raise AssertionError(f"not within {within}s")
        await asyncio.sleep(0.05)
    return time.monotonic() - began


async def test_one_leader_and_a_standby_takes_over_when_its_session_dies(database_url):
    active: list[str] = []
    overlaps: list[set[str]] = []

    def leader(name: str):
        async def lead(lost: asyncio.Event) -> None:
            active.append(name)
            overlaps.append(set(active))
            try:
                await lost.wait()
            finally:
                active.remove(name)
        return lead

    a = Leadership(database_url, key=KEY, retry_every=0.2, check_every=0.2, name="a")
    b = Leadership(database_url, key=KEY, retry_every=0.2, check_every=0.2, name="b")
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    run_a = asyncio.create_task(a.run(stop_a, leader("a")))
    await _until(lambda: a.is_leader, 10)
    run_b = asyncio.create_task(b.run(stop_b, leader("b")))
    await asyncio.sleep(1.0)  # several of b's attempts
    assert (a.is_leader, b.is_leader, active) == (True, False, ["a"])

    # the leader's session ends under it (its process died, or the server cut it)
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", a.server_pid)
    finally:
        await admin.close()
    took = await _until(lambda: b.is_leader, 5)
    await _until(lambda: not a.is_leader, 2)
    assert active == ["b"] and b.terms == 1
    assert took < 2, f"the standby took {took:.1f}s to take over"

    stop_a.set()
    stop_b.set()
    await asyncio.wait_for(asyncio.gather(run_a, run_b), 5)
    assert active == [] and not a.is_leader and not b.is_leader


async def test_a_stopped_leader_hands_over_at_once(database_url):
    a = Leadership(database_url, key=KEY, retry_every=0.2, check_every=0.2, name="a")
    b = Leadership(database_url, key=KEY, retry_every=0.2, check_every=0.2, name="b")
    stop_a, stop_b = asyncio.Event(), asyncio.Event()

    async def lead(lost: asyncio.Event) -> None:
        await lost.wait()

    run_a = asyncio.create_task(a.run(stop_a, lead))
    await _until(lambda: a.is_leader, 10)
    run_b = asyncio.create_task(b.run(stop_b, lead))
    stop_a.set()
    await asyncio.wait_for(run_a, 5)
    await _until(lambda: b.is_leader, 3)
    stop_b.set()
    await asyncio.wait_for(run_b, 5)


def _scheduler(database_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKLY_", "DISCORD_"))}
    env.update({"TRACKLY_DATABASE_URL": database_url, "TRACKLY_SECRET_KEY": TEST_SECRET,
                "TRACKLY_LOG_LEVEL": "INFO", "TRACKLY_DATA_DIR": str(log.parent)})
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "trackly", "run", "--role",
                                 "scheduler"], env=env, stdout=out, stderr=subprocess.STDOUT)


def _leads(log: Path) -> bool:
    return "this process is the leader" in log.read_text(errors="replace")


def test_killing_the_leader_process_elects_the_standby_within_seconds(database_url, tmp_path):
    logs = [tmp_path / "one.log", tmp_path / "two.log"]
    procs = [_scheduler(database_url, logs[0])]
    try:
        deadline = time.monotonic() + 60
        while not _leads(logs[0]):
            assert procs[0].poll() is None, logs[0].read_text()
            assert time.monotonic() < deadline, logs[0].read_text()
            time.sleep(0.1)
        procs.append(_scheduler(database_url, logs[1]))
        deadline = time.monotonic() + 60
        while "standing by" not in logs[1].read_text(errors="replace"):
            assert procs[1].poll() is None, logs[1].read_text()
            assert time.monotonic() < deadline, logs[1].read_text()
            time.sleep(0.1)
        assert not _leads(logs[1])

        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(10)
        began = time.monotonic()
        while not _leads(logs[1]):
            assert time.monotonic() - began < 10, logs[1].read_text()
            time.sleep(0.1)
        took = time.monotonic() - began
        assert took < 5, f"the standby took {took:.1f}s"
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    assert procs[1].returncode == 0, logs[1].read_text()
