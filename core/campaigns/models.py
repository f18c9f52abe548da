from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.fields.db_defaults import SqlDefault
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:
    from core.accounts.models import Account
    from core.audiences.models import Audience
    from core.contacts.models import SendingList
    from core.creatives.models import MessageCreative


class SendType(StrEnum):
    BLAST = "blast"
    AUTOMATED = "automated"


class Recurrence(StrEnum):
    ONE_TIME = "one_time"
    RECURRING = "recurring"


class ScheduleStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    ARCHIVED = "archived"


class WinnerMetric(StrEnum):
    CTR = "ctr"
    EPC = "epc"
    REVENUE_PER_SEND = "revenue_per_send"
    OPT_OUT_RATE = "opt_out_rate"


class RunStatus(StrEnum):
    RESOLVING = "resolving"
    QUEUED = "queued"
    TESTING = "testing"  # test share sent, waiting to pick a winner
    SENDING = "sending"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"  # an occurrence missed while the platform was down
    FAILED = "failed"  # the launch stopped on an error (skip_reason says which); resumable


class WallTimeField(fields.Field[dt.time | None], dt.time):
    """A time of day on a wall clock, in no zone (the schedule's ``timezone`` says where),
    stored as ``HH:MM:SS`` text.

    tortoise's TimeField cannot do this: sqlite3 has no adapter for ``datetime.time`` (a
    schedule with a send time failed to save on SQLite), and on PostgreSQL it is a TIMETZ
    pinned to UTC, while a send time of 10:00 means 10:00 wherever it is read."""

    SQL_TYPE = "VARCHAR(8)"

    def to_db_value(self, value: Any, instance: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):  # a filter value, or a row read back
            value = dt.time.fromisoformat(value)
        if not isinstance(value, dt.time) or value.tzinfo is not None:
            raise ValueError(f"{self.model_field_name} must be a wall-clock time of day "
                             "without a zone")
        return value.replace(microsecond=0).isoformat()

    def to_python_value(self, value: Any) -> dt.time | None:
        if value is None or isinstance(value, dt.time):
            return value
        return dt.time.fromisoformat(str(value))


class Schedule(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="schedules", on_delete=fields.CASCADE
    )
    account_id: int
    name = fields.CharField(max_length=200)
    sending_list: fields.ForeignKeyRelation[SendingList] = fields.ForeignKeyField(
        "models.SendingList", related_name="schedules", on_delete=fields.CASCADE
    )
    sending_list_id: int
    audiences: fields.ManyToManyRelation[Audience] = fields.ManyToManyField(
        "models.Audience", related_name="schedules", through="schedule_audience"
    )
    send_type = fields.CharEnumField(SendType, max_length=16, default=SendType.BLAST)
    recurrence = fields.CharEnumField(Recurrence, max_length=16, default=Recurrence.ONE_TIME)
    send_date = fields.DateField(null=True)
    send_time: dt.time | None = WallTimeField(null=True)
    # [0..6], Monday is 0
    days_of_week: fields.JSONField[list[int]] = fields.JSONField(default=list)
    start_date = fields.DateField(null=True)
    end_date = fields.DateField(null=True)
    timezone = fields.CharField(max_length=64, default="America/New_York")
    use_local_time = fields.BooleanField(default=False)
    skip_within_hours = fields.IntField(null=True)
    automated_percent = fields.IntField(default=0)
    filter_bots = fields.BooleanField(default=True)
    test_percent = fields.IntField(null=True)
    test_wait_minutes = fields.IntField(null=True)
    winner_metric = fields.CharEnumField(WinnerMetric, max_length=24, null=True)
    status = fields.CharEnumField(ScheduleStatus, max_length=16, default=ScheduleStatus.DRAFT)
    next_run_at = fields.DatetimeField(null=True)
    # counted (first human) clicks on its messages, bumped by the click recorder
    click_count = fields.IntField(default=0, db_default=0)
    created_by = fields.CharField(max_length=64, default="system")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "schedule"
        indexes = (Index(fields=("status", "next_run_at")),)


class ScheduleBlast(Model):
    """A message variant of a schedule: a creative, or an inline body with offer links."""

    id = fields.IntField(primary_key=True)
    schedule: fields.ForeignKeyRelation[Schedule] = fields.ForeignKeyField(
        "models.Schedule", related_name="blasts", on_delete=fields.CASCADE
    )
    schedule_id: int
    creative: fields.ForeignKeyNullableRelation[MessageCreative] = fields.ForeignKeyField(
        "models.MessageCreative", related_name="blasts", null=True, on_delete=fields.SET_NULL
    )
    creative_id: int | None
    body: str | None = fields.TextField(null=True)
    link_bindings: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    percent_audience = fields.IntField(default=100)
    position = fields.IntField(default=0)
    is_winner = fields.BooleanField(default=False)

    class Meta:
        table = "schedule_blast"


class ScheduleRun(Model):
    """One execution of a schedule: who launched it, how far it got, what it cost."""

    id = fields.IntField(primary_key=True)
    schedule: fields.ForeignKeyRelation[Schedule] = fields.ForeignKeyField(
        "models.Schedule", related_name="runs", on_delete=fields.CASCADE
    )
    schedule_id: int
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="schedule_runs", on_delete=fields.CASCADE
    )
    account_id: int
    status = fields.CharEnumField(RunStatus, max_length=16, default=RunStatus.RESOLVING)
    launched_by = fields.CharField(max_length=64)
    scheduled_for = fields.DatetimeField(null=True)
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    winner_blast: fields.ForeignKeyNullableRelation[ScheduleBlast] = fields.ForeignKeyField(
        "models.ScheduleBlast", related_name="won_runs", null=True, on_delete=fields.SET_NULL
    )
    winner_blast_id: int | None
    winner_decided_at = fields.DatetimeField(null=True)
    recipients_total = fields.IntField(default=0)
    skipped_count = fields.IntField(default=0)
    estimated_segments = fields.BigIntField(default=0)
    estimated_cost = fields.DecimalField(max_digits=14, decimal_places=4, default=0)
    # Skips by reason: {"unsubscribed": n, "blocked": n, ...}
    skipped: fields.JSONField[dict[str, int]] = fields.JSONField(
        default=dict, db_default=SqlDefault("'{}'"))
    # A SKIPPED run: why; a FAILED one: the error that stopped it.
    skip_reason = fields.CharField(max_length=200, null=True)
    # The local day the run belongs to (use_local_time waves are that day's send time in
    # each contact's zone).
    run_day = fields.DateField(null=True)
    # Recipients are numbered 1..recipients_total when the run is resolved; those up to
    # ``cursor`` are queued. Advanced in the transaction that queues them: a crash resumes
    # after the last committed batch.
    cursor = fields.IntField(default=0, db_default=0)
    # recipients 1..test_count are the test share
    test_count = fields.IntField(default=0, db_default=0)
    queued_count = fields.IntField(default=0, db_default=0)
    winner_due_at = fields.DatetimeField(null=True)
    winner_decision: fields.JSONField[dict[str, Any]] = fields.JSONField(
        default=dict, db_default=SqlDefault("'{}'"))
    # Who drives the run now: another worker leaves it alone until the lease runs out.
    lease_until = fields.DatetimeField(null=True)

    class Meta:
        table = "schedule_run"
        indexes = (Index(fields=("schedule_id", "started_at")),
                   Index(fields=("status", "lease_until")))


class ScheduleRecipient(Model):
    """A run's recipients, fixed when the run is resolved: numbered, each with its
    variant. Streamed to the outbox in order of ``position``."""

    id = fields.BigIntField(primary_key=True)
    run: fields.ForeignKeyRelation[ScheduleRun] = fields.ForeignKeyField(
        "models.ScheduleRun", related_name="recipients", on_delete=fields.CASCADE,
        db_constraint=False)
    run_id: int
    position = fields.IntField()
    contact_id = fields.BigIntField()
    list_contact_id = fields.BigIntField()
    blast_id = fields.IntField(null=True)  # NULL: the rest, waiting for a test's winner
    # Why the launch leaves this contact out (its position is then negative), else NULL.
    skip_reason = fields.CharField(max_length=16, null=True)

    class Meta:
        table = "schedule_recipient"
        unique_together = (("run", "position"),)


class ScheduleEvent(Model):
    """A lifecycle transition of a schedule and who made it."""

    id = fields.BigIntField(primary_key=True)
    schedule: fields.ForeignKeyRelation[Schedule] = fields.ForeignKeyField(
        "models.Schedule", related_name="events", on_delete=fields.CASCADE
    )
    schedule_id: int
    account_id = fields.IntField()
    action = fields.CharField(max_length=32)
    from_status = fields.CharField(max_length=16)
    to_status = fields.CharField(max_length=16)
    actor = fields.CharField(max_length=64)
    detail = fields.CharField(max_length=300, default="")
    occurred_at = fields.DatetimeField()

    class Meta:
        table = "schedule_event"
        indexes = (Index(fields=("schedule_id", "occurred_at")),)
