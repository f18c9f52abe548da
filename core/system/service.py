"""Health and heartbeats: what ``/readyz`` and ``/sms status`` report."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

from tortoise.connection import get_connection

from core.clock import Clock
from core.system import partitions
from core.system.models import Heartbeat

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatabaseHealth:
    ok: bool
    latency_ms: float
    dialect: str
    error: str | None = None


async def record_beat(component: str, at: dt.datetime, detail: dict[str, Any]) -> None:
    """Upsert ``component``'s last sign of life."""
    if not await Heartbeat.filter(component=component).update(beat_at=at, detail=detail):
        await Heartbeat.get_or_create(component=component,
                                      defaults={"beat_at": at, "detail": detail})


@dataclass(frozen=True)
class PartitionUpkeep:
    created: list[str]
    dropped: list[str]


class SystemService:
    def __init__(self, *, clock: Clock, retention_months: int | None = None) -> None:
        self.clock = clock
        self.retention_months = retention_months

    async def maintain_partitions(self) -> PartitionUpkeep:
        """PostgreSQL: the next months' partitions created ahead, and with a retention
        set, the months older than it dropped (core/system/partitions.py). Nothing on
        SQLite. The scheduler leader runs it hourly; two leaders for a moment are safe
        (each step checks what exists; a duplicate CREATE fails and the next tick
        retries)."""
        client = get_connection("default")
        if client.capabilities.dialect != "postgres":
            return PartitionUpkeep([], [])
        now = self.clock.now()
        created = await partitions.ensure_ahead(client, now)
        dropped = (await partitions.drop_older_than(client, now, self.retention_months)
                   if self.retention_months else [])
        return PartitionUpkeep(created, dropped)

    async def database_health(self) -> DatabaseHealth:
        started = time.perf_counter()
        try:
            conn = get_connection("default")
            await conn.execute_query("SELECT 1")
        except Exception as exc:  # any driver error means "not ready"
            log.warning("database health check failed: %s", type(exc).__name__)
            return DatabaseHealth(False, (time.perf_counter() - started) * 1000, "unknown",
                                  type(exc).__name__)
        return DatabaseHealth(True, (time.perf_counter() - started) * 1000,
                              conn.capabilities.dialect)

    async def beat(self, component: str, **detail: Any) -> None:
        await record_beat(component, self.clock.now(), detail)

    async def heartbeats(self) -> dict[str, Heartbeat]:
        return {hb.component: hb for hb in await Heartbeat.all()}
