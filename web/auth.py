"""``X-Api-Key`` authentication: every API handler asks for its actor here."""

from __future__ import annotations

from aiohttp import web

from core.permissions import Actor
from web.keys import ACTOR, API_KEY, SERVICES


async def require_actor(request: web.Request) -> Actor:
    actor = request.get(ACTOR)
    if actor is None:
        services = request.app[SERVICES]
        actor, key = await services.accounts.authenticate(request.headers.get("X-Api-Key"))
        request[ACTOR] = actor
        request[API_KEY] = key
    return actor
