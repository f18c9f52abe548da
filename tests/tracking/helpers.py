"""Clicks made the way a phone makes them: a real HTTP request to the redirect."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from core.messaging.models import MessageShortLink
from core.services import Services
from core.tracking.models import MessageClick

PHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
PREVIEW_UA = "facebookexternalhit/1.1 Facebot Twitterbot/1.0"


async def follow(client: TestClient, link: MessageShortLink, *, user_agent: str = PHONE_UA,
                 method: str = "GET", **headers: Any) -> Any:
    """One request for the link; the answer, redirects not followed."""
    resp = await client.request(method, f"/{link.code}", allow_redirects=False,
                                headers={"User-Agent": user_agent, **headers})
    await resp.read()
    return resp


async def click(client: TestClient, services: Services, link: MessageShortLink, *,
                user_agent: str = PHONE_UA) -> MessageClick | None:
    """A click, answered 302 and recorded (the recorder flushed); the counted click of
    the contact on the message afterwards, None if it has none (a bot's)."""
    resp = await follow(client, link, user_agent=user_agent)
    assert resp.status == 302, await resp.text()
    await services.redirects.recorder.flush()
    return await MessageClick.get_or_none(message_id=link.message_id,
                                          contact_id=link.contact_id)


@contextlib.asynccontextmanager
async def redirect_clicks(services: Services, *, user_agent: str = PHONE_UA
                          ) -> AsyncIterator[Callable[[MessageShortLink],
                                                      Awaitable[MessageClick | None]]]:
    """For tests that hold no HTTP client of their own: the real web app on a loopback
    port, and a function that clicks a link through it at the clock's current time
    (answered 302 and recorded), returning the contact's counted click on the message."""
    from tests.helpers import AppServer
    from web.app import create_app, server_args

    client = TestClient(AppServer(create_app(services), **server_args()))
    await client.start_server()
    try:
        async def one(link: MessageShortLink) -> MessageClick | None:
            return await click(client, services, link, user_agent=user_agent)
        yield one
    finally:
        await client.close()
