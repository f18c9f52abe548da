"""Schedules (campaigns): create, edit, read; launch (and its dry run), pause, resume,
cancel, each permission-checked and recorded with who did it; the scheduler's ticks that
start due runs, resume interrupted ones and decide tests.

Every transition is a conditional UPDATE on the status it starts from: two callers
racing move a schedule once."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.audiences.models import Audience
from core.audiences.service import AudienceService
from core.audit.service import AuditLog
from core.billing.service import BillingService
from core.campaigns import queries
from core.campaigns.launch import Estimate, Launcher
from core.campaigns.models import (
    Recurrence,
    RunStatus,
    Schedule,
    ScheduleBlast,
    ScheduleEvent,
    ScheduleRecipient,
    ScheduleRun,
    ScheduleStatus,
    WinnerMetric,
)
from core.campaigns.recurrence import OneTime, Rule, Weekly, local_instant, next_occurrence
from core.campaigns.validate import check_whole, clean_schedule
from core.clock import Clock
from core.contacts.models import SendingList
from core.creatives.models import MessageCreative
from core.errors import Conflict, NotFound, TracklyError, ValidationError
from core.offers.service import bound_offers
from core.pagination import Page
from core.permissions import Action, Actor
from core.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_GRACE = dt.timedelta(hours=1)
# With use_local_time a run starts when the first zone on Earth reaches the send time.
EARLIEST_ZONE = ZoneInfo("Etc/GMT-14")
FINISHED = (ScheduleStatus.COMPLETED, ScheduleStatus.CANCELLED, ScheduleStatus.ARCHIVED)
ACTIVE_RUNS = (RunStatus.RESOLVING, RunStatus.QUEUED, RunStatus.SENDING, RunStatus.TESTING,
               RunStatus.PAUSED, RunStatus.FAILED)


@dataclass
class ScheduleView:
    schedule: Schedule
    audience_ids: list[int]
    blasts: list[ScheduleBlast]
    runs: list[ScheduleRun] = field(default_factory=list)
    run_counts: dict[int, dict[str, int]] = field(default_factory=dict)


@dataclass
class CampaignLine:
    """One line of a campaign list: the schedule, its latest run and that run's messages
    per status (empty without a run)."""
    schedule: Schedule
    run: ScheduleRun | None
    counts: dict[str, int]


@dataclass
class CampaignPreview:
    """What a campaign is and what launching it now would do: its audiences' names, its
    variants, the dry run's numbers and the account's spend cap (None: no cap)."""
    view: ScheduleView
    audiences: list[str]
    estimate: Estimate
    spend_cap: Decimal | None


@dataclass
class LaunchResult:
    status: str
    recipients: int
    skipped: dict[str, int]
    segments: int
    estimated_cost: Decimal
    run_id: int | None = None
    next_run_at: dt.datetime | None = None


@dataclass(frozen=True)
class RunProgress:
    """Where a run stands: what the Discord progress message shows."""

    schedule_name: str
    run_id: int
    status: str
    recipients: int
    counts: dict[str, int]  # messages by status
    clicks: int  # counted (first human) clicks
    revenue: Decimal  # attributed
    finished: bool  # the run is over and none of its messages waits to go out

    def count(self, *statuses: str) -> int:
        return sum(self.counts.get(s, 0) for s in statuses)


def rule_of(schedule: Schedule) -> Rule | None:
    if schedule.send_time is None:
        return None
    if schedule.recurrence == Recurrence.ONE_TIME:
        if schedule.send_date is None:
            return None
        return OneTime(schedule.send_date, schedule.send_time, schedule.timezone)
    return Weekly(schedule.send_time, frozenset(schedule.days_of_week or []),
                  schedule.timezone, schedule.start_date, schedule.end_date)


def start_of(schedule: Schedule, day: dt.date, at: dt.datetime) -> dt.datetime:
    """When the run of ``day`` starts: its send time, or with local time the first
    wave anywhere (each message then waits for its own zone's send time)."""
    if schedule.use_local_time and schedule.send_time is not None:
        return min(at, local_instant(day, schedule.send_time, EARLIEST_ZONE))
    return at


def next_start(schedule: Schedule, after: dt.datetime) -> tuple[dt.date, dt.datetime] | None:
    """The next run's local day and start instant strictly after ``after``."""
    rule = rule_of(schedule)
    if rule is None:
        return None
    # With local time a run starts up to a day before its send time in the schedule's
    # zone: look from a day and a half back, and keep the first start after ``after``.
    probe = after - dt.timedelta(hours=36) if schedule.use_local_time else after
    while True:
        found = next_occurrence(rule, probe)
        if found is None:
            return None
        start = start_of(schedule, found.day, found.at)
        if start > after:
            return found.day, start
        probe = found.at


class ScheduleService:
    def __init__(self, *, clock: Clock, settings: Settings, audiences: AudienceService,
                 billing: BillingService | None = None, audit: AuditLog | None = None,
                 grace: dt.timedelta = DEFAULT_GRACE) -> None:
        self.clock = clock
        self.grace = grace
        self.billing = billing
        self.audit = audit
        self.launcher = Launcher(clock=clock, settings=settings, audiences=audiences,
                                 billing=billing)

    # -- writes ---------------------------------------------------------------------------

    async def create(self, actor: Actor, data: dict[str, Any]) -> ScheduleView:
        actor.require(Action.BUILD)
        spec = clean_schedule(data)
        values = {"recurrence": Recurrence.ONE_TIME, "timezone": "America/New_York",
                  **spec.fields}
        if "sending_list_id" not in values:
            raise ValidationError("list_id is required.", code="source_list_not_found",
                                  field="list_id")
        await self._check_refs(actor, values, spec.audience_ids, spec.blasts)
        check_whole(values, len(spec.audience_ids or []), len(spec.blasts or []))
        async with in_transaction():
            schedule = await Schedule.create(account_id=actor.account_id,
                                             created_by=actor.label, **values)
            await self._save_parts(schedule, spec.audience_ids, spec.blasts)
            await self._record(schedule, actor, "create", "", schedule.status)
        return await self._view(schedule)

    async def update(self, actor: Actor, schedule_id: int, data: dict[str, Any]
                     ) -> ScheduleView:
        actor.require(Action.BUILD)
        schedule = await self._get(actor, schedule_id)
        if schedule.status in FINISHED:
            raise Conflict(f"Schedule {schedule_id} is {schedule.status}: it can no longer "
                           "be edited.", code="schedule_complete")
        if schedule.status == ScheduleStatus.SENDING:
            raise Conflict(f"Schedule {schedule_id} is sending; pause it to edit.",
                           code="schedule_sending")
        spec = clean_schedule(data)
        await self._check_refs(actor, spec.fields, spec.audience_ids, spec.blasts)
        view = await self._view(schedule)
        merged = {name: getattr(schedule, name) for name in (
            "name", "recurrence", "send_date", "send_time", "days_of_week", "start_date",
            "end_date", "test_percent")} | spec.fields
        audiences = spec.audience_ids if spec.audience_ids is not None else view.audience_ids
        blasts = spec.blasts if spec.blasts is not None else view.blasts
        check_whole(merged, len(audiences), len(blasts))
        async with in_transaction():
            for name, value in spec.fields.items():
                setattr(schedule, name, value)
            if schedule.status == ScheduleStatus.SCHEDULED:
                found = next_start(schedule, self.clock.now())
                schedule.next_run_at = found[1] if found else None
            await schedule.save(update_fields=[*spec.fields, "next_run_at", "updated_at"])
            await self._save_parts(schedule, spec.audience_ids, spec.blasts, replace=True)
            await self._record(schedule, actor, "update", schedule.status, schedule.status)
        return await self._view(schedule)

    # -- reads ----------------------------------------------------------------------------

    async def get(self, actor: Actor, schedule_id: int) -> ScheduleView:
        return await self._view(await self._get(actor, schedule_id), runs=True)

    async def page(self, actor: Actor, *, page: int, per_page: int) -> Page[ScheduleView]:
        actor.require(Action.READ)
        query = Schedule.filter(account_id=actor.account_id)
        total = await query.count()
        items = await query.order_by("-id").offset((page - 1) * per_page).limit(per_page)
        return Page([await self._view(s) for s in items], total)

    async def lines(self, actor: Actor, *, limit: int = 25) -> list[CampaignLine]:
        """The newest campaigns with their latest run's progress, in three statements
        whatever the number of campaigns."""
        actor.require(Action.READ)
        schedules = await Schedule.filter(account_id=actor.account_id).order_by(
            "-id").limit(limit)
        runs = await ScheduleRun.filter(schedule_id__in=[s.id for s in schedules]
                                        ).order_by("id") if schedules else []
        latest = {r.schedule_id: r for r in runs}
        counts = await queries.run_message_counts([r.id for r in latest.values()])
        return [CampaignLine(s, latest.get(s.id),
                             counts.get(latest[s.id].id, {}) if s.id in latest else {})
                for s in schedules]

    async def progress(self, actor: Actor, run_id: int) -> RunProgress:
        """One run's progress: messages by status, counted clicks and revenue, and
        whether it is over (finished, cancelled or skipped, nothing queued or sending)."""
        actor.require(Action.READ)
        run = await ScheduleRun.get_or_none(id=run_id, account_id=actor.account_id
                                            ).select_related("schedule")
        if run is None:
            raise NotFound(f"No run {run_id}.", code="run_not_found")
        counts = (await queries.run_message_counts([run.id])).get(run.id, {})
        numbers = await queries.variant_numbers(run.id, run.started_at)
        over = run.status in (RunStatus.COMPLETED, RunStatus.CANCELLED, RunStatus.SKIPPED)
        waiting = counts.get("queued", 0) + counts.get("sending", 0)
        return RunProgress(run.schedule.name, run.id, str(run.status), run.recipients_total,
                           counts, sum(n.clicks for n in numbers),
                           sum((n.revenue for n in numbers), Decimal(0)),
                           over and not waiting)

    async def named(self, actor: Actor, typed: str, *, limit: int = 25
                    ) -> list[tuple[int, str]]:
        """Campaigns whose name contains ``typed`` (any case), newest first: (id, name)."""
        actor.require(Action.READ)
        rows = await Schedule.filter(account_id=actor.account_id,
                                     name__icontains=typed).order_by("-id").limit(
            limit).values_list("id", "name")
        return [(int(i), str(n)) for i, n in rows]

    async def find(self, actor: Actor, ref: str) -> Schedule:
        """A campaign by its id (what name autocompletion sends) or its exact name (any
        case; the newest of that name)."""
        actor.require(Action.READ)
        ref = ref.strip()
        query = Schedule.filter(account_id=actor.account_id)
        found = None
        if ref.isdigit() and len(ref) < 10:
            found = await query.filter(id=int(ref)).first()
        if found is None:
            found = await query.filter(name__iexact=ref).order_by("-id").first()
        if found is None:
            raise NotFound(f"No campaign named {ref!r}.", code="schedule_not_found")
        return found

    async def preview(self, actor: Actor, ref: str) -> CampaignPreview:
        """The campaign and its dry run now: reading it needs no right to send it."""
        schedule = await self.find(actor, ref)
        view = await self._view(schedule, runs=True)
        names = [a.name for a in await Audience.filter(id__in=view.audience_ids
                                                       ).order_by("id")]
        estimate = await self.launcher.dry_run(schedule)
        cap = (await self.billing.spend_cap(schedule.account_id)
               if self.billing is not None else None)
        return CampaignPreview(view, names, estimate, cap)

    async def events(self, actor: Actor, schedule_id: int) -> list[ScheduleEvent]:
        schedule = await self._get(actor, schedule_id)
        return await ScheduleEvent.filter(schedule_id=schedule.id).order_by("id")

    # -- lifecycle ------------------------------------------------------------------------

    async def launch(self, actor: Actor, schedule_id: int, *, dry_run: bool = False,
                     now: bool = False, wait: bool = True,
                     progress: Callable[[int, int], None] | None = None) -> LaunchResult:
        """Launch: a schedule whose next run is ahead becomes ``scheduled``; one whose
        time has come (or with ``now``) runs at once. Answers recipients, skips by
        reason, segments and estimated cost; ``dry_run`` answers them and changes
        nothing. Without ``wait`` the run is resolved (the numbers are final) and its
        queueing is left to the scheduler's next tick: an HTTP request does not hold
        a 100,000-message launch."""
        actor.require(Action.SEND)
        schedule = await self._get(actor, schedule_id)
        if schedule.status not in (ScheduleStatus.DRAFT, ScheduleStatus.SCHEDULED):
            raise Conflict(f"Schedule {schedule_id} is {schedule.status}; only a draft or "
                           "scheduled one can be launched.", code="schedule_not_launchable")
        clock_now = self.clock.now()
        upcoming = next_start(schedule, clock_now)
        runs_now = now or (upcoming is None and schedule.recurrence == Recurrence.ONE_TIME)
        if upcoming is None and not runs_now:
            raise ValidationError("The schedule has no run ahead (its end date is past).",
                                  code="missing_end_date", field="end_date")
        if not dry_run:
            await self._within_spend_cap(actor, schedule)
        if dry_run or not runs_now:
            estimate = await self.launcher.dry_run(schedule)
            status = schedule.status
            if not dry_run:
                assert upcoming is not None
                status = ScheduleStatus.SCHEDULED
                await self._move(schedule, actor, "launch", (schedule.status,), status,
                                 next_run_at=upcoming[1])
            return _result(status, estimate, None, upcoming[1] if upcoming else None)
        # What would stop the launch half-way (a creative or offer gone, blocked content,
        # no variant) answers before anything moves.
        await self.launcher.check(schedule)
        day = clock_now.astimezone(ZoneInfo(schedule.timezone)).date()
        await self._move(schedule, actor, "launch", (schedule.status,),
                         ScheduleStatus.SENDING, next_run_at=None)
        run, estimate = await self._start_run(schedule, actor.label, day, clock_now)
        if self.audit is not None:
            await self.audit.record(actor, "campaign.launch", target=f"schedule {schedule.id}",
                                    changes={"run": run.id, "recipients": estimate.recipients,
                                             "segments": estimate.segments,
                                             "estimated_cost": str(estimate.cost)})
        if wait:
            await self.drive(run.id, progress=progress)
        else:
            await ScheduleRun.filter(id=run.id).update(lease_until=None)  # free to take
        return _result(ScheduleStatus.SENDING, estimate, run.id, None)

    async def _within_spend_cap(self, actor: Actor, schedule: Schedule) -> None:
        """Refuse a launch whose estimate would take the month past the account's spend
        cap (SpendCapExceeded carries the estimate, the month so far and the cap); the
        refusal is in the audit trail. Accounts without a cap pay for nothing here."""
        if self.billing is None or await self.billing.spend_cap(schedule.account_id) is None:
            return
        preview = await self.launcher.dry_run(schedule)
        cost = await self.billing.estimate(schedule.account_id, preview.segments)
        try:
            await self.billing.check_spend_cap(schedule.account_id, cost)
        except TracklyError as exc:
            if self.audit is not None:
                await self.audit.record(actor, "campaign.launch",
                                        target=f"schedule {schedule.id}", outcome="refused",
                                        changes={"code": exc.code,
                                                 "segments": preview.segments,
                                                 "estimated_cost": str(cost.cost_cents)})
            raise

    async def pause(self, actor: Actor, schedule_id: int) -> Schedule:
        """No more batches are queued, no run starts, no test winner is decided and
        none of the run's queued messages is sent until resumed: they are held."""
        actor.require(Action.SEND)
        schedule = await self._get(actor, schedule_id)
        # A run is completed once everything is queued, and so is a one-time schedule;
        # while its messages wait in the queue (local-time waves wait for hours) the
        # campaign can still be paused.
        waiting = await queries.runs_with_queued(schedule.id)
        sources: tuple[ScheduleStatus, ...] = (ScheduleStatus.SCHEDULED,
                                               ScheduleStatus.SENDING)
        if waiting:
            sources += (ScheduleStatus.COMPLETED,)
        await self._move(schedule, actor, "pause", sources, ScheduleStatus.PAUSED)
        # The runs' status first: a batch being written either committed before (and its
        # messages are held below) or finds the run paused and writes nothing.
        await ScheduleRun.filter(
            Q(status__in=[RunStatus.RESOLVING, RunStatus.QUEUED, RunStatus.SENDING,
                          RunStatus.TESTING]) | Q(id__in=waiting, status=RunStatus.COMPLETED),
            schedule_id=schedule.id).update(status=RunStatus.PAUSED, lease_until=None)
        await queries.hold_queued(await self._run_ids(schedule.id, RunStatus.PAUSED),
                                  self.clock.now())
        return schedule

    async def resume(self, actor: Actor, schedule_id: int) -> Schedule:
        actor.require(Action.SEND)
        schedule = await self._get(actor, schedule_id)
        paused_run = await ScheduleRun.filter(
            schedule_id=schedule.id, status__in=[RunStatus.PAUSED, RunStatus.FAILED]
        ).order_by("-id").first()
        if paused_run is not None:
            await self._move(schedule, actor, "resume", (ScheduleStatus.PAUSED,),
                             ScheduleStatus.SENDING)
            if paused_run.status == RunStatus.FAILED and paused_run.cursor == 0:
                # Nothing queued yet: resolve again (drive starts a resolving run over).
                back = RunStatus.RESOLVING
            elif paused_run.winner_due_at is not None and paused_run.winner_blast_id is None:
                back = RunStatus.TESTING  # a test whose winner is not picked waits for it
            else:
                back = RunStatus.SENDING
            await ScheduleRun.filter(id=paused_run.id, status=paused_run.status).update(
                status=back, skip_reason=None)
            await queries.release_held([paused_run.id], self.clock.now())
            if back != RunStatus.TESTING:
                await self.drive(paused_run.id)
        else:
            upcoming = next_start(schedule, self.clock.now())
            await self._move(schedule, actor, "resume", (ScheduleStatus.PAUSED,),
                             ScheduleStatus.SCHEDULED if upcoming else
                             ScheduleStatus.COMPLETED,
                             next_run_at=upcoming[1] if upcoming else None)
            # A run that finished while the pause was being made leaves nothing held.
            await queries.release_held(await self._run_ids(schedule.id), self.clock.now())
        return await Schedule.get(id=schedule.id)

    async def cancel(self, actor: Actor, schedule_id: int) -> Schedule:
        """Stops the schedule for good; its queued messages that no executor took yet
        are dropped."""
        actor.require(Action.SEND)
        schedule = await self._get(actor, schedule_id)
        await self._move(schedule, actor, "cancel",
                         (ScheduleStatus.DRAFT, ScheduleStatus.SCHEDULED,
                          ScheduleStatus.SENDING, ScheduleStatus.PAUSED),
                         ScheduleStatus.CANCELLED, next_run_at=None)
        runs = [r.id for r in await ScheduleRun.filter(schedule_id=schedule.id,
                                                       status__in=list(ACTIVE_RUNS))]
        now = self.clock.now()
        await ScheduleRun.filter(id__in=runs).update(status=RunStatus.CANCELLED,
                                                           finished_at=now, lease_until=None)
        await queries.drop_queued(runs, "campaign_cancelled", now)
        return schedule

    async def choose_winner(self, actor: Actor, schedule_id: int, blast_id: int
                            ) -> ScheduleRun:
        """A manual winner: overrides the computed one and sends it to the rest now."""
        actor.require(Action.SEND)
        schedule = await self._get(actor, schedule_id)
        run = await ScheduleRun.filter(schedule_id=schedule.id,
                                       status=RunStatus.TESTING).order_by("-id").first()
        if run is None:
            raise Conflict("No test is waiting for a winner.", code="no_test_running")
        if not await ScheduleBlast.exists(id=blast_id, schedule_id=schedule.id):
            raise NotFound(f"No variant {blast_id} in this schedule.",
                           code="blast_not_found")
        numbers = await self._numbers(run, schedule)
        await self._finish_test(run, schedule, blast_id, {
            "decided_by": actor.label, "manual": True, **numbers})
        return await ScheduleRun.get(id=run.id)

    # -- ticks ----------------------------------------------------------------------------

    async def dispatch_due(self) -> int:
        """Start the runs whose time has come. A run missed while the platform was down
        runs once when within the grace window, else is recorded as skipped; older
        missed ones are recorded as skipped too. Answers how many runs started."""
        now = self.clock.now()
        started = 0
        for schedule in await Schedule.filter(status=ScheduleStatus.SCHEDULED,
                                              next_run_at__lte=now).order_by("next_run_at"):
            try:
                started += await self._dispatch(schedule, now)
            except Exception:  # the run is marked failed; the other schedules go on
                log.exception("schedule %s: its run failed", schedule.id)
        return started

    async def _dispatch(self, schedule: Schedule, now: dt.datetime) -> int:
        due_at = schedule.next_run_at
        assert due_at is not None
        # Every start due by now, oldest first; the last is the one that may still run.
        starts: list[tuple[dt.date, dt.datetime]] = []
        found = next_start(schedule, due_at - dt.timedelta(microseconds=1))
        while found is not None and found[1] <= now and len(starts) < 1000:
            starts.append(found)
            found = next_start(schedule, found[1])
        following = found
        claimed = await Schedule.filter(
            id=schedule.id, status=ScheduleStatus.SCHEDULED, next_run_at=due_at).update(
            status=ScheduleStatus.SENDING, next_run_at=following[1] if following else None)
        if not claimed:
            return 0  # another tick took it
        for day, at in starts[:-1]:
            await self._skipped_run(schedule, day, at, "missed while the platform was down")
        if starts and now - starts[-1][1] <= self.grace:
            day, at = starts[-1]
            run, _ = await self._start_run(schedule, "scheduler", day, at)
            await self.drive(run.id)
            return 1
        if starts:
            day, at = starts[-1]
            await self._skipped_run(schedule, day, at, "missed by more than the grace "
                                    f"window ({int(self.grace.total_seconds() // 60)} min)")
        await self._after_run(schedule.id)
        return 0

    async def resume_runs(self) -> int:
        """Runs left mid-launch (a crash, a restart) whose lease ran out: queue the rest.
        Answers how many were taken up."""
        now = self.clock.now()
        taken = 0
        for run in await ScheduleRun.filter(
                Q(lease_until__isnull=True) | Q(lease_until__lt=now),
                status__in=[RunStatus.RESOLVING, RunStatus.SENDING]):
            try:
                await self.drive(run.id)
            except Exception:  # marked failed by drive; the other runs go on
                log.exception("run %s failed", run.id)
            taken += 1
        return taken

    async def decide_winners(self) -> int:
        """Tests whose wait is over: pick each winner by its metric and send it to the
        rest."""
        now = self.clock.now()
        decided = 0
        for run in await ScheduleRun.filter(status=RunStatus.TESTING, winner_due_at__lte=now):
            schedule = await Schedule.get(id=run.schedule_id)
            numbers = await self._numbers(run, schedule)
            winner = numbers.pop("winner")
            try:
                await self._finish_test(run, schedule, winner, {"decided_by": "scheduler",
                                                                "manual": False, **numbers})
            except Exception:  # marked failed by drive; the other tests go on
                log.exception("run %s failed after its test", run.id)
            decided += 1
        return decided

    # -- runs -----------------------------------------------------------------------------

    async def _start_run(self, schedule: Schedule, who: str, day: dt.date,
                         scheduled_for: dt.datetime) -> tuple[ScheduleRun, Estimate]:
        now = self.clock.now()
        run = await ScheduleRun.create(
            schedule_id=schedule.id, account_id=schedule.account_id, launched_by=who,
            status=RunStatus.RESOLVING, scheduled_for=scheduled_for, started_at=now,
            run_day=day, lease_until=now + self.launcher.lease)
        try:
            estimate = await self.launcher.resolve(run, schedule)
        except Exception as exc:
            await self._fail(run.id, exc)
            raise
        # Conditional: a pause made while resolving keeps the run paused.
        await ScheduleRun.filter(id=run.id, status=RunStatus.RESOLVING).update(
            status=RunStatus.SENDING)
        return run, estimate

    async def _skipped_run(self, schedule: Schedule, day: dt.date, at: dt.datetime,
                           why: str) -> None:
        now = self.clock.now()
        await ScheduleRun.create(schedule_id=schedule.id, account_id=schedule.account_id,
                                 launched_by="scheduler", status=RunStatus.SKIPPED,
                                 scheduled_for=at, started_at=now, finished_at=now,
                                 run_day=day, skip_reason=why)
        log.info("schedule %s: run of %s skipped: %s", schedule.id, day, why)

    async def drive(self, run_id: int,
                    progress: Callable[[int, int], None] | None = None) -> None:
        """Queue what the run may queue now: everything, or the test share of a test
        (then wait for the winner). Takes the run's lease first."""
        now = self.clock.now()
        # The lease keeps resume_runs off a run being driven; two drivers at once would
        # still queue each batch once (write_batch moves the cursor conditionally).
        taken = await ScheduleRun.filter(id=run_id, status__in=[
            RunStatus.RESOLVING, RunStatus.SENDING]).update(
            lease_until=now + self.launcher.lease)
        if not taken:
            return
        try:
            await self._drive(run_id, progress)
        except Exception as exc:
            await self._fail(run_id, exc)
            raise

    async def _drive(self, run_id: int, progress: Callable[[int, int], None] | None) -> None:
        run = await ScheduleRun.get(id=run_id)
        schedule = await Schedule.get(id=run.schedule_id)
        if run.status == RunStatus.RESOLVING:  # crashed or failed while resolving: again
            await ScheduleRecipient.filter(run_id=run.id).delete()
            await self.launcher.resolve(run, schedule)
            if not await ScheduleRun.filter(id=run.id, status=RunStatus.RESOLVING).update(
                    status=RunStatus.SENDING):
                return  # paused or cancelled meanwhile
            run.status = RunStatus.SENDING
        testing = bool(schedule.test_percent) and run.winner_blast_id is None
        upto = run.test_count if testing else run.recipients_total
        cursor = await self.launcher.queue(run, schedule, upto, progress)
        if cursor < upto:
            return  # paused, cancelled or taken over
        if testing:
            due = self.clock.now() + dt.timedelta(minutes=schedule.test_wait_minutes or 0)
            await ScheduleRun.filter(id=run.id, status=RunStatus.SENDING).update(
                status=RunStatus.TESTING, winner_due_at=due, lease_until=None)
            return
        await ScheduleRun.filter(id=run.id, status=RunStatus.SENDING).update(
            status=RunStatus.COMPLETED, finished_at=self.clock.now(), lease_until=None)
        await self._after_run(schedule.id)

    async def _fail(self, run_id: int, exc: Exception) -> None:
        """A run that stopped on an error is marked failed with the error, its queued
        messages held and its schedule paused, recorded: visible, and resumable from its
        cursor (``resume``) once the cause is fixed, or cancelled. A crash (no
        exception) is not a failure: the run's lease runs out and the tick resumes it."""
        reason = (f"{exc.code}: {exc.message}" if isinstance(exc, TracklyError)
                  else f"{type(exc).__name__}: {exc}")[:200]
        log.warning("run %s failed: %s", run_id, reason)
        try:
            moved = await ScheduleRun.filter(id=run_id, status__in=[
                RunStatus.RESOLVING, RunStatus.SENDING]).update(
                status=RunStatus.FAILED, skip_reason=reason, lease_until=None)
            if not moved:
                return
            run = await ScheduleRun.get(id=run_id)
            await queries.hold_queued([run_id], self.clock.now())
            schedule = await Schedule.get(id=run.schedule_id)
            if await Schedule.filter(id=schedule.id, status=ScheduleStatus.SENDING).update(
                    status=ScheduleStatus.PAUSED, updated_at=self.clock.now()):
                await self._record(schedule, None, "run_failed", ScheduleStatus.SENDING,
                                   ScheduleStatus.PAUSED, detail=reason)
        except Exception:  # the database itself failing: the lease still resumes the run
            log.exception("run %s: could not record its failure", run_id)

    async def _run_ids(self, schedule_id: int, *statuses: RunStatus) -> list[int]:
        query = ScheduleRun.filter(schedule_id=schedule_id)
        if statuses:
            query = query.filter(status__in=list(statuses))
        ids: list[Any] = await query.values_list("id", flat=True)
        return [int(i) for i in ids]

    async def _after_run(self, schedule_id: int) -> None:
        """Back to scheduled when another run is ahead, else completed."""
        schedule = await Schedule.get(id=schedule_id)
        if schedule.status != ScheduleStatus.SENDING:
            return
        to = ScheduleStatus.SCHEDULED if schedule.next_run_at else ScheduleStatus.COMPLETED
        await Schedule.filter(id=schedule_id, status=ScheduleStatus.SENDING).update(status=to)
        await self._record(schedule, None, "run_finished", ScheduleStatus.SENDING, to)

    async def _numbers(self, run: ScheduleRun, schedule: Schedule) -> dict[str, Any]:
        metric = schedule.winner_metric or WinnerMetric.CTR
        rows = await queries.variant_numbers(run.id, run.started_at)
        table = {}
        best: tuple[Decimal, int] | None = None
        for v in sorted(rows, key=lambda r: r.blast_id):
            sends = max(v.sends, 1)
            score = {WinnerMetric.CTR: Decimal(v.clicks) / sends,
                     WinnerMetric.EPC: v.revenue / max(v.clicks, 1),
                     WinnerMetric.REVENUE_PER_SEND: v.revenue / sends,
                     WinnerMetric.OPT_OUT_RATE: -Decimal(v.opt_outs) / sends}[metric]
            table[str(v.blast_id)] = {"sends": v.sends, "clicks": v.clicks,
                                      "revenue": str(v.revenue), "opt_outs": v.opt_outs,
                                      "score": str(abs(score).quantize(Decimal("0.000001")))}
            if best is None or score > best[0]:
                best = (score, v.blast_id)
        winner = best[1] if best else (await ScheduleBlast.filter(
            schedule_id=schedule.id).order_by("position", "id").first()).id  # type: ignore[union-attr]
        return {"metric": metric.value, "variants": table, "winner": winner,
                "computed_winner": winner}

    async def _finish_test(self, run: ScheduleRun, schedule: Schedule, winner: int,
                           decision: dict[str, Any]) -> None:
        now = self.clock.now()
        decision = {**decision, "winner": winner, "decided_at": now.isoformat()}
        moved = await ScheduleRun.filter(id=run.id, status=RunStatus.TESTING).update(
            status=RunStatus.SENDING, winner_blast_id=winner, winner_decided_at=now,
            winner_decision=decision, lease_until=now - dt.timedelta(seconds=1))
        if not moved:
            return
        await ScheduleBlast.filter(id=winner).update(is_winner=True)
        await queries.assign_rest(run.id, run.test_count, winner)
        await self.drive(run.id)

    # -- pieces ---------------------------------------------------------------------------

    async def _get(self, actor: Actor, schedule_id: int) -> Schedule:
        actor.require(Action.READ)
        schedule = await Schedule.get_or_none(id=schedule_id, account_id=actor.account_id)
        if schedule is None:
            raise NotFound(f"No schedule {schedule_id}.", code="schedule_not_found")
        return schedule

    async def _move(self, schedule: Schedule, actor: Actor | None, action: str,
                    sources: tuple[ScheduleStatus, ...], to: ScheduleStatus,
                    **also: Any) -> None:
        moved = await Schedule.filter(id=schedule.id, status__in=list(sources)).update(
            status=to, updated_at=self.clock.now(), **also)
        if not moved:
            current = (await Schedule.get(id=schedule.id)).status
            code = "schedule_complete" if current in FINISHED else "invalid_transition"
            raise Conflict(f"Schedule {schedule.id} is {current}; it cannot {action}.",
                           code=code)
        await self._record(schedule, actor, action, schedule.status, to)
        schedule.status = to
        for key, value in also.items():
            setattr(schedule, key, value)

    async def _record(self, schedule: Schedule, actor: Actor | None, action: str,
                      source: str, to: str, detail: str = "") -> None:
        await ScheduleEvent.create(schedule_id=schedule.id, account_id=schedule.account_id,
                                   action=action, from_status=str(source), to_status=str(to),
                                   actor=actor.label if actor else "scheduler",
                                   detail=detail, occurred_at=self.clock.now())

    async def _check_refs(self, actor: Actor, values: dict[str, Any],
                          audience_ids: list[int] | None, blasts: list[Any] | None) -> None:
        if "sending_list_id" in values and not await SendingList.exists(
                id=values["sending_list_id"], account_id=actor.account_id):
            raise ValidationError(f"No sending list {values['sending_list_id']}.",
                                  code="source_list_not_found", field="list_id")
        if audience_ids:
            found = set(await Audience.filter(account_id=actor.account_id,
                                              id__in=audience_ids).values_list("id",
                                                                               flat=True))
            for ident in audience_ids:
                if ident not in found:
                    raise ValidationError(f"No audience {ident}.", code="audience_not_found",
                                          field="audience_ids")
        for i, blast in enumerate(blasts or []):
            if blast.creative_id is not None and not await MessageCreative.exists(
                    id=blast.creative_id, account_id=actor.account_id):
                raise ValidationError(f"No creative {blast.creative_id}.",
                                      code="creative_not_found",
                                      field=f"blasts[{i}].creative_id")
        for i, blast in enumerate(blasts or []):
            if blast.link_bindings:
                await bound_offers(actor.account_id, blast.link_bindings, sending=False,
                                   field=f"blasts[{i}].link_bindings")

    async def _save_parts(self, schedule: Schedule, audience_ids: list[int] | None,
                          blasts: list[Any] | None, replace: bool = False) -> None:
        if audience_ids is not None:
            if replace:
                await schedule.audiences.clear()
            if audience_ids:
                await schedule.audiences.add(*await Audience.filter(id__in=audience_ids))
        if blasts is not None:
            if replace:
                await ScheduleBlast.filter(schedule_id=schedule.id).delete()
            await ScheduleBlast.bulk_create([
                ScheduleBlast(schedule_id=schedule.id, creative_id=b.creative_id, body=b.body,
                              link_bindings=b.link_bindings,
                              percent_audience=b.percent_audience, position=i)
                for i, b in enumerate(blasts)])

    async def _view(self, schedule: Schedule, runs: bool = False) -> ScheduleView:
        audience_ids = [a.id for a in await schedule.audiences.all()]
        blasts = await ScheduleBlast.filter(schedule_id=schedule.id).order_by("position", "id")
        view = ScheduleView(schedule, sorted(audience_ids), blasts)
        if runs:
            view.runs = await ScheduleRun.filter(schedule_id=schedule.id).order_by("id")
            view.run_counts = await queries.run_message_counts([r.id for r in view.runs])
        return view


def _result(status: str, estimate: Estimate, run_id: int | None,
            next_run_at: dt.datetime | None) -> LaunchResult:
    return LaunchResult(str(status), estimate.recipients, estimate.skipped, estimate.segments,
                        estimate.cost, run_id, next_run_at)
