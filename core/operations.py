"""What an operator's dashboard reads (``GET /metrics``): the state of the send queue, the
components' heartbeats, running imports and open alerts. System-wide aggregates only:
nothing here names an account, a number or a message, because ``/metrics`` is public.

Every query is bounded by an index or by a small table (the queued rows, heartbeats,
running jobs, open alerts), so a scrape stays cheap however many messages were sent."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.campaigns.models import Schedule, ScheduleStatus
from core.clock import Clock
from core.contacts.models import ImportJob, ImportStatus
from core.messaging.models import MessageStatus
from core.notifications.models import AlertState
from core.sql import Params, conn, fetch, is_postgres, read_ts
from core.system.leader import SCHEDULER_LOCK
from core.system.models import Heartbeat

# The scheduler beats every 15 s; three missed beats and it no longer counts as leading.
SCHEDULER_SILENT_AFTER = dt.timedelta(seconds=45)


@dataclass(frozen=True)
class Snapshot:
    queued: int  # waiting in the outbox (including messages held for quiet hours)
    sending: int  # claimed by a worker, outcome not yet known
    oldest_queued_age: float | None  # seconds since the oldest queued message was queued
    heartbeat_ages: dict[str, float]  # component -> seconds since its last beat
    live_workers: int
    imports_running: int
    open_alerts: int
    scheduler_lag: float  # seconds the oldest due schedule has waited for its run (0: none)
    scheduler_leaders: int  # processes holding the scheduler lock (1 is right; 0: nobody)


async def snapshot(clock: Clock, *, worker_window: dt.timedelta = dt.timedelta(seconds=15)
                   ) -> Snapshot:
    now = clock.now()
    p = Params()
    [row] = await fetch(
        "SELECT "
        f"SUM(CASE WHEN status = {p(MessageStatus.QUEUED.value)} THEN 1 ELSE 0 END) AS queued, "
        f"SUM(CASE WHEN status = {p(MessageStatus.SENDING.value)} THEN 1 ELSE 0 END) "
        "AS sending, "
        f"MIN(CASE WHEN status = {p(MessageStatus.QUEUED.value)} THEN queued_at END) AS oldest "
        # OR, not IN: PostgreSQL reads the two partial indexes (queued, sending) of every
        # partition for an OR of equalities, and scans the whole table for an IN list.
        f"FROM message_sent WHERE status = {p(MessageStatus.QUEUED.value)} "
        f"OR status = {p(MessageStatus.SENDING.value)}", p)
    oldest = read_ts(row["oldest"])
    ages: dict[str, float] = {}
    live_workers = 0
    for beat in await Heartbeat.all():
        age = max(0.0, (now - beat.beat_at).total_seconds())
        if beat.component.startswith("worker:"):
            live_workers += now - beat.beat_at <= worker_window
        elif not beat.component.startswith("import:"):
            ages[beat.component] = age
    oldest_due = await Schedule.filter(status=ScheduleStatus.SCHEDULED, next_run_at__lte=now
                                       ).order_by("next_run_at").only("id", "next_run_at"
                                                                      ).first()
    due = None if oldest_due is None else oldest_due.next_run_at
    return Snapshot(
        queued=int(row["queued"] or 0), sending=int(row["sending"] or 0),
        oldest_queued_age=None if oldest is None else max(0.0, (now - oldest).total_seconds()),
        heartbeat_ages=ages, live_workers=live_workers,
        imports_running=await ImportJob.filter(status=ImportStatus.RUNNING).count(),
        open_alerts=await AlertState.filter(is_open=True).count(),
        scheduler_lag=0.0 if due is None else max(0.0, (now - due).total_seconds()),
        scheduler_leaders=await _leaders(now))


async def _leaders(now: dt.datetime) -> int:
    """On PostgreSQL, the sessions holding the scheduler's advisory lock (a bigint key is
    split into classid, the high half, and objid, the low half, with objsubid 1). The lock
    belongs to this database: pg_locks lists every database's, and another installation's
    scheduler on the same server (or a parallel test's) is not ours. On
    SQLite the one process is the scheduler: it leads while its heartbeat is fresh."""
    if is_postgres(conn()):
        p = Params()
        [row] = await fetch(
            "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            f"AND classid = {p(SCHEDULER_LOCK >> 32)} "
            f"AND objid = {p(SCHEDULER_LOCK & 0xFFFF_FFFF)} AND objsubid = 1", p)
        return int(row["n"])
    beat = await Heartbeat.filter(component="scheduler").first()
    return int(beat is not None and now - beat.beat_at <= SCHEDULER_SILENT_AFTER)
