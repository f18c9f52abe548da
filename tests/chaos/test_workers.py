"""Chaos: three worker processes drain 20,000 messages to the Twilio fake while one of
them, chosen at random, is killed with SIGKILL every few seconds and started again.
Nobody receives a message twice, and every message ends terminal."""

from __future__ import annotations

import random
import signal
import subprocess
import time

import pytest

from core.clock import SystemClock
from core.messaging.models import TERMINAL_STATUSES, MessageSent, MessageStatus
from tests.cli_helpers import stop_process
from tests.conftest import IS_POSTGRES
from tests.helpers import eventually
from tests.messaging.helpers import make_subscribers, queue_to
from tests.messaging.stack import stack
from tests.messaging.test_crash import start_worker

TOTAL = 20_000
WORKERS = 3
KILL_EVERY = (2.0, 5.0)  # seconds between kills, drawn uniformly
KILLS = 8  # then the survivors finish the queue
pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="several worker processes need "
                                "PostgreSQL (SQLite is single-process)")


async def test_workers_killed_at_random_never_send_twice(db, tmp_path):
    rng = random.Random(20261201)
    clock = SystemClock()
    async with stack("twilio", clock=clock, tmp_path=tmp_path) as s:
        s.sending_list.rate_limit_per_minute = 10_000_000
        await s.sending_list.save(update_fields=["rate_limit_per_minute"])
        subs = await make_subscribers(s.sending_list, TOTAL, when=clock.now())
        await queue_to(subs, s.sending_list, now=clock.now(), transactional=True)

        def start() -> subprocess.Popen[bytes]:
            return start_worker(db, s.fake.url, s.base_url, tmp_path)

        workers = [start() for _ in range(WORKERS)]
        kills = 0
        began = time.monotonic()
        try:
            next_kill = time.monotonic() + rng.uniform(*KILL_EVERY)

            async def settled() -> bool:
                nonlocal next_kill, kills
                for worker in workers:
                    if worker.poll() is not None and worker.returncode != -signal.SIGKILL:
                        raise AssertionError(worker.stderr.read().decode())  # type: ignore
                if (time.monotonic() >= next_kill and kills < KILLS
                        and len(s.fake.accepted) < TOTAL):
                    victim = rng.randrange(WORKERS)
                    workers[victim].send_signal(signal.SIGKILL)
                    workers[victim].wait()
                    workers[victim].stderr.close()  # type: ignore[union-attr]
                    workers[victim] = start()
                    kills += 1
                    next_kill = time.monotonic() + rng.uniform(*KILL_EVERY)
                return not await MessageSent.exclude(status__in=TERMINAL_STATUSES).exists()

            try:
                await eventually(settled, what="every message to reach a terminal state",
                                 within=600, poll=0.1)
            except AssertionError:
                left = {}
                async for row in MessageSent.exclude(status__in=TERMINAL_STATUSES).only(
                        "status"):
                    left[row.status] = left.get(row.status, 0) + 1
                raise AssertionError(f"{kills} kills; {len(s.fake.accepted)} accepted; "
                                     f"not terminal: {left}") from None
            await s.fake.drain()
        finally:
            for worker in workers:
                stop_process(worker)
                if worker.stderr:
                    worker.stderr.close()
        took = time.monotonic() - began

        assert kills >= 2, f"only {kills} kill(s) happened before the queue drained"
        assert s.fake.received_twice() == {}
        counts: dict[str, int] = {}
        async for row in MessageSent.all().only("status", "to_number"):
            counts[row.status] = counts.get(row.status, 0) + 1
        assert sum(counts.values()) == TOTAL
        delivered = {r for r in await MessageSent.filter(status=MessageStatus.DELIVERED)
                     .values_list("to_number", flat=True)}
        assert delivered == {m.to for m in s.fake.accepted}
        assert counts.get(MessageStatus.DELIVERED, 0) + counts.get(
            MessageStatus.ORPHANED, 0) == TOTAL, counts
        print(f"{kills} kills, {took:.1f}s, final {counts}")
