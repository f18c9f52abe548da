"""Failure-rate alerts per sending list over a sliding window: raised once when the rate
crosses the threshold, cleared once when it falls back (with hysteresis, so a rate that
hovers at the line does not flap).

Failure spikes by provider error code: the failures of an account in the window grouped by
provider and error code, so a carrier filtering a creative (30007) or a dead sender
(21610) is one alert naming the code, never one per failed message, and one recovery
message when that code's failures fall away."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from core.clock import Clock
from core.notifications.models import AlertState, Severity
from core.notifications.service import NotificationService
from core.sql import Params, fetch, ts

log = logging.getLogger(__name__)
KEY = "failure_rate:list:{}"
SPIKE_KEY = "failure_spike:{}:{}"  # provider, error code


@dataclass(frozen=True)
class CodeFailures:
    account_id: int
    provider: str
    error_code: str
    error_message: str
    failed: int
    total: int  # the account's messages in the window, all providers

    @property
    def share(self) -> float:
        return self.failed / self.total if self.total else 0.0


@dataclass(frozen=True)
class ListRate:
    sending_list_id: int
    account_id: int
    phone_number: str
    total: int
    failed: int

    @property
    def rate(self) -> float:
        return self.failed / self.total if self.total else 0.0


class FailureRateMonitor:
    def __init__(self, *, clock: Clock, notifications: NotificationService,
                 window: dt.timedelta = dt.timedelta(minutes=15), threshold: float = 0.25,
                 clear_below: float = 0.10, min_messages: int = 20,
                 spike_min_failures: int = 10, spike_share: float = 0.10,
                 spike_clear_below: int = 3) -> None:
        self.clock = clock
        self.notifications = notifications
        self.window = window
        self.threshold = threshold
        self.clear_below = clear_below
        self.min_messages = min_messages
        self.spike_min_failures = spike_min_failures
        self.spike_share = spike_share
        self.spike_clear_below = spike_clear_below

    async def rates(self) -> list[ListRate]:
        since = self.clock.now() - self.window
        p = Params()
        rows = await fetch(
            "SELECT m.sending_list_id, m.account_id, l.phone_number, COUNT(*) AS total, "
            "SUM(CASE WHEN m.status IN ('failed', 'undelivered') THEN 1 ELSE 0 END) AS failed "
            "FROM message_sent m JOIN sending_list l ON l.id = m.sending_list_id "
            f"WHERE m.sent_at >= {p(ts(since))} OR m.failed_at >= {p(ts(since))} "
            "GROUP BY m.sending_list_id, m.account_id, l.phone_number", p)
        return [ListRate(r["sending_list_id"], r["account_id"], r["phone_number"],
                         int(r["total"]), int(r["failed"] or 0)) for r in rows]

    async def code_failures(self) -> list[CodeFailures]:
        """Failures in the window by account, provider and error code (one statement)."""
        since = self.clock.now() - self.window
        p = Params()
        def window() -> str:  # placeholders are numbered (PostgreSQL): one set per use
            return f"(m.sent_at >= {p(ts(since))} OR m.failed_at >= {p(ts(since))})"

        rows = await fetch(
            "SELECT f.account_id, f.provider, f.error_code, f.failed, f.error_message, "
            "t.total FROM (SELECT m.account_id, m.provider, m.error_code, COUNT(*) AS failed, "
            "MAX(m.error_message) AS error_message FROM message_sent m "
            f"WHERE {window()} AND m.status IN ('failed', 'undelivered') "
            "AND m.error_code IS NOT NULL GROUP BY m.account_id, m.provider, m.error_code) f "
            "JOIN (SELECT m.account_id, COUNT(*) AS total FROM message_sent m "
            f"WHERE {window()} GROUP BY m.account_id) t ON t.account_id = f.account_id", p)
        return [CodeFailures(r["account_id"], r["provider"], r["error_code"],
                             r["error_message"] or "", int(r["failed"]), int(r["total"]))
                for r in rows]

    async def check(self) -> list[str]:
        """Raise or clear alerts; returns what changed (for logs and tests)."""
        return await self._check_lists() + await self._check_codes()

    async def _check_codes(self) -> list[str]:
        changed: list[str] = []
        seen: set[tuple[int, str]] = set()
        minutes = int(self.window.total_seconds() // 60)
        for c in await self.code_failures():
            key = SPIKE_KEY.format(c.provider, c.error_code)
            seen.add((c.account_id, key))
            data = {"provider": c.provider, "error_code": c.error_code, "failed": c.failed,
                    "total": c.total, "window_minutes": minutes}
            if c.failed >= self.spike_min_failures and c.share >= self.spike_share:
                reason = f" ({c.error_message})" if c.error_message else ""
                note = await self.notifications.raise_alert(
                    c.account_id, dedup_key=key, kind="failure_spike",
                    severity=Severity.MEDIUM,
                    title=f"Failure spike: {c.provider} error {c.error_code}",
                    body=f"{c.failed} of {c.total} messages failed with {c.provider} error "
                         f"{c.error_code}{reason} in the last {minutes} minutes.", data=data)
                if note:
                    changed.append(f"raised {key}")
            elif c.failed < self.spike_clear_below and await self._clear_code(
                    c.account_id, key, c.provider, c.error_code, data):
                changed.append(f"cleared {key}")
        for state in await AlertState.filter(is_open=True,
                                             dedup_key__startswith="failure_spike:"):
            if (state.account_id, state.dedup_key) in seen:
                continue
            _, provider, code = state.dedup_key.split(":", 2)
            if await self._clear_code(state.account_id, state.dedup_key, provider, code,
                                      {"provider": provider, "error_code": code, "failed": 0,
                                       "total": 0, "window_minutes": minutes}):
                changed.append(f"cleared {state.dedup_key}")
        return changed

    async def _clear_code(self, account_id: int, key: str, provider: str, code: str,
                          data: dict) -> bool:
        note = await self.notifications.clear_alert(
            account_id, dedup_key=key, kind="failure_spike", severity=Severity.MEDIUM,
            title=f"Cleared: {provider} error {code} back to normal",
            body=f"{data['failed']} message(s) failed with it in the last "
                 f"{data['window_minutes']} minutes.", data=data)
        return note is not None

    async def _check_lists(self) -> list[str]:
        changed: list[str] = []
        seen: set[int] = set()
        minutes = int(self.window.total_seconds() // 60)
        for r in await self.rates():
            seen.add(r.sending_list_id)
            key = KEY.format(r.sending_list_id)
            data = {"sending_list_id": r.sending_list_id, "failed": r.failed,
                    "total": r.total, "rate": round(r.rate, 4), "window_minutes": minutes}
            if r.total >= self.min_messages and r.rate >= self.threshold:
                note = await self.notifications.raise_alert(
                    r.account_id, dedup_key=key, kind="failure_rate", severity=Severity.HIGH,
                    title=f"Failure rate {r.rate:.0%} on {r.phone_number}",
                    body=f"{r.failed} of {r.total} messages failed in the last {minutes} "
                         "minutes.", data=data)
                if note:
                    changed.append(f"raised {key}")
            elif r.rate < self.clear_below:
                if await self._clear(r.account_id, key, r.phone_number, data):
                    changed.append(f"cleared {key}")
        # Lists with an open alert and no traffic at all in the window have cleared too.
        for state in await AlertState.filter(is_open=True, dedup_key__startswith="failure_rate:"):
            list_id = int(state.dedup_key.rsplit(":", 1)[1])
            if list_id not in seen and await self._clear(
                    state.account_id, state.dedup_key, f"list {list_id}",
                    {"sending_list_id": list_id, "failed": 0, "total": 0, "rate": 0.0,
                     "window_minutes": minutes}):
                changed.append(f"cleared {state.dedup_key}")
        return changed

    async def _clear(self, account_id: int, key: str, label: str, data: dict) -> bool:
        note = await self.notifications.clear_alert(
            account_id, dedup_key=key, kind="failure_rate", severity=Severity.HIGH,
            title=f"Failure rate back to normal on {label}",
            body=f"{data['failed']} of {data['total']} failed in the last "
                 f"{data['window_minutes']} minutes.", data=data)
        return note is not None
