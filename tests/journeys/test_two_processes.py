"""Must-show 2, last part: two scheduler processes on PostgreSQL advance 10,000
enrollments through a send, a wait, a send and an exit, at once; no step runs twice and
no message is queued twice. Each process has its own connection and claims its batches
with FOR UPDATE SKIP LOCKED."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys

import pytest

from core.clock import FakeClock
from core.journeys.models import EnrollmentStatus, JourneyEnrollment
from core.messaging.models import MessageSent
from core.services import Services
from core.sql import Params, fetch
from tests.conftest import IS_POSTGRES
from tests.contacts.helpers import make_list
from tests.factories import make_tenant
from tests.journeys.helpers import make_journey
from tests.messaging.helpers import make_subscribers

TOTAL = 10_000
pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="two scheduler processes need "
                                "PostgreSQL (SQLite is single-process)")

STEPS = [
    {"position": 0, "type": "send", "config": {"body": "Welcome aboard!"}},
    {"position": 1, "type": "wait", "config": {"hours": 1}},
    {"position": 2, "type": "send", "config": {"body": "Still there?"}},
    {"position": 3, "type": "exit"},
]


async def two_tickers(db: str, at: dt.datetime) -> list[int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKLY_")}
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.journeys.ticker", db, at.isoformat(), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE) for _ in range(2)]
    counts = []
    for proc in procs:
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()[-3000:]
        counts.append(int(out.decode().split()[-1]))
    return counts


async def test_two_processes_never_run_a_step_twice(db: str, services: Services,
                                                    clock: FakeClock) -> None:
    tenant = await make_tenant(services)
    sending_list = await make_list(services, tenant)
    journey_id = await make_journey(services, tenant, STEPS)
    subs = await make_subscribers(sending_list, TOTAL, when=clock.now())
    assert await services.journeys.enroll(tenant.account.id, [s.id for s in subs]) == TOTAL

    first = await two_tickers(db, clock.now())
    assert sum(first) == TOTAL and min(first) > 0, first  # both took a share
    second = await two_tickers(db, clock.now() + dt.timedelta(hours=1))
    assert sum(second) == TOTAL and min(second) > 0, second

    p = Params()
    twice = await fetch(
        "SELECT enrollment_id, position, count(*) AS n FROM journey_step_run "
        f"WHERE journey_id = {p(journey_id)} GROUP BY enrollment_id, position "
        "HAVING count(*) > 1 LIMIT 5", p)
    assert twice == []
    p = Params()
    runs = await fetch("SELECT count(*) AS n FROM journey_step_run WHERE "
                       f"journey_id = {p(journey_id)}", p)
    assert runs[0]["n"] == 4 * TOTAL
    assert await MessageSent.filter(journey_id=journey_id).count() == 2 * TOTAL
    p = Params()
    per_contact = await fetch(
        "SELECT count(*) AS n FROM message_sent WHERE "
        f"journey_id = {p(journey_id)} GROUP BY contact_id HAVING count(*) <> 2", p)
    assert per_contact == []
    assert await JourneyEnrollment.filter(
        journey_id=journey_id, status=EnrollmentStatus.COMPLETED).count() == TOTAL
