"""A journey scheduler process for the two-process test: its own interpreter, its own
database connection, the real JourneyService, a FakeClock held at the instant given.

    python -m tests.journeys.ticker <database url> <ISO instant>

Advances due enrollments until none is left and prints how many it advanced."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys

from core.clock import FakeClock
from core.db import database
from core.settings import Settings
from tests.conftest import TEST_SECRET
from trackly.bootstrap import build_services


async def main(url: str, instant: str) -> None:
    clock = FakeClock(dt.datetime.fromisoformat(instant))
    settings = Settings(database_url=url, secret_key=TEST_SECRET,
                        public_url="http://127.0.0.1:8080")
    async with database(url):
        services = build_services(settings, clock=clock, secret_key=TEST_SECRET)
        total = 0
        while (n := await services.journeys.tick(limit=200)) > 0:
            total += n
        print(total, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
