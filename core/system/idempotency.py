"""``Idempotency-Key`` for creating writes (API.md conventions): the first answer to a
request is kept for 24 hours and given again to a repeat of the same request.

The same request is the same method, path and body, the body compared as parsed JSON
(its canonical form), so a client that re-serialises with other whitespace or key
order is not told it sent something else. A body that is not JSON compares by its
bytes. A request still running answers ``idempotency_in_progress``; one that failed is
forgotten (:meth:`IdempotencyService.release`), so the client may retry it.

:meth:`IdempotencyService.guarded` runs the claim, the request's own writes and the
kept answer in one transaction: one commit (one WAL flush) per request instead of four,
and a repeat sent while the first runs waits for it and gets its answer. A request that
fails rolls back whole, its claim with it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from core.clock import Clock
from core.errors import Conflict, ValidationError
from core.sql import Params, fetch, ts
from core.system.models import IdempotencyRecord
from core.text import text_problem

HEADER = "Idempotency-Key"
TTL = dt.timedelta(hours=24)
MAX_KEY = 200
MAX_PATH = 200


@dataclass(frozen=True, slots=True)
class Claim:
    """This request runs; its answer is kept with :meth:`IdempotencyService.complete`."""

    record_id: int


@dataclass(frozen=True, slots=True)
class Replay:
    """The first answer to this request, to give again."""

    status: int
    body: Any


def clean_key(raw: str) -> str:
    """The key of a header, or ``invalid_idempotency_key``: 1 to 200 characters of text
    (a header that is not UTF-8 arrives with unpaired surrogates, which no column
    stores)."""
    key = raw.strip()
    problem = text_problem(key)
    if problem is not None:
        raise ValidationError(f"{HEADER} {problem}; use letters, digits and punctuation.",
                              code="invalid_idempotency_key", field=HEADER)
    if not key or len(key) > MAX_KEY:
        raise ValidationError(f"{HEADER} must be 1 to {MAX_KEY} characters.",
                              code="invalid_idempotency_key", field=HEADER)
    return key


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def fingerprint(body: bytes) -> str:
    """SHA-256 of the body's canonical form: parsed JSON re-written with sorted keys and
    no whitespace (as the API reads it: NaN and Infinity are not JSON); else the bytes."""
    try:
        parsed = json.loads(body, parse_constant=_refuse_constant) if body.strip() else {}
    except (ValueError, UnicodeDecodeError):
        return hashlib.sha256(b"raw:" + body).hexdigest()
    # ensure_ascii: an unpaired surrogate in a string is escaped, never an encode error.
    canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(b"json:" + canonical.encode("ascii")).hexdigest()


class IdempotencyService:
    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock

    async def claim(self, account_id: int, key: str, *, method: str, path: str,
                    body: bytes) -> Claim | Replay:
        """Start this request under ``key``, or the first answer to it. Raises
        ``idempotency_conflict`` (the key was used for another request) or
        ``idempotency_in_progress`` (the first is still running)."""
        digest = fingerprint(body)
        path = path[:MAX_PATH]
        now = self.clock.now()
        for _ in range(2):
            # No exception on a repeat (it would abort the caller's transaction): the
            # insert waits for a first request still running, then writes nothing.
            p = Params()
            created = await fetch(
                "INSERT INTO idempotency_record (account_id, key, method, path, "
                f"request_hash, created_at) VALUES ({p(account_id)}, {p(key)}, {p(method)}, "
                f"{p(path)}, {p(digest)}, {p(ts(now))}) "
                "ON CONFLICT (account_id, key) DO NOTHING RETURNING id", p)
            if created:
                return Claim(created[0]["id"])
            first = await IdempotencyRecord.get_or_none(account_id=account_id, key=key)
            if first is None:
                continue  # removed meanwhile: try again
            if now - first.created_at > TTL:
                await IdempotencyRecord.filter(id=first.id).delete()
                continue
            if (first.request_hash, first.method, first.path) != (digest, method, path):
                raise Conflict(f"This {HEADER} was used with a different request.",
                               code="idempotency_conflict")
            if first.status_code is None:
                raise Conflict(f"A request with this {HEADER} is still running.",
                               code="idempotency_in_progress")
            return Replay(first.status_code, first.response)
        raise Conflict(f"This {HEADER} is busy; retry.", code="idempotency_in_progress")

    @contextlib.asynccontextmanager
    async def guarded(self, account_id: int, key: str, *, method: str, path: str,
                      body: bytes) -> AsyncIterator[Claim | Replay]:
        """:meth:`claim` and what the block writes (the request, then :meth:`complete` or
        :meth:`release`), committed together when the block ends; rolled back if it
        raises."""
        async with in_transaction():
            yield await self.claim(account_id, key, method=method, path=path, body=body)

    async def complete(self, claim: Claim, *, status: int, body: Any) -> None:
        """Keep the answer (a JSON value) for repeats."""
        await IdempotencyRecord.filter(id=claim.record_id).update(status_code=status,
                                                                  response=body)

    async def release(self, claim: Claim) -> None:
        """Forget a request that failed or whose answer cannot be kept: a retry runs."""
        await IdempotencyRecord.filter(id=claim.record_id).delete()
