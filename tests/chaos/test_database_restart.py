"""Chaos: PostgreSQL restarted under load. `trackly run` (web, workers, scheduler) keeps
running against a server of the test's own while clients send; the server is restarted in
the middle. The platform recovers by itself: requests during the outage are answered 503
`database_unavailable` (never a 500), and every send answered 201 reaches `delivered`."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time

import aiohttp
import pytest

from core.db import migrate
from tests.chaos.postgres import BINDIR, private_postgres
from tests.cli_helpers import start_run, trackly_here
from tests.conftest import IS_POSTGRES
from tests.helpers import free_port

pytestmark = pytest.mark.skipif(not IS_POSTGRES or BINDIR is None,
                                reason="needs PostgreSQL's server binaries (initdb)")

SENDERS = 16
CONTACTS = 50


async def _load(base: str, key: str, restart, *, total: int) -> dict:
    """``SENDERS`` clients send until ``total`` sends were accepted; once a third are in,
    the database is restarted (in a thread, while the clients keep going)."""
    accepted: list[str] = []
    statuses: dict[int, int] = {}
    bodies_5xx: list[str] = []
    restarted = asyncio.Event()
    a_third_in = asyncio.Event()
    counter = iter(range(10**9))
    headers = {"X-Api-Key": key}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        async def sender() -> None:
            while len(accepted) < total:
                n = next(counter)
                body = {"to": f"+1415555{n % CONTACTS:04d}", "body": f"chaos {n}",
                        "list_number": "+14155550000", "transactional": True}
                try:
                    async with http.post(f"{base}/api/v2/send", json=body, headers={
                            **headers, "Idempotency-Key": f"chaos-{n}"}) as resp:
                        statuses[resp.status] = statuses.get(resp.status, 0) + 1
                        if resp.status == 201:
                            accepted.append((await resp.json())["message_id"])
                            if len(accepted) >= total // 3:
                                a_third_in.set()
                        elif resp.status >= 500:
                            bodies_5xx.append(await resp.text())
                            await asyncio.sleep(0.2)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    statuses[-1] = statuses.get(-1, 0) + 1
                    bodies_5xx.append(repr(exc))
                    await asyncio.sleep(0.2)

        async def chaos() -> None:
            await a_third_in.wait()
            await asyncio.to_thread(restart)
            restarted.set()

        await asyncio.gather(chaos(), *(sender() for _ in range(SENDERS)))
    assert restarted.is_set()
    return {"accepted": accepted, "statuses": statuses, "errors": bodies_5xx}


async def _statuses(base: str, key: str, ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    async with aiohttp.ClientSession() as http:
        for message_id in ids:
            async with http.get(f"{base}/api/v2/messages/{message_id}",
                                headers={"X-Api-Key": key}) as resp:
                found[message_id] = (await resp.json()).get("status", f"HTTP {resp.status}")
    return found


def test_postgres_restarted_under_load_loses_nothing(tmp_path):
    with private_postgres() as pg:
        asyncio.run(migrate(pg.url))
        env = {"TRACKLY_DATABASE_URL": pg.url, "TRACKLY_SIMULATOR_LATENCY_MS": "0",
               "TRACKLY_EXECUTOR_POLL_SECONDS": "0.1", "TRACKLY_DATA_DIR": str(tmp_path)}
        # Set-up commands run in this process; `trackly run` below is the one under test.
        account = trackly_here("account", "create", "Chaos", "--owner-email", "o@chaos.test",
                          cwd=tmp_path, env=env)
        assert account.returncode == 0, account.stderr
        key = trackly_here("apikey", "create", "--account", account.stdout.strip(), "--role",
                      "owner", cwd=tmp_path, env=env).stdout.strip()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = (tmp_path / "run.log").open("w")
        proc = start_run(cwd=tmp_path, port=port, env=env, log=log)
        try:
            async def setup() -> None:
                async with aiohttp.ClientSession(headers={"X-Api-Key": key}) as http:
                    async with http.post(f"{base}/api/v2/lists", json={
                            "name": "Chaos", "phone_number": "+14155550000",
                            "provider": "simulator"}) as resp:
                        assert resp.status == 201, await resp.text()
                    for i in range(CONTACTS):
                        async with http.post(f"{base}/api/v2/contacts", json={
                                "phone_number": f"+1415555{i:04d}",
                                "list_number": "+14155550000"}) as resp:
                            assert resp.status in (200, 201), await resp.text()
            asyncio.run(setup())

            began = time.monotonic()
            result = asyncio.run(_load(base, key, pg.restart, total=600))
            ids = result["accepted"]
            assert len(ids) >= 600 and len(set(ids)) == len(ids)
            assert proc.poll() is None, "trackly run died with the database"

            deadline = time.monotonic() + 120
            while True:
                found = asyncio.run(_statuses(base, key, ids))
                left = {i: s for i, s in found.items() if s != "delivered"}
                if not left or time.monotonic() > deadline:
                    break
                time.sleep(1)
            assert not left, f"{len(left)} accepted sends not delivered: " \
                             f"{sorted(set(left.values()))}"
            took = time.monotonic() - began
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
        server_log = (tmp_path / "run.log").read_text()
        assert proc.returncode == 0, server_log[-3000:]
        five_hundreds = [e for e in result["errors"] if "internal_error" in e]
        unhandled = server_log[server_log.find("unhandled error"):][:3000]
        assert not five_hundreds, (five_hundreds[:3], unhandled)
        assert set(result["statuses"]) <= {201, 503, -1}, result["statuses"]
        assert "Traceback" not in server_log or "unhandled error" not in server_log, \
            server_log[-3000:]
        print(f"{len(ids)} accepted and delivered in {took:.1f}s; answers "
              f"{result['statuses']}")
