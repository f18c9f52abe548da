"""Raising alerts and notices. Core writes them here; the bot delivers them.

An alert condition (``dedup_key``) is raised once while it lasts and cleared once when it
ends, however often the condition is observed; plain notices (no key) always go out."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.clock import Clock
from core.notifications.models import AlertState, Notification, NotificationStatus, Severity
from core.sql import Params, fetch, ts

log = logging.getLogger(__name__)


class NotificationService:
    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock

    async def notify(self, account_id: int, *, kind: str, severity: Severity, title: str,
                     body: str = "", data: dict[str, Any] | None = None) -> int:
        """A notice that always goes out (an opt-out, an inbound message...); its id.

        Named SQL: every STOP of a burst writes one, and ``Notification.create`` built and
        validated a model each time (bench/stop_burst.py, profiled)."""
        p = Params()
        data_sql = "CAST({}::text AS jsonb)" if p.pg else "{}"
        rows = await fetch(
            "INSERT INTO notification (account_id, kind, severity, title, body, data, "
            "is_resolution, status, created_at, attempts) VALUES ("
            f"{p(account_id)}, {p(kind[:32])}, {p(severity.value)}, {p(title[:200])}, "
            f"{p(body)}, {data_sql.format(p(orjson.dumps(data or {}).decode()))}, "
            f"{p(False)}, {p(NotificationStatus.PENDING.value)}, {p(ts(self.clock.now()))}, 0"
            ") RETURNING id", p)
        return int(rows[0]["id"])

    async def raise_alert(self, account_id: int, *, dedup_key: str, kind: str,
                          severity: Severity, title: str, body: str = "",
                          data: dict[str, Any] | None = None) -> Notification | None:
        """Open the condition ``dedup_key``; returns the notification, or None if it was
        already open (nothing new to say)."""
        now = self.clock.now()
        async with in_transaction():
            opened = await AlertState.filter(account_id=account_id, dedup_key=dedup_key,
                                             is_open=False).update(is_open=True,
                                                                   opened_at=now,
                                                                   cleared_at=None)
            if not opened:
                try:
                    await AlertState.create(account_id=account_id, dedup_key=dedup_key,
                                            opened_at=now, is_open=True)
                except IntegrityError:
                    return None  # already open
            return await Notification.create(
                account_id=account_id, kind=kind, severity=severity, title=title[:200],
                body=body, data=data or {}, dedup_key=dedup_key, created_at=now,
            )

    async def clear_alert(self, account_id: int, *, dedup_key: str, kind: str,
                          severity: Severity, title: str, body: str = "",
                          data: dict[str, Any] | None = None) -> Notification | None:
        """Close the condition; returns the 'cleared' notice, or None if it was not open."""
        now = self.clock.now()
        async with in_transaction():
            closed = await AlertState.filter(account_id=account_id, dedup_key=dedup_key,
                                             is_open=True).update(is_open=False,
                                                                  cleared_at=now)
            if not closed:
                return None
            return await Notification.create(
                account_id=account_id, kind=kind, severity=severity, title=title[:200],
                body=body, data=data or {}, dedup_key=dedup_key, is_resolution=True,
                created_at=now,
            )

    async def is_open(self, account_id: int, dedup_key: str) -> bool:
        return await AlertState.filter(account_id=account_id, dedup_key=dedup_key,
                                       is_open=True).exists()
