"""Must show 4: stopping the server during a burst of clicks loses none. ``trackly run``
in its own process takes a burst of clicks on many links; SIGTERM arrives mid-burst;
after a restart, every request that was answered 302 is a click row in the database, and
the first human click of each message is counted once. On both backends."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import subprocess
from pathlib import Path

import aiohttp

from core.db import database
from core.messaging.models import MessageSent, MessageShortLink, MessageStatus
from core.settings import Settings
from core.tracking.models import MessageClick, MessageShortLinkClick
from tests.cli_helpers import migrated_sqlite, start_run
from tests.conftest import BASE_URL, IS_POSTGRES, TEST_SECRET, scratch_postgres
from tests.helpers import free_port
from tests.tracking.builders import make_world, queue_with_link
from tests.tracking.helpers import PHONE_UA
from trackly.bootstrap import build_services

LINKS = 30


async def _seed(url: str, data_dir: Path) -> list[str]:
    async with database(url):
        settings = Settings(database_url=url, secret_key=TEST_SECRET, data_dir=data_dir,
                            public_url="http://127.0.0.1:8080")
        services = build_services(settings, secret_key=TEST_SECRET)
        world = await make_world(services, subscribers=LINKS)
        codes = []
        for sub in world.subscribers:
            sent = await queue_with_link(world, sub, now=services.clock.now())
            codes.append(sent.link.code)
        # Delivered an hour ago: the server's send worker leaves them alone, and the
        # clicks are not "seconds after the send".
        sent_at = services.clock.now() - dt.timedelta(hours=1)
        await MessageSent.all().update(status=MessageStatus.DELIVERED, sent_at=sent_at,
                                       delivered_at=sent_at)
        return codes


async def _burst(port: int, codes: list[str], proc: subprocess.Popen[str]
                 ) -> tuple[list[str], int]:
    """Clicks from 32 connections until the server is gone; SIGTERM mid-way. Returns
    the user agents (one per request, unique) answered 302, and how many failed."""
    answered: list[str] = []
    failed = 0
    stop = asyncio.Event()
    enough = asyncio.Event()
    counter = iter(range(10**9))

    async def clicker(session: aiohttp.ClientSession) -> None:
        nonlocal failed
        while not stop.is_set():
            n = next(counter)
            agent = f"{PHONE_UA} burst/{n}"
            try:
                async with session.get(f"http://127.0.0.1:{port}/{codes[n % len(codes)]}",
                                       headers={"User-Agent": agent},
                                       allow_redirects=False) as resp:
                    await resp.read()
                    if resp.status == 302:
                        answered.append(agent)
                        if len(answered) >= 300:
                            enough.set()
            except (TimeoutError, aiohttp.ClientError):
                failed += 1
                await asyncio.sleep(0.01)

    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout,
                                     connector=aiohttp.TCPConnector(limit=32)) as session:
        tasks = [asyncio.create_task(clicker(session)) for _ in range(32)]
        # Mid-burst: once 300 clicks were answered (or after 10 s on a crawling machine).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(enough.wait(), 10)
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(proc.wait, 15)
        stop.set()
        await asyncio.gather(*tasks)
    return answered, failed


async def _stored(url: str) -> tuple[list[str], int, int]:
    async with database(url):
        agents = await MessageShortLinkClick.all().values_list("user_agent", flat=True)
        counted = await MessageClick.all().count()
        links = await MessageShortLink.all().count()
        return list(agents), counted, links


def test_stopping_during_a_burst_loses_no_answered_click(tmp_path):
    port = free_port()
    data = tmp_path / "trackly-data"
    data.mkdir()
    with contextlib.ExitStack() as stack:
        if IS_POSTGRES:
            url = stack.enter_context(scratch_postgres("burst", server=BASE_URL))
        else:
            url = migrated_sqlite(data / "trackly.sqlite3")
        codes = asyncio.run(_seed(url, data))
        proc = start_run(cwd=tmp_path, port=port, env={"TRACKLY_DATABASE_URL": url})
        try:
            answered, failed = asyncio.run(_burst(port, codes, proc))
            output = proc.communicate(timeout=15)[0]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, output
        assert "Stopped." in output
        assert len(answered) >= 300, (len(answered), failed)  # a burst, not a trickle

        # The restart: whatever the database did not take before the stop (on a slow
        # machine, the backlog behind the 5 s stop budget) was spooled; it goes first.
        proc = start_run(cwd=tmp_path, port=port, env={"TRACKLY_DATABASE_URL": url})
        proc.send_signal(signal.SIGTERM)
        restarted = proc.communicate(timeout=30)[0]
        assert proc.returncode == 0, restarted

        agents, counted, links = asyncio.run(_stored(url))
        missing = set(answered) - set(agents)
        assert not missing, (f"{len(missing)} of {len(answered)} answered clicks lost; "
                             f"server:\n{output[-2000:]}\nrestart:\n{restarted[-2000:]}")
        assert len(agents) == len(set(agents))  # none written twice
        assert counted == links == LINKS  # each message's first human click, once
