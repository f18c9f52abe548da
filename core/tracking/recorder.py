"""The click recorder: clicks are answered first and written after, in batches.

``add`` puts a click in a bounded in-memory buffer and never waits; a background task
writes what is buffered every ``interval`` seconds (sooner once ``batch_size`` are
waiting), one transaction per batch:

1. every request as a ``message_short_link_click`` row (bots included), in one COPY
   on PostgreSQL (multi-row INSERTs on SQLite), the rows built in slices that yield to
   the event loop;
2. the first human click of each contact on each message as a ``message_click`` row (the
   counted click, with the public click id the offer URL carried), in one INSERT ... ON
   CONFLICT DO NOTHING RETURNING: the unique (message, contact) pair decides, so a repeat
   click, in this batch or any earlier one, in this process or another, counts nothing;
3. for the clicks that counted, the raw row they came from, and the counters of the
   subscription (ListContact: click_count, last_clicked_at), and the click_count of the
   creative, the offer, the schedule and the journey (one UPDATE per table);
4. after the commit, one ``click`` event per counted click for outbound webhooks.

When the database is down the batch stays at the head of the buffer and is retried with
backoff; clicks keep being buffered up to ``max_buffer`` (past that, new clicks are
dropped and counted in ``dropped``, loudly: memory is the one thing we cannot run out
of). ``close`` writes everything still buffered before the process exits; what the
database does not take in time (it is down, or slow under a backlog) goes to a spool file
in the data directory, which the next start writes first: a clean stop loses nothing."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import itertools
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Container, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.events import EventSink, EventType, NoEvents
from core.sql import Params, fetch, is_postgres, placeholders, ts
from core.text import header_text
from core.tracking.agents import MAX_AGENT, Judgement, Verdict
from core.tracking.links import LinkTarget

log = logging.getLogger(__name__)

MAX_ADDRESS = 45


class ClickIn(NamedTuple):  # a tuple: one is made per click, on the request's path
    target: LinkTarget
    at: dt.datetime
    address: str
    user_agent: str
    judgement: Judgement


class ClickRecorder:
    def __init__(self, *, events: EventSink | None = None, batch_size: int = 5000,
                 interval: float = 0.2, max_buffer: int = 200_000,
                 retry_first: float = 0.2, retry_max: float = 5.0,
                 close_within: float = 3.0, spool_dir: Path | None = None) -> None:
        self._events = events or NoEvents()
        self.batch_size = batch_size
        self.interval = interval
        self.max_buffer = max_buffer
        self._retry_first = retry_first
        self._retry_max = retry_max
        self.close_within = close_within  # inside trackly run's 5 s stop budget
        self.spool_dir = spool_dir
        self._buffer: collections.deque[ClickIn] = collections.deque()
        self._wake = asyncio.Event()
        self._writing = asyncio.Lock()  # one batch at a time: the background task or flush
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.written = 0  # raw click rows stored by this process
        self.counted = 0  # counted (first human) clicks stored
        self.dropped = 0  # clicks refused because the buffer was full
        self.failures = 0  # batches that failed and were retried
        # Pairs (message, contact) whose counted click exists: their repeats skip the
        # counted-click INSERT. Bounded; the unique constraint decides all the same.
        self._known: collections.OrderedDict[Pair, None] = collections.OrderedDict()
        self.known_size = 100_000

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def lag(self, now: dt.datetime) -> float:
        """Seconds the oldest click not yet written has waited (0 when none): how far
        the database writes are behind the redirects (``GET /metrics``)."""
        if not self._buffer:
            return 0.0
        return max(0.0, (now - self._buffer[0].at).total_seconds())

    def add(self, click: ClickIn) -> bool:
        if len(self._buffer) >= self.max_buffer:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error("click buffer full (%d waiting: is the database down?); "
                          "%d click(s) not recorded", len(self._buffer), self.dropped)
            return False
        self._buffer.append(click)
        if len(self._buffer) >= self.batch_size:
            self._wake.set()
        return True

    def start(self) -> None:
        if self._task is None:
            self._read_spool()
            self._closing = False
            self._task = asyncio.create_task(self._run(), name="click-recorder")

    async def close(self, *, within: float | None = None) -> None:
        """Write everything buffered (retrying while the database answers errors) for up
        to ``within`` seconds (``close_within`` by default), then stop."""
        within = self.close_within if within is None else within
        self._closing = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, within)
            except TimeoutError:
                pass
            except Exception:  # the writer died: what it held still goes to the spool
                log.exception("the click writer stopped with an error")
            self._task = None
        if self._buffer:
            self._write_spool()

    def spool_unwritten(self) -> None:
        """The process is leaving without waiting any longer (its stop budget ran out):
        whatever is still buffered goes to the spool file now, for the next start."""
        if self._buffer:
            self._write_spool()

    def _write_spool(self) -> None:
        count = len(self._buffer)
        if self.spool_dir is None:
            log.error("stopping with %d click(s) not recorded: the database did not take "
                      "them in time, and there is no spool directory", count)
            return
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        name = f"clicks-{time.time_ns()}-{os.getpid()}"
        tmp = self.spool_dir / f"{name}.tmp"
        with tmp.open("w", encoding="utf-8") as out:
            for click in self._buffer:
                out.write(json.dumps(_dump(click), separators=(",", ":")) + "\n")
        tmp.replace(self.spool_dir / f"{name}.jsonl")
        self._buffer.clear()
        log.warning("%d click(s) the database did not take in time were spooled to %s; "
                    "the next start writes them", count, self.spool_dir)

    def _read_spool(self) -> None:
        if self.spool_dir is None or not self.spool_dir.is_dir():
            return
        for path in sorted(self.spool_dir.glob("clicks-*.jsonl")):
            # Claimed by renaming, so two processes sharing the directory never both
            # take one file.
            claimed = path.with_suffix(f".claimed-{os.getpid()}")
            try:
                path.rename(claimed)
            except FileNotFoundError:
                continue
            with claimed.open(encoding="utf-8") as lines:
                clicks = [_load(json.loads(line)) for line in lines if line.strip()]
            self._buffer.extend(clicks)
            claimed.unlink()
            log.warning("%d spooled click(s) from an earlier stop are being written",
                        len(clicks))

    async def _run(self) -> None:
        delay = self._retry_first
        while True:
            if not self._buffer:
                if self._closing:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval)
                self._wake.clear()
                continue
            try:
                await self.flush_once()
                delay = self._retry_first
            except Exception as exc:  # the database is down or refused: keep, retry
                self.failures += 1
                log.warning("writing %d click(s) failed (%s); retrying in %.1f s",
                            min(len(self._buffer), self.batch_size),
                            str(exc)[:200] or type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)
            if not self._closing and len(self._buffer) < self.batch_size:
                # let a batch fill up rather than write a row at a time under load
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval)
                self._wake.clear()

    async def flush(self) -> int:
        """Write everything buffered now (tests and shutdown); returns rows written."""
        total = 0
        while self._buffer:
            total += await self.flush_once()
        return total

    async def flush_once(self) -> int:
        async with self._writing:
            return await self._write_head()

    async def _write_head(self) -> int:
        # islice: indexing a deque walks its blocks from the nearer end, every time
        batch = list(itertools.islice(self._buffer, self.batch_size))
        if not batch:
            return 0
        try:
            counted, pairs = await write_batch(batch, self._known)
        except IntegrityError:
            # A row the schema refuses (on SQLite, its link deleted since the click, say;
            # PostgreSQL checks no key on raw clicks, 0021) must not hold back the others:
            # write them one by one, drop only the refused.
            counted, pairs = [], []
            for click in batch:
                try:
                    one, has = await write_batch([click], self._known)
                    counted += one
                    pairs += has
                except IntegrityError as exc:
                    log.error("click on link %s not recorded: %s", click.target.link_id,
                              str(exc)[:200])
        for pair in pairs:
            self._known[pair] = None
        while len(self._known) > self.known_size:
            self._known.popitem(last=False)
        for _ in batch:  # written: only now do they leave the buffer
            self._buffer.popleft()
        self.written += len(batch)
        self.counted += len(counted)
        if counted:
            try:
                await self._events.emit(EventType.CLICK, counted)
            except Exception:  # webhooks must never cost a click
                log.exception("click events not queued")
        return len(batch)


_RAW_COLUMNS = ("short_link_id", "account_id", "message_id", "contact_id", "offer_id",
                "clicked_at", "ip_address", "user_agent", "is_bot", "verdict", "bot_reason")
_COUNTED_COLUMNS = ("click_id", "account_id", "message_id", "contact_id", "short_link_id",
                    "offer_id", "creative_id", "schedule_id", "journey_id",
                    "sending_list_id", "clicked_at")


def _values(rows: Sequence[Sequence[Any]], params: Params) -> str:
    return ", ".join("(" + ", ".join(params(v) for v in row) + ")" for row in rows)


Pair = tuple[int, int]  # (message id, contact id)
SLICE = 500  # rows built between two yields to the event loop


async def _raw_rows(batch: Sequence[ClickIn], pg: bool) -> list[tuple[Any, ...]]:
    """The batch as rows, built a slice at a time: a batch of thousands built in one go
    would hold every request waiting on this process for as long.

    Per row, what is cheapest in CPython 3.11 (bench/click_writes.py): ``verdict is not
    HUMAN`` rather than the ``is_bot`` property (11 ns against 116), ``str(verdict)``
    rather than the enum's ``.value`` property (33 ns against 111), and the aware
    datetime as it is (asyncpg converts any offset to UTC itself)."""
    human = Verdict.HUMAN
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(batch), SLICE):
        if start:
            await asyncio.sleep(0)
        if pg:
            rows += [(t.link_id, t.account_id, t.message_id, t.contact_id, t.offer_id,
                      at, address[:MAX_ADDRESS], header_text(user_agent[:MAX_AGENT]),
                      j.verdict is not human, str(j.verdict), j.reason)
                     for t, at, address, user_agent, j in batch[start:start + SLICE]]
        else:  # the time as whole seconds and microseconds: _SQLITE_TIME writes the text
            rows += [(t.link_id, t.account_id, t.message_id, t.contact_id, t.offer_id,
                      int(at.timestamp()), address[:MAX_ADDRESS],
                      header_text(user_agent[:MAX_AGENT]),
                      j.verdict is not human, str(j.verdict), j.reason, at.microsecond)
                     for t, at, address, user_agent, j in batch[start:start + SLICE]]
    return rows


# SQLite: the rows in multi-row INSERTs of fixed sizes, each size run by executemany over
# the batch's chunks of it (256 rows, then 16, then 1: three calls to the database thread
# a batch). The parameters are bound in C, a chunk at a time: executemany of a one-row
# statement bound each row's values in Python in the database thread, taking the GIL back
# from the event loop once per row (under load a batch of thousands crawled and held the
# one connection). Fixed sizes, because sqlite3 keeps a compiled statement by its text: a
# statement of the batch's own length was compiled anew each time, and compiling cost
# more than the insert (5.7 us a row against 2.8, bench/click_writes.py's 2,000 rows).
# The previous INSERT ... SELECT FROM json_each(?) of the rows as one JSON text cost
# 6.5 us a row in SQLite plus 1 us encoding the JSON.
# The time is the text core.sql.sqlite_ts writes ("2026-12-02 10:41:20.123456+00:00", no
# fraction when it is 0), made here from whole seconds (column 6) and microseconds (the
# extra column 12): formatting a datetime in Python costs more than the rest of its row
# (tests/tracking/test_redirect.py compares the two for every microsecond case).
_SQLITE_TIME = ("datetime(column6, 'unixepoch') || CASE WHEN column12 THEN "
                "printf('.%06d', column12) ELSE '' END || '+00:00'")
_SQLITE_VALUES = ", ".join(_SQLITE_TIME if c == "clicked_at" else f"column{i + 1}"
                           for i, c in enumerate(_RAW_COLUMNS))
_SQLITE_ROW = "(" + ", ".join("?" * (len(_RAW_COLUMNS) + 1)) + ")"
_SQLITE_RAW = tuple(
    (size, f"INSERT INTO message_short_link_click ({', '.join(_RAW_COLUMNS)}) "
           f"SELECT {_SQLITE_VALUES} FROM (VALUES {', '.join([_SQLITE_ROW] * size)})")
    for size in (256, 16, 1))


async def _insert_raw(conn: Any, rows: list[tuple[Any, ...]], pg: bool) -> None:
    """Every request: one COPY on PostgreSQL (binary, no statement to parse or plan, the
    cheapest way in); on SQLite multi-row INSERTs (_SQLITE_RAW says why)."""
    if pg:
        await conn._connection.copy_records_to_table(
            "message_short_link_click", records=_in_slices(rows), columns=_RAW_COLUMNS)
        return
    done = 0
    for size, sql in _SQLITE_RAW:
        end = done + (len(rows) - done) // size * size
        if end > done:
            await conn.execute_many(sql, [list(itertools.chain.from_iterable(
                rows[i:i + size])) for i in range(done, end, size)])
        done = end


async def _in_slices(rows: list[tuple[Any, ...]]) -> AsyncIterator[tuple[Any, ...]]:
    """The rows for COPY, with a turn for the event loop between slices: asyncpg encodes
    a list in one go, and a batch of 5,000 held every request waiting on this process
    for ~5 ms (the redirect's p99 went from 1.1x the bare handler's to 2x on a quiet
    machine)."""
    for start in range(0, len(rows), SLICE):
        if start:
            await asyncio.sleep(0)
        for row in rows[start:start + SLICE]:
            yield row


def first_human(batch: Sequence[ClickIn], known: Container[Pair] = ()) -> dict[Pair, ClickIn]:
    """The first human click of each contact on each message in the batch, leaving out
    pairs already known to have their counted click."""
    first: dict[Pair, ClickIn] = {}
    # A link's clicks share the cache's one LinkTarget: once a human click of it has been
    # looked at, its others are skipped on the target's identity (an int), not hashed
    # (a frozen dataclass hashes all its fields in Python).
    looked: set[int] = set()
    human = Verdict.HUMAN
    for c in batch:
        t = c.target
        if id(t) in looked or c.judgement.verdict is not human:
            continue
        looked.add(id(t))
        if t.message_id is None or t.contact_id is None or t.click_id is None:
            continue
        pair = (t.message_id, t.contact_id)
        if pair not in known:
            first.setdefault(pair, c)
    return first


async def write_batch(batch: Sequence[ClickIn], known: Container[Pair] = ()
                      ) -> tuple[list[tuple[int, dict[str, Any]]], list[Pair]]:
    """Store one batch in one transaction. Returns the click events of the clicks that
    counted (account id, data), and every pair that has its counted click now."""
    pg = is_postgres()
    # Built before the transaction: on SQLite it holds the one connection.
    rows = await _raw_rows(batch, pg)
    async with in_transaction() as conn:
        await _insert_raw(conn, rows, pg)
        first = first_human(batch, known)
        if not first:
            return [], []
        params = Params(conn)
        counted_rows = [(c.target.click_id, c.target.account_id, c.target.message_id,
                         c.target.contact_id, c.target.link_id, c.target.offer_id,
                         c.target.creative_id, c.target.schedule_id, c.target.journey_id,
                         c.target.sending_list_id, ts(c.at, conn)) for c in first.values()]
        inserted = await fetch(
            f"INSERT INTO message_click ({', '.join(_COUNTED_COLUMNS)}) "
            f"VALUES {_values(counted_rows, params)} "
            "ON CONFLICT (message_id, contact_id) DO NOTHING "
            "RETURNING id, click_id, message_id, contact_id", params)
        if not inserted:
            return [], list(first)
        ids = [row["id"] for row in inserted]
        params = Params(conn)
        await conn.execute_query(
            "UPDATE message_click SET raw_click_id = (SELECT min(r.id) FROM "
            "message_short_link_click r WHERE r.message_id = message_click.message_id "
            "AND r.contact_id = message_click.contact_id AND r.is_bot = "
            f"{'false' if pg else '0'}) WHERE {params.isin('id', ids)}", params.values)
        clicks = [first[(row["message_id"], row["contact_id"])] for row in inserted]
        await _bump_counters(conn, clicks)
    return [(c.target.account_id, _event(c)) for c in clicks], list(first)


async def _bump_counters(conn: Any, clicks: list[ClickIn]) -> None:
    subs: dict[tuple[int, int], tuple[int, dt.datetime]] = {}
    creatives: collections.Counter[int] = collections.Counter()
    offers: collections.Counter[int] = collections.Counter()
    schedules: collections.Counter[int] = collections.Counter()
    journeys: collections.Counter[int] = collections.Counter()
    for c in clicks:
        t = c.target
        if t.sending_list_id is not None and t.contact_id is not None:
            key = (t.sending_list_id, t.contact_id)
            n, last = subs.get(key, (0, c.at))
            subs[key] = (n + 1, max(last, c.at))
        if t.creative_id is not None:
            creatives[t.creative_id] += 1
        if t.offer_id is not None:
            offers[t.offer_id] += 1
        if t.schedule_id is not None:
            schedules[t.schedule_id] += 1
        if t.journey_id is not None:
            journeys[t.journey_id] += 1
    if subs:
        p = placeholders(5, conn)
        await conn.execute_many(
            f"UPDATE list_contact SET click_count = click_count + {p[0]}, last_clicked_at = "
            f"CASE WHEN last_clicked_at IS NULL OR last_clicked_at < {p[1]} THEN {p[2]} "
            f"ELSE last_clicked_at END WHERE sending_list_id = {p[3]} AND contact_id = {p[4]}",
            [[n, ts(last, conn), ts(last, conn), lst, contact]
             for (lst, contact), (n, last) in subs.items()])
    for table, counts in (("message_creative", creatives), ("offer", offers),
                          ("schedule", schedules), ("welcome_journey", journeys)):
        if counts:
            await _add_clicks(conn, table, counts)


async def _add_clicks(conn: Any, table: str, counts: collections.Counter[int]) -> None:
    """One UPDATE for every row of ``table`` this batch counted clicks for."""
    params = Params(conn)
    cases = " ".join(f"WHEN {params(key)} THEN {params(n)}" for key, n in counts.items())
    await conn.execute_query(
        f"UPDATE {table} SET click_count = click_count + CASE id {cases} ELSE 0 END "
        f"WHERE {params.isin('id', list(counts))}", params.values)


def _dump(c: ClickIn) -> dict[str, Any]:
    target = dataclasses.asdict(c.target)
    target["sent_at"] = c.target.sent_at.isoformat() if c.target.sent_at else None
    return {"target": target, "at": c.at.isoformat(), "address": c.address,
            "user_agent": c.user_agent, "verdict": c.judgement.verdict.value,
            "reason": c.judgement.reason}


def _load(data: dict[str, Any]) -> ClickIn:
    target = dict(data["target"])
    target["sent_at"] = dt.datetime.fromisoformat(target["sent_at"]) \
        if target["sent_at"] else None
    return ClickIn(LinkTarget(**target), dt.datetime.fromisoformat(data["at"]),
                   data["address"], data["user_agent"],
                   Judgement(Verdict(data["verdict"]), data["reason"]))


def _event(c: ClickIn) -> dict[str, Any]:
    t = c.target
    return {"click_id": t.click_id, "message_id": t.message_public_id, "code": t.code,
            "contact_id": t.contact_id, "offer_id": t.offer_id,
            "clicked_at": c.at.isoformat().replace("+00:00", "Z")}
