"""CSV import jobs: created by the API or the command line, run in the background.

The job row is the whole state (status, progress, counts); every bad row is stored as an
ImportRowError. Each batch of rows is one transaction that also moves the job's counters,
so after a crash the counts match what was written. A job whose process died is marked
failed (its heartbeat went stale); running the same file again is safe, because
re-importing changes nothing that is already there.

Dry run is the default: the same reading, matching and counting, without writing
contacts or subscriptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.accounts.models import Account
from core.clock import Clock
from core.contacts import queries
from core.contacts.csv_reader import Batch, CsvReader, GoodRow, ImportFileError
from core.contacts.lists import SendingListService
from core.contacts.models import (
    ImportJob,
    ImportRowError,
    ImportStatus,
    LineType,
    ListContact,
    SendingList,
    SubscriptionStatus,
)
from core.contacts.ports import EnrollNew
from core.contacts.rules import landline_refusal
from core.errors import Conflict, NotFound, ValidationError
from core.ids import reference_id
from core.notifications.models import Severity
from core.notifications.service import NotificationService
from core.permissions import Action, Actor
from core.system.models import Heartbeat
from core.system.service import record_beat

log = logging.getLogger(__name__)

BATCH_ROWS = 10_000
STALE_AFTER = dt.timedelta(minutes=5)
# How long a stored upload outlives the last job that read it: a dry run stays
# committable for this long, then its file is swept.
UPLOAD_RETENTION = dt.timedelta(hours=24)
_ACTIVE = (ImportStatus.PENDING, ImportStatus.RUNNING)
INTERRUPTED = ("The import was interrupted (the process stopped). Run it again: "
               "rows already imported are left as they are.")


@dataclass(frozen=True, slots=True)
class ImportProgress:
    job_id: int
    bytes_processed: int
    file_size: int
    rows_processed: int
    created: int
    updated: int
    unchanged: int
    errors: int


@dataclass(slots=True)
class _Totals:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    bytes: int = 0


class ImportService:
    def __init__(self, *, clock: Clock, lists: SendingListService, data_dir: Path,
                 notifications: NotificationService | None = None,
                 enroll: EnrollNew | None = None) -> None:
        self.notifications = notifications  # "import finished" notices, when wired
        self.clock = clock
        self.lists = lists
        self.enroll = enroll
        self.upload_dir = Path(data_dir) / "imports"
        self._tasks: dict[int, asyncio.Task[ImportJob]] = {}

    # -- creating -------------------------------------------------------------------

    def new_upload_path(self) -> Path:
        """Where an uploaded file is streamed to before its job is created."""
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        return self.upload_dir / f"{secrets.token_hex(12)}.csv"

    async def create_job(self, actor: Actor, *, list_number: Any, path: Path,
                         filename: str = "", dry_run: bool = True,
                         start: bool = False) -> ImportJob:
        """A job for the file at ``path``, with its sending list; running in the
        background of this process when ``start``, else for :meth:`run`."""
        actor.require(Action.IMPORT)
        sending_list = await self.lists.get_by_number(actor, list_number)
        facts = await asyncio.to_thread(_file_facts, Path(path))
        if facts is None:
            raise ValidationError(f"No such file: {Path(path).name}.", code="missing_file",
                                  field="file")
        resolved, size = facts
        job = await ImportJob.create(
            account_id=actor.account_id, sending_list=sending_list,
            created_by=actor.label, filename=(filename or Path(path).name)[:255],
            file_path=resolved, file_size=size, dry_run=dry_run,
            status=ImportStatus.PENDING)
        if start:
            self.start(job.id)
        return job

    async def commit(self, actor: Actor, job_id: int) -> ImportJob:
        """Import for real the file a dry run looked at (a new job, started now), once:
        ``already_committed`` while a commit of it is running or after one completed (a
        commit that failed, say interrupted, may be made again). A dry run that failed
        (no phone column...) would fail again: ``dry_run_failed``."""
        actor.require(Action.IMPORT)
        job = await self.get_job(actor, job_id)
        if not job.dry_run:
            raise ValidationError("This import was not a dry run.", code="not_a_dry_run")
        if job.status == ImportStatus.FAILED:
            raise ValidationError(f"This dry run failed, so its file would fail again: "
                                  f"{job.failure} Fix the file and upload it again.",
                                  code="dry_run_failed")
        async with in_transaction():
            # The dry run's row is the lock: two commits of it take turns, and the second
            # sees the job the first made.
            await ImportJob.select_for_update().filter(id=job.id).first()
            earlier = await ImportJob.filter(
                account_id=job.account_id, file_path=job.file_path, dry_run=False,
                id__gt=job.id).exclude(status=ImportStatus.FAILED).order_by("id").first()
            if earlier is not None:
                raise Conflict(f"This dry run was already committed as import {earlier.id} "
                               f"({earlier.status}).", code="already_committed")
            if await asyncio.to_thread(_file_facts, Path(job.file_path)) is None:
                raise ValidationError("The file of this dry run is no longer stored; upload "
                                      "it again.", code="missing_file")
            new = await ImportJob.create(
                account_id=job.account_id, sending_list=job.sending_list,
                created_by=actor.label, filename=job.filename, file_path=job.file_path,
                file_size=job.file_size, dry_run=False, status=ImportStatus.PENDING)
        self.start(new.id)
        return new

    def start(self, job_id: int) -> asyncio.Task[ImportJob]:
        """Run the job in the background of this process."""
        task = asyncio.create_task(self.run(job_id), name=f"import-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))
        return task

    async def wait(self, job_id: int) -> None:
        """Wait for a job this process started (tests and the command line)."""
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.shield(task)

    # -- reading --------------------------------------------------------------------

    async def get_job(self, actor: Actor, job_id: int) -> ImportJob:
        actor.require(Action.READ)
        job = await ImportJob.get_or_none(id=job_id, account_id=actor.account_id
                                          ).prefetch_related("sending_list")
        if job is None:
            raise NotFound("No such import.", code="import_not_found")
        if job.status in (ImportStatus.PENDING, ImportStatus.RUNNING) and \
                job_id not in self._tasks and await self.recover_interrupted(job_id=job_id):
            await job.refresh_from_db()
        return job

    async def list_jobs(self, actor: Actor, *, page: int = 1, per_page: int = 50
                        ) -> tuple[list[ImportJob], int]:
        actor.require(Action.READ)
        query = ImportJob.filter(account_id=actor.account_id)
        total = await query.count()
        rows = await query.order_by("-id").offset((page - 1) * per_page).limit(
            per_page).prefetch_related("sending_list")
        return rows, total

    async def row_errors(self, actor: Actor, job_id: int, *, page: int = 1,
                         per_page: int = 100) -> tuple[list[ImportRowError], int]:
        """One page of the job's bad rows, by line, and how many there are."""
        _, rows, total = await self.report(actor, job_id, page=page, per_page=per_page)
        return rows, total

    async def report(self, actor: Actor, job_id: int, *, page: int = 1, per_page: int = 100
                     ) -> tuple[ImportJob, list[ImportRowError], int]:
        """The job (with its list) and one page of its bad rows: what GET /imports/{id}
        shows."""
        job = await self.get_job(actor, job_id)
        query = ImportRowError.filter(job_id=job.id)
        total = await query.count()
        rows = await query.order_by("line", "id").offset((page - 1) * per_page).limit(per_page)
        return job, rows, total

    async def recover_interrupted(self, *, job_id: int | None = None,
                                  stale_after: dt.timedelta | None = None) -> int:
        """Mark failed the jobs whose process died: pending or running, not run here,
        and no heartbeat for ``stale_after``. Returns how many were marked.

        A single-process installation (SQLite) passes ``stale_after=0`` at start-up:
        nothing else can be running its jobs."""
        now = self.clock.now()
        stale_after = STALE_AFTER if stale_after is None else stale_after
        query = ImportJob.filter(status__in=[ImportStatus.PENDING, ImportStatus.RUNNING])
        if job_id is not None:
            query = query.filter(id=job_id)
        marked = 0
        for job in await query:
            if job.id in self._tasks:
                continue
            beat = await Heartbeat.get_or_none(component=_beat_name(job.id))
            last = beat.beat_at if beat else (job.started_at or job.created_at)
            if last is not None and now - last < stale_after:
                continue
            marked += await ImportJob.filter(
                Q(status=ImportStatus.PENDING) | Q(status=ImportStatus.RUNNING), id=job.id,
            ).update(status=ImportStatus.FAILED, failure=INTERRUPTED, finished_at=now)
            await Heartbeat.filter(component=_beat_name(job.id)).delete()
        if marked:
            log.warning("%d interrupted import job(s) marked failed", marked)
        return marked

    async def sweep_uploads(self, *, keep_for: dt.timedelta = UPLOAD_RETENTION) -> int:
        """Delete the stored uploads nothing can use any more: every job that read the
        file ended more than ``keep_for`` ago, or no job names it and it is that old (an
        upload whose job was never created). A file a pending or running job reads always
        stays, and files outside the upload folder (``trackly import FILE``) are never
        touched. Returns how many files were removed."""
        cutoff = self.clock.now() - keep_for
        stored = await asyncio.to_thread(_stored_uploads, self.upload_dir)
        last_used: dict[str, dt.datetime] = {}
        in_use: set[str] = set()
        names = list(stored)
        for start in range(0, len(names), 500):
            for path, status, finished_at, created_at in await ImportJob.filter(
                    file_path__in=names[start:start + 500]).values_list(
                    "file_path", "status", "finished_at", "created_at"):
                if status in _ACTIVE:
                    in_use.add(path)
                at = finished_at or created_at
                last_used[path] = max(at, last_used.get(path, at))
        doomed = [path for path, modified in stored.items() if path not in in_use and (
            last_used[path] < cutoff if path in last_used else modified < cutoff)]
        await asyncio.to_thread(_unlink_all, doomed)
        if doomed:
            log.info("removed %d stored import upload(s) older than %s", len(doomed),
                     keep_for)
        return len(doomed)

    # -- running --------------------------------------------------------------------

    async def run(self, job_id: int,
                  progress: Callable[[ImportProgress], None] | None = None) -> ImportJob:
        """Run a pending job to the end in this task."""
        now = self.clock.now()
        moved = await ImportJob.filter(id=job_id, status=ImportStatus.PENDING).update(
            status=ImportStatus.RUNNING, started_at=now)
        job = await ImportJob.get(id=job_id).prefetch_related("sending_list")
        if not moved:
            return job  # another worker has it, or it is finished
        sending_list = job.sending_list
        account = await Account.get(id=job.account_id)
        reader = CsvReader(job.file_path, region=sending_list.country_code or
                           account.default_region, now=now,
                           allow_landlines=sending_list.allow_landlines)
        totals = _Totals()
        await self._beat(job.id, totals)
        reading: asyncio.Future[Batch | None] | None = None
        try:
            await asyncio.to_thread(reader.open)
            batches = reader.batches(BATCH_ROWS)
            # Read and check the next batch in a thread while this one is written: the
            # database works while Python parses.
            reading = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
            while (batch := await reading) is not None:
                reading = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
                await self._apply(job, sending_list, batch, totals)
                if progress is not None:
                    progress(self._progress(job, totals))
            await self._finish(job, ImportStatus.COMPLETED, totals, None)
        except ImportFileError as exc:
            await self._finish(job, ImportStatus.FAILED, totals, exc.message)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._finish(job, ImportStatus.FAILED, totals,
                                                  INTERRUPTED))
            raise
        except Exception:
            ref = reference_id()
            log.exception("import job %s failed (ref %s)", job.id, ref)
            await self._finish(job, ImportStatus.FAILED, totals,
                               f"Something went wrong on our side (reference: {ref}).")
        finally:
            if reading is not None and not reading.done():
                with contextlib.suppress(BaseException):
                    await asyncio.shield(reading)  # a thread cannot be stopped mid-batch
            reader.close()
        await job.refresh_from_db()
        log.info("import job %s %s: %d rows, %d created, %d updated, %d unchanged, "
                 "%d errors", job.id, job.status, totals.rows, totals.created,
                 totals.updated, totals.unchanged, totals.errors)
        return job

    async def _apply(self, job: ImportJob, sending_list: SendingList, batch: Batch,
                     totals: _Totals) -> None:
        now = self.clock.now()
        errors = [(b.line, b.code, b.reason, b.value) for b in batch.bad]
        async with in_transaction() as conn:
            await queries.relax_durability(conn)
            if job.dry_run:
                found = {phone: (ident, kind, False) for phone, (ident, kind) in
                         (await queries.lookup_contacts(
                             conn, [g.phone.e164 for g in batch.good])).items()}
            else:
                found = await queries.ensure_contacts(
                    conn, [_contact_row(g) for g in batch.good], now)
            rows: list[GoodRow] = []
            for good in batch.good:
                known = found.get(good.phone.e164)
                # A number we already had may be a landline by a lookup; new numbers (and
                # rows that declare their line type) were checked while reading.
                refused = landline_refusal(
                    good.phone.e164, known[1], allow_landlines=sending_list.allow_landlines
                ) if known and not known[2] and good.declared_line_type is None else None
                if refused is not None:
                    errors.append((good.line, refused.code, refused.message, good.phone.e164))
                else:
                    rows.append(good)
            ids = {phone: known[0] for phone, known in found.items()}
            known_before = [found[g.phone.e164][0] for g in rows
                            if g.phone.e164 in found and not found[g.phone.e164][2]]
            subscriptions = await queries.lookup_subscriptions(conn, sending_list.id,
                                                               known_before)
            inserts, updates, unchanged = plan_batch(rows, ids, subscriptions, now)
            created = len(inserts)
            if not job.dry_run:
                fresh = {known[0] for known in found.values() if known[2]}
                created = 0
                for new_contacts in (True, False):
                    created += await queries.insert_subscriptions(
                        conn, [r for r in inserts if (r[0] in fresh) is new_contacts],
                        account_id=job.account_id, list_id=sending_list.id,
                        source=f"import:{job.id}", now=now, new_contacts=new_contacts)
                unchanged += len(inserts) - created  # subscribed meanwhile by someone else
                await queries.update_subscriptions(conn, updates, now)
            await queries.insert_row_errors(conn, job.id, errors)
            totals.rows += batch.rows
            totals.created += created
            totals.updated += len(updates)
            totals.unchanged += unchanged
            totals.errors += len(errors)
            totals.bytes = batch.bytes_read
            await ImportJob.filter(id=job.id).update(
                rows_processed=totals.rows, created_count=totals.created,
                updated_count=totals.updated, unchanged_count=totals.unchanged,
                error_count=totals.errors, bytes_processed=totals.bytes)
        if self.enroll is not None and not job.dry_run and inserts:
            # Committed: the batch's new subscribers enter the list's journeys.
            new_ids = await ListContact.filter(
                sending_list_id=sending_list.id, contact_id__in=[r[0] for r in inserts],
                consent_source=f"import:{job.id}",
                status=SubscriptionStatus.ACTIVE).values_list("id", flat=True)
            await self.enroll(job.account_id, [int(str(i)) for i in new_ids])
        await self._beat(job.id, totals)

    async def _finish(self, job: ImportJob, status: ImportStatus, totals: _Totals,
                      failure: str | None) -> None:
        moved = await ImportJob.filter(id=job.id, status=ImportStatus.RUNNING).update(
            status=status, failure=failure, finished_at=self.clock.now(),
            bytes_processed=job.file_size if status == ImportStatus.COMPLETED else totals.bytes)
        await Heartbeat.filter(component=_beat_name(job.id)).delete()
        if moved and not job.dry_run and self.notifications is not None:
            await self._notify(job, status, totals, failure)
        if status == ImportStatus.COMPLETED and not job.dry_run:
            # An upload we stored is ours to remove; the user's own files stay.
            await asyncio.to_thread(_remove_upload, Path(job.file_path), self.upload_dir)

    async def _notify(self, job: ImportJob, status: ImportStatus, totals: _Totals,
                      failure: str | None) -> None:
        assert self.notifications is not None
        data = {"import_id": job.id, "rows": totals.rows, "created": totals.created,
                "updated": totals.updated, "unchanged": totals.unchanged,
                "errors": totals.errors}
        if status == ImportStatus.COMPLETED:
            await self.notifications.notify(
                job.account_id, kind="import", severity=Severity.LOW,
                title=f"Import {job.id} finished",
                body=f"{totals.rows:,} rows: {totals.created:,} new, {totals.updated:,} "
                     f"updated, {totals.unchanged:,} unchanged, {totals.errors:,} bad.",
                data=data)
        else:
            await self.notifications.notify(
                job.account_id, kind="import", severity=Severity.MEDIUM,
                title=f"Import {job.id} failed", body=f"{failure or 'It stopped.'} "
                f"{totals.rows:,} rows were read before it stopped.", data=data)

    async def _beat(self, job_id: int, totals: _Totals) -> None:
        await record_beat(_beat_name(job_id), self.clock.now(),
                          {"rows": totals.rows, "bytes": totals.bytes})

    @staticmethod
    def _progress(job: ImportJob, totals: _Totals) -> ImportProgress:
        return ImportProgress(job.id, totals.bytes, job.file_size, totals.rows,
                              totals.created, totals.updated, totals.unchanged,
                              totals.errors)


def _file_facts(path: Path) -> tuple[str, int] | None:
    if not path.is_file():
        return None
    return str(path.resolve()), path.stat().st_size


def _remove_upload(path: Path, upload_dir: Path) -> None:
    if path.parent.resolve() == upload_dir.resolve():
        path.unlink(missing_ok=True)


def _stored_uploads(upload_dir: Path) -> dict[str, dt.datetime]:
    """Each stored upload's path (as jobs record it) and when it was last written."""
    if not upload_dir.is_dir():
        return {}
    return {str(path.resolve()): dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
            for path in upload_dir.glob("*.csv") if path.is_file()}


def _unlink_all(paths: list[str]) -> None:
    for path in paths:
        Path(path).unlink(missing_ok=True)


def _beat_name(job_id: int) -> str:
    return f"import:{job_id}"


_PLAIN_LINE_TYPE = {kind: kind.value for kind in LineType}  # enum .value is slow per row


def _contact_row(good: GoodRow) -> queries.ContactRow:
    info = good.phone
    return (info.e164, info.country_code,
            _PLAIN_LINE_TYPE[good.declared_line_type or info.line_type],
            good.carrier or info.carrier, info.timezone, info.state, info.area_code)


def plan_batch(rows: list[GoodRow], ids: dict[str, int],
               subscriptions: dict[int, queries.ExistingSubscription], now: dt.datetime
               ) -> tuple[list[queries.SubscriptionRow], list[queries.SubscriptionUpdate], int]:
    """Which rows subscribe, which change an existing subscription, how many change nothing.

    Empty cells never erase stored values; custom fields merge. A subscription's status is
    never changed by an import: whoever opted out stays out."""
    inserts: list[queries.SubscriptionRow] = []
    updates: list[queries.SubscriptionUpdate] = []
    unchanged = 0
    for good in rows:
        contact_id = ids.get(good.phone.e164)
        existing = subscriptions.get(contact_id) if contact_id is not None else None
        if existing is None:
            signup = good.signup_date or good.consent_date or now
            inserts.append((contact_id or 0, signup, good.consent_date, good.first_name,
                            good.last_name, good.email, good.ad_network_source,
                            good.ad_network_id, good.custom, good.phone.state,
                            good.phone.area_code))
            continue
        merged = (
            good.first_name or existing.first_name,
            good.last_name or existing.last_name,
            good.email or existing.email,
            good.consent_date or existing.consent_date,
            good.ad_network_source or existing.ad_network_source,
            good.ad_network_id or existing.ad_network_id,
            {**existing.custom_fields, **good.custom},
        )
        before = (existing.first_name, existing.last_name, existing.email,
                  existing.consent_date, existing.ad_network_source, existing.ad_network_id,
                  existing.custom_fields)
        if merged == before:
            unchanged += 1
        else:
            updates.append((existing.id, *merged))
    return inserts, updates, unchanged
