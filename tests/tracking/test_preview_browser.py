"""Must show 3 (second half): the preview page in a real browser. Headless Chromium
(Debian's ``chromium``, which .ci/run installs) says ``HeadlessChrome`` in its agent, so
in preview mode it gets the page; it presses Continue and lands on the offer, and that
press is the one human click that counts.

The browser is driven over the DevTools protocol, as Puppeteer and Playwright do."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from core.accounts.models import Account
from core.offers.models import Offer
from core.tracking.models import MessageClick, MessageShortLinkClick
from tests.helpers import free_port
from tests.tracking.builders import make_world, queue_with_link

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("chromium is not installed (apt-get install chromium)",
                allow_module_level=True)


class Browser:
    """One page of a headless Chromium, spoken to over its DevTools websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        await self.ws.send_str(json.dumps({"id": call_id, "method": method,
                                           "params": params}))
        while True:
            msg = json.loads((await self.ws.receive(timeout=30)).data)
            if msg.get("id") == call_id:
                assert "error" not in msg, msg
                return msg.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression,
                                 returnByValue=True)
        return result.get("result", {}).get("value")

    async def wait_for(self, expression: str, within: float = 20) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            with contextlib.suppress(AssertionError):  # mid-navigation
                value = await self.evaluate(expression)
                if value:
                    return value
            await asyncio.sleep(0.1)
        raise AssertionError(f"timed out waiting for {expression}")


@contextlib.asynccontextmanager
async def chromium(tmp_path) -> AsyncIterator[Browser]:
    assert CHROMIUM, "chromium is not installed: .ci/run installs it"
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
        "--no-first-run", "--disable-extensions", "--disable-background-networking",
        f"--remote-debugging-port={port}", f"--user-data-dir={tmp_path / 'chromium'}",
        "about:blank", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with aiohttp.ClientSession() as session:
            pages: list[dict[str, Any]] = []
            for _ in range(150):
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"http://127.0.0.1:{port}/json/list") as resp:
                        pages = [t for t in await resp.json() if t["type"] == "page"]
                        if pages:
                            break
                await asyncio.sleep(0.2)
            assert pages, "chromium did not start"
            async with session.ws_connect(pages[0]["webSocketDebuggerUrl"],
                                          max_msg_size=0) as ws:
                yield Browser(ws)
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def test_headless_chromium_gets_the_page_and_continue_counts_one_human_click(
        services, http, tmp_path):
    landed: list[dict[str, str]] = []

    async def landing(request: web.Request) -> web.Response:
        landed.append(dict(request.query))
        return web.Response(text="<title>Offer</title>Welcome", content_type="text/html")

    app = web.Application()
    app.router.add_get("/landing", landing)
    offer_site = TestServer(app, port=free_port())
    await offer_site.start_server()
    try:
        world = await make_world(services)
        await Offer.filter(id=world.offer.id).update(
            tracking_url=f"http://127.0.0.1:{offer_site.port}/landing?click={{click_id}}")
        await Account.filter(id=world.tenant.account.id).update(bot_filter_mode="preview",
                                                               brand_name="Acme Deals")
        offer = await Offer.get(id=world.offer.id)
        sent = await queue_with_link(world, world.subscribers[0], now=services.clock.now(),
                                     offer=offer)
        link = f"http://127.0.0.1:{http.port}/{sent.link.code}"

        async with chromium(tmp_path) as browser:
            await browser.call("Page.navigate", url=link)
            await browser.wait_for("document.getElementById('continue') !== null")
            assert "Acme Deals" in await browser.evaluate("document.body.innerText")
            await services.redirects.recorder.flush()
            assert await MessageClick.all().count() == 0  # the page view counts nothing

            await browser.evaluate("document.getElementById('continue').click()")
            await browser.wait_for("location.pathname === '/landing'")
            assert await browser.evaluate("document.body.innerText") == "Welcome"

        await services.redirects.recorder.flush()
        counted = await MessageClick.get(message_id=sent.message_id)
        assert landed == [{"click": counted.click_id}]
        rows = await MessageShortLinkClick.filter(short_link_id=sent.link.id).order_by(
            "id").values_list("verdict", "bot_reason", "user_agent")
        assert [(v, r) for v, r, _ in rows] == [("bot", "agent:browser-automation"),
                                                ("human", None)]
        assert all("HeadlessChrome" in ua for _, _, ua in rows)
    finally:
        await offer_site.close()
