"""Helpers for the few hot paths that go below the ORM, on both backends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient


def conn() -> BaseDBAsyncClient:
    return connections.get("default")


def is_postgres(client: BaseDBAsyncClient | None = None) -> bool:
    return (client or conn()).capabilities.dialect == "postgres"


def sqlite_ts(value: dt.datetime | None) -> str | None:
    """A datetime as SQLite holds it: the text tortoise (sqlite3's adapter) writes, in UTC,
    so stored and given values compare as text."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to SQL")
    return value.astimezone(dt.UTC).isoformat(sep=" ")


def ts(value: dt.datetime | None, client: BaseDBAsyncClient | None = None) -> Any:
    """A datetime parameter for either backend: asyncpg takes aware datetimes."""
    if value is not None and is_postgres(client):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to SQL")
        return value.astimezone(dt.UTC)
    return sqlite_ts(value)


def read_ts(value: Any) -> dt.datetime | None:
    """A datetime read back from raw SQL on either backend."""
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class Params:
    """Collects parameters and hands out the right placeholder ($n or ?)."""

    def __init__(self, client: BaseDBAsyncClient | None = None) -> None:
        self.client = client or conn()
        self.pg = is_postgres(self.client)
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}" if self.pg else "?"

    def isin(self, column: str, values: Iterable[Any], pg_type: str = "bigint") -> str:
        """``column`` is one of ``values`` (never empty: callers check).

        PostgreSQL gets one array parameter (``= ANY($n::type[])``): a statement with
        hundreds of IN placeholders is re-planned generically after five runs, and that
        plan can be a hundred times slower. SQLite gets the plain IN list."""
        if self.pg:
            return f"{column} = ANY({self(list(values))}::{pg_type}[])"
        return f"{column} IN (" + ", ".join(self(v) for v in values) + ")"


async def fetch(sql: str, params: Params) -> list[dict[str, Any]]:
    """Rows of a SELECT, or of an INSERT/UPDATE ... RETURNING (execute_query would drop
    those on asyncpg)."""
    return await params.client.execute_query_dict(sql, params.values)


async def execute(sql: str, params: Params) -> int:
    count, _ = await params.client.execute_query(sql, params.values)
    return count


async def execute_many(sql: str, rows: Sequence[Sequence[Any]],
                       client: BaseDBAsyncClient | None = None) -> None:
    if rows:
        await (client or conn()).execute_many(sql, [list(r) for r in rows])


def placeholders(count: int, client: BaseDBAsyncClient | None = None) -> list[str]:
    """Placeholders for one row of an executemany statement."""
    if is_postgres(client):
        return [f"${i}" for i in range(1, count + 1)]
    return ["?"] * count
