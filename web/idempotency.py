"""``@idempotent`` on a creating POST handler: ``Idempotency-Key`` as API.md describes it.

A repeat of the same request gets the first answer again (with
``Idempotent-Replayed: true``); core (:mod:`core.system.idempotency`) decides what the
same request is and keeps the answers. This decorator only reads the header and the
body and hands the answer over.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from core.system.idempotency import HEADER, Replay, clean_key
from web.auth import require_actor
from web.keys import SERVICES
from web.render import respond

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def idempotency_key(request: web.Request) -> str | None:
    """The request's key as core knows it (trimmed, checked), or None."""
    raw = request.headers.get(HEADER)
    return None if raw is None else clean_key(raw)


def idempotent(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        key = idempotency_key(request)
        if key is None:
            return await handler(request)
        actor = await require_actor(request)
        # A client hanging up here is answered and logged once, by web.errors.
        body = await request.read()
        store = request.app[SERVICES].idempotency
        async with store.guarded(actor.account_id, key, method=request.method,
                                 path=request.path, body=body) as claim:
            if isinstance(claim, Replay):
                return respond(claim.body, status=claim.status,
                               headers={"Idempotent-Replayed": "true"})
            response = await handler(request)  # raising rolls the claim back with it
            if isinstance(response, web.Response) and response.status < 500 and \
                    response.content_type == "application/json" and \
                    response.text is not None:
                await store.complete(claim, status=response.status,
                                     body=json.loads(response.text))
            else:
                await store.release(claim)
        return response

    return wrapper
