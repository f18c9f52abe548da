"""Must show 3: an executor process on PostgreSQL is killed with SIGKILL in the middle of
a 5,000-message send to the Twilio fake and restarted. The fake's record shows no
recipient received twice, and every message ends in a terminal state with a reason."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from core.clock import SystemClock
from core.messaging.models import TERMINAL_STATUSES, MessageSent, MessageStatus
from tests.conftest import IS_POSTGRES, TEST_SECRET
from tests.helpers import eventually
from tests.messaging.helpers import make_subscribers, queue_to
from tests.messaging.stack import stack

TOTAL = 5_000
pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="executors in separate processes "
                                "need PostgreSQL (SQLite is single-process)")


def start_worker(database_url: str, fake_url: str, public_url: str, tmp_path
                 ) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKLY_", "DISCORD_"))}
    env.update({
        "TRACKLY_DATABASE_URL": database_url, "TRACKLY_SECRET_KEY": TEST_SECRET,
        "TRACKLY_TWILIO_BASE_URL": fake_url, "TRACKLY_PUBLIC_URL": public_url,
        "TRACKLY_EXECUTOR_BATCH_SIZE": "100", "TRACKLY_EXECUTOR_LEASE_SECONDS": "2",
        "TRACKLY_EXECUTOR_UNKNOWN_GRACE_SECONDS": "3", "TRACKLY_EXECUTOR_POLL_SECONDS": "0.1",
        "TRACKLY_LOG_LEVEL": "WARNING", "TRACKLY_DATA_DIR": str(tmp_path),
    })
    return subprocess.Popen([sys.executable, "-m", "trackly", "run", "--role", "worker"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def test_sigkill_mid_send_never_sends_twice_and_accounts_for_every_message(
        db, tmp_path):
    clock = SystemClock()  # the worker process reads the real clock too
    async with stack("twilio", clock=clock, tmp_path=tmp_path) as s:
        s.sending_list.rate_limit_per_minute = 1_000_000
        await s.sending_list.save(update_fields=["rate_limit_per_minute"])
        subs = await make_subscribers(s.sending_list, TOTAL, when=clock.now())
        # Transactional: the run must not depend on the hour of day (quiet hours).
        await queue_to(subs, s.sending_list, now=clock.now(), transactional=True)

        first = start_worker(db, s.fake.url, s.base_url, tmp_path)
        try:
            async def some_out() -> bool:
                assert first.poll() is None, first.stderr.read().decode()
                return len(s.fake.accepted) >= 1_050  # mid-batch, not on a boundary
            await eventually(some_out, what="the first 1,050 messages", within=300,
                             poll=0.002)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
            first.stderr.close()
        accepted_at_kill = len(s.fake.accepted)
        assert accepted_at_kill < TOTAL, "the send finished before the kill; nothing tested"

        began = time.monotonic()
        second = start_worker(db, s.fake.url, s.base_url, tmp_path)
        try:
            async def settled() -> bool:
                assert second.poll() is None, second.stderr.read().decode()
                return not await MessageSent.exclude(status__in=TERMINAL_STATUSES).exists()
            await eventually(settled, what="every message to reach a terminal state",
                             within=300, poll=0.05)
            took = time.monotonic() - began
            await s.fake.drain()
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=10)
            second.stderr.close()

        assert s.fake.received_twice() == {}
        rows = await MessageSent.all()
        assert len(rows) == TOTAL
        by_status: dict[str, int] = {}
        for row in rows:
            by_status[row.status] = by_status.get(row.status, 0) + 1
            if row.status == MessageStatus.ORPHANED:
                assert row.status_detail == "orphan" and row.error_message
        accepted = {m.to for m in s.fake.accepted}
        delivered = {r.to_number for r in rows if r.status == MessageStatus.DELIVERED}
        # Everything the provider took was delivered (its receipts carry our id, even
        # for rows the killed executor never saw answered); nothing else was.
        assert delivered == accepted
        assert by_status.get(MessageStatus.DELIVERED, 0) + by_status.get(
            MessageStatus.ORPHANED, 0) == TOTAL, by_status
        print(f"killed after {accepted_at_kill} accepted; final {by_status}; "
              f"{took:.1f}s to settle after the restart")
