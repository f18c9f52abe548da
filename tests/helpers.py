"""Small helpers many tests share: a free port, waiting for a condition, and the test
server that serves our app the way ``trackly run`` does."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp.test_utils import TestServer
from aiohttp.web_runner import BaseRunner

from web.app import AppRunner

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def eventually(check: Callable[[], Awaitable[T]], *, within: float = 5.0,
                     what: str = "condition", poll: float = 0.01) -> T:
    """Poll a condition something else reaches asynchronously (a gateway event, a worker
    process, webhooks). The time limit only bounds a failing test."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not (result := await check()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(poll)
    return result


class AppServer(TestServer):
    """aiohttp's TestServer with our runner (web.app.AppRunner), so a test's server
    answers as ``trackly run``'s does, the redirect's front door included."""

    async def _make_runner(self, **kwargs: Any) -> BaseRunner:
        return AppRunner(self.app, **kwargs)
