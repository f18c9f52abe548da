"""The token bucket on the injected clock: a FakeClock drives it, nothing waits for real."""

from __future__ import annotations

import datetime as dt

import pytest

from core.clock import FakeClock
from core.messaging.ratelimit import TokenBucket


async def test_one_second_of_burst_then_the_rate(clock: FakeClock) -> None:
    bucket = TokenBucket(600, clock=clock)  # 10 a second
    start = clock.now()
    assert await bucket.take(25) == 10
    assert clock.now() == start  # the burst did not wait
    assert await bucket.take(25) == 1
    assert (clock.now() - start).total_seconds() == pytest.approx(0.1)
    clock.advance(60)
    assert await bucket.take(25) == 10  # refilled, never past one second's worth


async def test_a_share_slows_it_and_tokens_given_back_are_kept(clock: FakeClock) -> None:
    bucket = TokenBucket(600, clock=clock, share=0.5)  # 5 a second
    assert await bucket.take(25) == 5
    bucket.give_back(3)
    assert await bucket.take(25) == 3
    start = clock.now()
    assert await bucket.take(25) == 1
    assert (clock.now() - start).total_seconds() == pytest.approx(0.2)


async def test_a_clock_stepped_back_neither_drains_nor_fills_it(clock: FakeClock) -> None:
    bucket = TokenBucket(60, clock=clock)  # 1 a second
    assert await bucket.take(5) == 1
    clock.set(clock.now() - dt.timedelta(hours=1))  # NTP stepped the wall clock back
    start = clock.now()
    assert await bucket.take(5) == 1
    assert (clock.now() - start).total_seconds() == pytest.approx(1.0)
