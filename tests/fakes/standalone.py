"""A provider fake in its own process, and a client for its control API.

For tests where our side dies mid-send (SIGKILL) while the provider must remember what it
received::

    with StandaloneFake("twilio", "--inbound-url", url) as fake:   # starts the process
        settings.twilio_base_url = fake.url
        ...
        control = FakeControl(fake.url, session)
        record = await control.messages()          # {"count", "messages", "received_twice"}
        assert record["received_twice"] == {}
        await control.inject("rate_limit", retry_after="2")

Providers: "twilio", "infobip", "cm"; extra arguments are the fake's own
(``--account-sid``, ``--auth-token``, ``--api-key``, ``--product-token``,
``--inbound-url``, ``--receipt-url``, ``--receipts``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[2]


class StandaloneFake:
    def __init__(self, provider: str, *args: str) -> None:
        self.command = [sys.executable, "-m", f"tests.fakes.{provider}_fake", "--port", "0",
                        *args]
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.port = 0

    def start(self) -> StandaloneFake:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get(
            "PYTHONPATH", ""))
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=env, text=True,
                                        stdout=subprocess.PIPE)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait(5)
            raise RuntimeError(f"fake exited with {code} before listening")
        announced = json.loads(line)
        self.url, self.port = announced["url"], announced["port"]
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> StandaloneFake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FakeControl:
    """The ``/_fake/`` control API of a running fake (in process or standalone)."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url.rstrip("/") + "/_fake"
        self.session = session

    async def _get(self, path: str) -> Any:
        async with self.session.get(self.url + path) as resp:
            resp.raise_for_status()
            return await resp.json()

    async def _post(self, path: str, body: Any = None) -> Any:
        async with self.session.post(self.url + path, json=body or {}) as resp:
            resp.raise_for_status()
            return await resp.json()

    async def messages(self) -> dict[str, Any]:
        return await self._get("/messages")

    async def stats(self) -> dict[str, Any]:
        return await self._get("/stats")

    async def inject(self, kind: str, **options: Any) -> dict[str, Any]:
        return await self._post("/faults", {"kind": kind, **options})

    async def stop_numbers(self, *numbers: str) -> dict[str, Any]:
        return await self._post("/stop-numbers", {"numbers": list(numbers)})

    async def receipts(self, mode: str) -> dict[str, Any]:
        return await self._post("/receipts", {"mode": mode})

    async def inbound(self, from_: str, to: str, body: str) -> int:
        answer = await self._post("/inbound", {"from": from_, "to": to, "body": body})
        return int(answer["webhook_status"])

    async def unknown_receipt(self, url: str | None = None) -> int:
        answer = await self._post("/unknown-receipt", {"url": url} if url else {})
        return int(answer["webhook_status"])

    async def drain(self) -> None:
        await self._post("/drain")

    async def reset(self) -> None:
        await self._post("/reset")
