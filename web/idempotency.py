"""``Idempotency-Key`` for creating writes (API.md conventions), for any JSON handler.

Put ``@idempotent`` on a POST handler. A repeat with the same key and the same body gets
the first answer again (with ``Idempotent-Replayed: true``); the same key with another
body is 409 ``idempotency_conflict``; a repeat while the first is still running is 409
``idempotency_in_progress``. A request that fails with an error is forgotten, so the
client may retry it. Keys live 24 hours.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Awaitable, Callable

from aiohttp import web
from tortoise.exceptions import IntegrityError

from core.errors import Conflict, ValidationError
from core.system.models import IdempotencyRecord
from web.auth import require_actor
from web.keys import SERVICES

HEADER = "Idempotency-Key"
TTL = dt.timedelta(hours=24)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def idempotent(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        key = request.headers.get(HEADER)
        if key is None:
            return await handler(request)
        key = key.strip()
        if not key or len(key) > 200:
            raise ValidationError(f"{HEADER} must be 1 to 200 characters.",
                                  code="invalid_idempotency_key", field=HEADER)
        actor = await require_actor(request)
        digest = hashlib.sha256(await request.read()).hexdigest()
        now = request.app[SERVICES].clock.now()
        record = await _claim(actor.account_id, key, request, digest, now)
        if isinstance(record, web.StreamResponse):
            return record
        try:
            response = await handler(request)
        except BaseException:
            await IdempotencyRecord.filter(id=record.id).delete()
            raise
        if isinstance(response, web.Response) and response.status < 500 and \
                response.content_type == "application/json" and response.text is not None:
            await IdempotencyRecord.filter(id=record.id).update(
                status_code=response.status, response=json.loads(response.text))
        else:
            await IdempotencyRecord.filter(id=record.id).delete()
        return response

    return wrapper


async def _claim(account_id: int, key: str, request: web.Request, digest: str,
                 now: dt.datetime) -> IdempotencyRecord | web.StreamResponse:
    for _ in range(2):
        try:
            return await IdempotencyRecord.create(
                account_id=account_id, key=key, method=request.method,
                path=request.path[:200], request_hash=digest, created_at=now)
        except IntegrityError:
            first = await IdempotencyRecord.get_or_none(account_id=account_id, key=key)
            if first is None:
                continue  # removed meanwhile: try again
            if now - first.created_at > TTL:
                await IdempotencyRecord.filter(id=first.id).delete()
                continue
            if (first.request_hash, first.method, first.path) != (
                    digest, request.method, request.path[:200]):
                raise Conflict(f"This {HEADER} was used with a different request.",
                               code="idempotency_conflict") from None
            if first.status_code is None:
                raise Conflict(f"A request with this {HEADER} is still running.",
                               code="idempotency_in_progress") from None
            return web.json_response(first.response, status=first.status_code,
                                     headers={"Idempotent-Replayed": "true"})
    raise Conflict(f"This {HEADER} is busy; retry.", code="idempotency_in_progress")
