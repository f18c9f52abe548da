"""Count the statements the database is sent, below the ORM: a round-trip budget that a
test can hold a hot path to (CI catches a regression, not production).

PostgreSQL: asyncpg's own query logger on every connection of the pool (statements,
BEGIN/COMMIT, and the pool's reset if it ran one). SQLite: the sqlite3 trace callback of
the connection, which sees every statement the engine runs, BEGIN and COMMIT included.
Neither replaces any of our code; they only watch what reaches the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import AsyncIterator
from typing import Any

from tortoise import Tortoise

from tests.conftest import IS_POSTGRES

# tortoise's asyncpg pool holds at most this many connections (its default maxsize)
_POOL_SIZE = 5
# SQLite's trace also reports the statements of the engine's own bookkeeping
_IGNORED = re.compile(r"^\s*(--|PRAGMA)", re.IGNORECASE)
# asyncpg asks the server about a type the first time a connection meets it (with JIT
# turned off around the question): once per connection and type, not per operation.
_INTROSPECTION = re.compile(r"typeinfo_tree|set_config\('jit'|current_setting\('jit'\)")
_LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")


class Statements:
    """``collapse``: SQLite traces each row of an ``executemany`` as a statement, though
    it is one call into the engine; consecutive statements of one shape (the same text
    but for literals) count once there."""

    def __init__(self, *, collapse: bool = False) -> None:
        self.seen: list[str] = []
        self._collapse = collapse
        self._last_shape = ""
        self._lock = threading.Lock()

    def note(self, sql: str) -> None:
        if _IGNORED.match(sql) or _INTROSPECTION.search(sql):
            return
        text = " ".join(sql.split())
        with self._lock:
            if self._collapse:
                shape = _LITERALS.sub("?", text)
                if shape == self._last_shape:
                    return
                self._last_shape = shape
            self.seen.append(text)

    def __len__(self) -> int:
        return len(self.seen)

    def clear(self) -> None:
        with self._lock:
            self.seen.clear()
            self._last_shape = ""

    def matching(self, word: str) -> list[str]:
        return [s for s in self.seen if word.upper() in s.upper()]

    def report(self) -> str:
        return "\n".join(f"{i + 1:3}. {s[:160]}" for i, s in enumerate(self.seen))


@contextlib.asynccontextmanager
async def count_statements() -> AsyncIterator[Statements]:
    """Statements sent to the database inside the block (read it after the block)."""
    seen = Statements(collapse=not IS_POSTGRES)
    client: Any = Tortoise.get_connection("default")
    if IS_POSTGRES:
        await client.execute_query("SELECT 1")  # the pool exists
        pool = client._pool
        # Take every connection the pool can hold, so that each one watches.
        proxies = [await pool.acquire() for _ in range(_POOL_SIZE)]

        def log(record: Any) -> None:
            seen.note(record.query)

        raws = [proxy._con for proxy in proxies]
        for raw in raws:
            raw.add_query_logger(log)
        for proxy in proxies:
            await pool.release(proxy)
        await asyncio.sleep(0)
        seen.clear()  # the releases above are not the test's
        try:
            yield seen
            await asyncio.sleep(0)  # asyncpg calls its loggers on the next loop turn
            await asyncio.sleep(0)
        finally:
            for raw in raws:
                raw.remove_query_logger(log)
        return
    await client.execute_query("SELECT 1")
    raw = client._connection._conn  # the sqlite3 connection inside aiosqlite
    await client._connection._execute(raw.set_trace_callback, seen.note)
    try:
        yield seen
    finally:
        await client._connection._execute(raw.set_trace_callback, None)
