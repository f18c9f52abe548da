"""A token bucket per sending list: its messages-per-minute limit, with one second of
burst. Per process; the live workers share a list's limit, each taking an equal share
(the executor re-counts them every few seconds and calls :meth:`TokenBucket.set_share`).

Time comes from the injected Clock (its ``now`` and ``sleep``), so a test drives the
bucket with a FakeClock and never waits for real."""

from __future__ import annotations

import asyncio
import datetime as dt

from core.clock import Clock


class TokenBucket:
    def __init__(self, per_minute: int, *, clock: Clock, share: float = 1.0) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.rate, self.capacity = _shape(per_minute, share)  # tokens per second, burst
        self.tokens = self.capacity
        self.updated = clock.now()
        self._lock = asyncio.Lock()

    def set_share(self, share: float) -> None:
        """From now on take ``share`` of the limit (the other live workers take the rest)."""
        self._refill()
        self.rate, self.capacity = _shape(self.per_minute, share)
        self.tokens = min(self.tokens, self.capacity)

    def _refill(self) -> None:
        now = self.clock.now()
        # A wall clock stepped back (NTP) must not drain the bucket: no time passed.
        elapsed = max((now - self.updated) / dt.timedelta(seconds=1), 0.0)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now

    async def take(self, wanted: int) -> int:
        """Wait for at least one token; take up to ``wanted``. Returns how many."""
        async with self._lock:
            while True:
                self._refill()
                if self.tokens >= 1:
                    got = min(wanted, int(self.tokens))
                    self.tokens -= got
                    return got
                await self.clock.sleep((1 - self.tokens) / self.rate)

    def give_back(self, tokens: int) -> None:
        """Return tokens taken but not used (the messages went back to the queue)."""
        self._refill()
        self.tokens = min(self.capacity, self.tokens + tokens)


def _shape(per_minute: int, share: float) -> tuple[float, float]:
    rate = max(per_minute * share / 60.0, 0.01)
    return rate, max(rate, 1.0)
