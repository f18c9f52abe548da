"""One scheduler leader among many processes: a PostgreSQL session advisory lock held on a
connection of its own.

Why a dedicated connection and never one from the pool:

- a session lock belongs to the connection that took it; the pool hands connections to
  whoever asks and recycles idle ones (asyncpg closes them after 300 s by default), which
  silently ends the session and its lock while this process still believes it leads;
- behind a transaction pooler (PgBouncer in transaction mode) consecutive statements may
  run on different server sessions, so the lock is stranded on a session nobody watches.
  Point ``TRACKLY_DATABASE_URL`` of scheduler processes at PostgreSQL directly;
- cancelling a task in the middle of ``pg_try_advisory_lock`` can lose the answer while
  the server granted the lock: after an interrupted attempt the connection is closed,
  which releases whatever the session held.

The leader checks its connection every ``check_every`` seconds: a connection that fails a
check (server restart, network cut, the session terminated) means leadership is lost, and
the work stops at once before anything else is attempted. A standby retries every
``retry_every`` seconds, so it takes over within that time of the leader's death (the
server ends a dead client's session when its socket closes; for a machine that vanishes
without closing it, TCP keepalives bound the wait).

Work claimed by the leader (schedules, journeys, alerts) is claimed row by row, so two
leaders for a moment (an old one that has not noticed yet) do no harm."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

log = logging.getLogger(__name__)

# pg advisory lock keys are bigint; this one is "trackly:scheduler" folded to 63 bits.
SCHEDULER_LOCK = 0x7472_636B_7363_6864

KEEPALIVE = {"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5",
             "tcp_keepalives_count": "3"}


def asyncpg_dsn(url: str) -> str:
    """asyncpg wants ``postgresql://``; tortoise's URL may say ``postgres://`` or carry
    tortoise-only query options, which asyncpg would refuse."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, "", ""))


class Leadership:
    """Runs ``lead(lost)`` while this process holds the lock; ``lost`` is set when the
    lock can no longer be trusted, and ``lead`` must then return promptly."""

    def __init__(self, url: str, *, key: int = SCHEDULER_LOCK, retry_every: float = 2.0,
                 check_every: float = 2.0, name: str = "scheduler") -> None:
        self.dsn = asyncpg_dsn(url)
        self.key = key
        self.retry_every = retry_every
        self.check_every = check_every
        self.name = name
        self.is_leader = False
        self.terms = 0  # how many times this process became leader
        self.server_pid: int | None = None  # the session holding the lock, while leader

    async def run(self, stop: asyncio.Event,
                  lead: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
        announced_standby = False
        while not stop.is_set():
            conn = await self._connect(stop)
            if conn is None:
                return
            try:
                if await self._try_lock(conn):
                    announced_standby = False
                    await self._lead(conn, stop, lead)
                elif not announced_standby:
                    log.info("%s: another process leads; standing by", self.name)
                    announced_standby = True
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("%s: leadership connection failed: %s", self.name, exc)
            finally:
                await self._release(conn)
            await _sleep_unless(stop, self.retry_every)

    async def _connect(self, stop: asyncio.Event) -> asyncpg.Connection | None:
        while not stop.is_set():
            try:
                return await asyncpg.connect(
                    self.dsn, timeout=10,
                    server_settings={"application_name": f"trackly-{self.name}-leader",
                                     **KEEPALIVE})
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.warning("%s: cannot reach PostgreSQL for leadership (%s); retrying",
                            self.name, exc)
                await _sleep_unless(stop, self.retry_every)
        return None

    async def _try_lock(self, conn: asyncpg.Connection) -> bool:
        try:
            return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key))
        except asyncio.CancelledError:
            conn.terminate()  # the server may have granted it: end the session
            raise

    async def _lead(self, conn: asyncpg.Connection, stop: asyncio.Event,
                    lead: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
        lost = asyncio.Event()
        self.is_leader = True
        self.terms += 1
        self.server_pid = conn.get_server_pid()
        log.info("%s: this process is the leader", self.name)
        work = asyncio.create_task(lead(lost), name=f"{self.name}-leader")
        try:
            while not stop.is_set() and not work.done():
                await _sleep_unless(stop, self.check_every)
                if stop.is_set() or work.done():
                    break
                try:
                    await asyncio.wait_for(conn.fetchval("SELECT 1"), self.check_every * 2)
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError,
                        TimeoutError) as exc:
                    log.warning("%s: lost the leadership connection (%s); stepping down",
                                self.name, exc)
                    break
        finally:
            self.is_leader = False
            self.server_pid = None
            lost.set()
            try:
                await work
            except Exception:
                log.exception("%s: the leader's work failed", self.name)

    async def _release(self, conn: asyncpg.Connection) -> None:
        if conn.is_closed():
            return
        try:
            await asyncio.wait_for(conn.close(), 2)  # ends the session: the lock goes
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            conn.terminate()


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
