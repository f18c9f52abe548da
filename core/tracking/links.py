"""Short links as the redirect needs them: one SQL statement on a miss, none on a hit.

A bounded in-memory LRU sits in front of the database. Each entry lives ``ttl`` seconds
(default 5), so a change to a link, its offer or its account reaches every process within
that time without any cross-process signal (works the same on SQLite and PostgreSQL; a
process under load re-reads a hot link once per TTL, in the background, ahead of its
expiry: no request waits for that read).
Unknown codes are cached too, for a shorter time, so a scan of random codes cannot turn
into a database scan.

The destination is built here once per entry, from the database only: the link's stored
URL (the offer's tracking URL with the binding's parameters), its macros filled with the
message's values. The click id in it is derived from the message (an HMAC under the
installation's secret), so every click of one message carries the same id without a
database round trip, and it is the id of the counted click the recorder writes."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from core.offers.macros import fill
from core.sql import Params, fetch, read_ts

CLICK_ID_LENGTH = 22
_SUBS = ("sub1", "sub2", "sub3", "sub4", "sub5")


@dataclass(frozen=True, slots=True)
class LinkTarget:
    link_id: int
    code: str
    account_id: int
    message_id: int | None
    contact_id: int | None
    offer_id: int | None
    creative_id: int | None
    schedule_id: int | None
    journey_id: int | None
    sending_list_id: int | None
    message_public_id: str | None
    click_id: str | None  # the public id of the counted click; None without a message
    destination: str
    tracking_domain: str | None
    mode: str  # record | preview (the offer's override, else the account's)
    brand: str
    sent_at: dt.datetime | None


_SQL = (
    "SELECT l.id, l.code, l.account_id, l.message_id, l.contact_id, l.offer_id, "
    "l.destination_url, m.public_id, m.sent_at, m.creative_id, m.schedule_id, "
    "m.journey_id, m.sending_list_id, a.tracking_domain, a.bot_filter_mode, "
    "a.brand_name, a.name AS account_name, o.bot_filter_mode AS offer_mode "
    "FROM message_short_link l JOIN account a ON a.id = l.account_id "
    "LEFT JOIN message_sent m ON m.id = l.message_id "
    "LEFT JOIN offer o ON o.id = l.offer_id "
    "WHERE {where} AND a.status <> 'deleted'"
)
REFRESH_BATCH = 500  # codes per refresh query (under SQLite's 999 parameters)
PRELOAD = 5_000  # newest links read into the cache as a process starts


def click_key(secret_key: str) -> bytes:
    """The HMAC key of click ids, derived from the installation's secret key."""
    return hmac.new(secret_key.encode("utf-8"), b"trackly/click-ids/v1", hashlib.sha256).digest()


def click_id_for(key: bytes, message_id: int) -> str:
    digest = hmac.new(key, b"click:%d" % message_id, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:CLICK_ID_LENGTH] \
        .replace("-", "x").replace("_", "y")


def _subs(url: str) -> dict[str, str]:
    """sub1..sub5 from the binding's parameters (they are in the stored URL's query)."""
    return {k: v for k, v in parse_qsl(urlsplit(url).query) if k in _SUBS}


def target_of(row: dict[str, Any], key: bytes) -> LinkTarget:
    message_id = row["message_id"]
    click_id = click_id_for(key, message_id) if message_id is not None else None
    stored = row["destination_url"]
    values: dict[str, object] = {
        "click_id": click_id, "message_id": row["public_id"],
        "contact_id": row["contact_id"], "offer_id": row["offer_id"], **_subs(stored)}
    mode = row["offer_mode"] or row["bot_filter_mode"] or "record"
    return LinkTarget(
        link_id=row["id"], code=row["code"], account_id=row["account_id"],
        message_id=message_id, contact_id=row["contact_id"], offer_id=row["offer_id"],
        creative_id=row["creative_id"], schedule_id=row["schedule_id"],
        journey_id=row["journey_id"], sending_list_id=row["sending_list_id"],
        message_public_id=row["public_id"], click_id=click_id,
        destination=fill(stored, values),
        tracking_domain=(row["tracking_domain"] or "").lower() or None,
        mode=mode, brand=row["brand_name"] or row["account_name"] or "",
        sent_at=read_ts(row["sent_at"]))


class LinkCache:
    """code -> LinkTarget (or None: no such link), bounded, each entry for ``ttl``.

    Refreshed ahead: a hit on an entry past ``refresh`` of its ttl (half) answers from
    the entry at once and marks the code due; one background task reads every due code
    again in ONE query (``code IN``/``= ANY``, a batch per ``batch_delay`` tick), so a
    link in use never expires, no request waits for the database once its link is known,
    a blast over N links costs one SELECT per tick rather than N, and only codes used
    since their last read are read again. A change still arrives within ``ttl``."""

    def __init__(self, *, key: bytes, size: int = 100_000, ttl: float = 5.0,
                 miss_ttl: float = 2.0, refresh: float = 0.5, batch_delay: float = 0.1,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._key = key
        self._size = size
        self._ttl = ttl
        self._miss_ttl = miss_ttl
        self._refresh = refresh
        self._batch_delay = batch_delay
        self._now = monotonic
        # code -> (refresh at, expires at, target)
        self._entries: OrderedDict[str, tuple[float, float, LinkTarget | None]] = \
            OrderedDict()
        # One load per code at a time: the many requests for a code nobody asked for yet
        # (a blast's first seconds) wait for the same SELECT.
        self._loading: dict[str, asyncio.Task[LinkTarget | None]] = {}
        # Codes hit past their refresh time, read again by the one refresh task.
        self._due: set[str] = set()
        # code -> the row its target was built from (a refresh reuses an unchanged one)
        self._rows: dict[str, dict[str, Any]] = {}
        self._refreshing: asyncio.Task[None] | None = None
        self._generation = 0  # forget() bumps it: a refresh read before it is dropped
        self.loads = 0  # database round trips made (misses, expiries and refreshes)
        self.refreshes = 0  # codes read again in the background, ahead of expiry
        self.refresh_queries = 0  # the round trips those took (one per batch)
        self.misses = 0  # requests that waited for a load (unknown or expired entries)

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, code: str) -> tuple[bool, LinkTarget | None]:
        """(found and fresh, target) without waiting for the database."""
        entry = self._entries.get(code)
        if entry is None:
            return False, None
        refresh_at, expires, target = entry
        now = self._now()
        if expires < now:
            return False, None
        self._entries.move_to_end(code)
        if now >= refresh_at and code not in self._due and code not in self._loading:
            self._due.add(code)
            if self._refreshing is None:
                self._refreshing = asyncio.get_running_loop().create_task(
                    self._refresh_due())
        return True, target

    async def get(self, code: str) -> LinkTarget | None:
        fresh, target = self.peek(code)
        if fresh:
            return target
        self.misses += 1
        loading = self._loading.get(code) or self._start(code)
        return await asyncio.shield(loading)

    def _start(self, code: str) -> asyncio.Task[LinkTarget | None]:
        task = asyncio.get_running_loop().create_task(self._load(code))
        self._loading[code] = task

        def done(t: asyncio.Task[LinkTarget | None]) -> None:
            if self._loading.get(code) is t:
                del self._loading[code]
            if not t.cancelled():
                t.exception()  # retrieved: a refresh's failure waits for the next miss

        task.add_done_callback(done)
        return task

    async def _load(self, code: str) -> LinkTarget | None:
        params = Params()
        rows = await fetch(_SQL.format(where=f"l.code = {params(code)}"), params)
        self.loads += 1
        target = target_of(rows[0], self._key) if rows else None
        if rows:
            self._rows[code] = rows[0]
        self._store(code, target, self._now())
        return target

    def _target(self, code: str, row: dict[str, Any] | None) -> LinkTarget | None:
        """The refreshed target: the cached one itself when its row did not change (most
        do not; building one costs an HMAC and the macros), else built anew."""
        if row is None:
            return None
        entry = self._entries.get(code)
        old = entry[2] if entry is not None else None
        if old is not None and self._rows.get(code) == row:
            return old
        self._rows[code] = row
        return target_of(row, self._key)

    def _store(self, code: str, target: LinkTarget | None, now: float) -> None:
        ttl = self._ttl if target else self._miss_ttl
        self._entries[code] = (now + ttl * self._refresh, now + ttl, target)
        self._entries.move_to_end(code)
        while len(self._entries) > self._size:
            self._rows.pop(self._entries.popitem(last=False)[0], None)

    async def _refresh_due(self) -> None:
        """Read every due code again, REFRESH_BATCH per query, until none is due. A
        short wait first gathers the codes that come due together (a blast's links were
        read together, so they come due together) into one query."""
        try:
            await asyncio.sleep(self._batch_delay)
            while self._due:
                batch = [self._due.pop() for _ in range(min(REFRESH_BATCH, len(self._due)))]
                generation = self._generation
                try:
                    params = Params()
                    rows = await fetch(_SQL.format(where=params.isin("l.code", batch, "text")),
                                       params)
                except Exception:  # the entries stand; their next hit retries
                    continue
                finally:
                    self.loads += 1
                    self.refresh_queries += 1
                now = self._now()
                found = {row["code"]: row for row in rows}
                for i, code in enumerate(batch, 1):
                    if generation != self._generation:
                        break  # forget() came meanwhile: these rows may predate it
                    if code not in self._loading:  # a miss's own load is as new
                        self._store(code, self._target(code, found.get(code)), now)
                        self.refreshes += 1
                    if i % 100 == 0:
                        await asyncio.sleep(0)  # a long batch never holds the loop
        finally:
            self._refreshing = None

    async def preload(self, count: int = PRELOAD) -> int:
        """Read the ``count`` newest links into the cache (a process starting during a
        blast: their clicks find them there instead of each waiting for a SELECT of its
        own), REFRESH_BATCH per query, yielding between batches. A code a request read
        meanwhile keeps its own entry. Returns the links loaded."""
        params = Params()
        newest = await fetch(
            f"SELECT code FROM message_short_link ORDER BY id DESC LIMIT {params(count)}",
            params)
        codes = [row["code"] for row in newest]
        loaded = 0
        for start in range(0, len(codes), REFRESH_BATCH):
            batch = codes[start:start + REFRESH_BATCH]
            params = Params()
            generation = self._generation
            rows = await fetch(_SQL.format(where=params.isin("l.code", batch, "text")), params)
            self.loads += 1
            if generation != self._generation:
                continue  # forget() came meanwhile: these rows may predate it
            now = self._now()
            for i, row in enumerate(rows, 1):
                code = row["code"]
                if code not in self._entries and code not in self._loading:
                    self._store(code, self._target(code, row), now)
                    loaded += 1
                if i % 100 == 0:
                    await asyncio.sleep(0)  # building targets never holds the loop long
        return loaded

    def forget(self, code: str | None = None) -> None:
        """Drop one code (or all): the next request reads the database."""
        self._generation += 1
        if code is None:
            self._entries.clear()
            self._due.clear()
            self._rows.clear()
        else:
            self._due.discard(code)
            self._rows.pop(code, None)
            self._entries.pop(code, None)
