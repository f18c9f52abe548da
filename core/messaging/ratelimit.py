"""A token bucket per sending list: its messages-per-minute limit, with one second of
burst. Per process; several workers share a list's limit by each taking a share."""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    def __init__(self, per_minute: int, *, share: float = 1.0) -> None:
        self.rate = max(per_minute * share / 60.0, 0.01)  # tokens per second
        self.capacity = max(self.rate, 1.0)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
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
                await asyncio.sleep((1 - self.tokens) / self.rate)
