from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:
    from core.accounts.models import Account
    from core.contacts.models import ListContact, SendingList
    from core.messaging.models import MessageSent


class JourneyStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class StepType(StrEnum):
    SEND = "send"
    WAIT = "wait"
    WAIT_UNTIL = "wait_until"
    CONDITION = "condition"
    SET_FIELD = "set_field"
    UNSUBSCRIBE = "unsubscribe"
    EXIT = "exit"


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    EXITED = "exited"


class WelcomeJourney(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="journeys", on_delete=fields.CASCADE
    )
    account_id: int
    name = fields.CharField(max_length=200)
    sending_list: fields.ForeignKeyRelation[SendingList] = fields.ForeignKeyField(
        "models.SendingList", related_name="journeys", on_delete=fields.CASCADE
    )
    sending_list_id: int
    # nested AND/OR groups over fields and method
    trigger: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    status = fields.CharEnumField(JourneyStatus, max_length=16, default=JourneyStatus.DRAFT)
    # Send steps that name several creatives: the share the selector chooses for (a
    # step's own automated_percent wins); the rest is a uniform control split.
    automated_percent = fields.IntField(default=100, db_default=100)
    # counted (first human) clicks on its messages, bumped by the click recorder
    click_count = fields.IntField(default=0, db_default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "welcome_journey"


class JourneyStep(Model):
    """A step. ``config`` holds the type's settings (creative, duration, condition, ...).

    Steps run in ``position`` order: after a step comes ``next_position`` when set, else
    the next higher position (none: the journey is complete). A condition jumps to
    ``yes_position``/``no_position``."""

    id = fields.IntField(primary_key=True)
    journey: fields.ForeignKeyRelation[WelcomeJourney] = fields.ForeignKeyField(
        "models.WelcomeJourney", related_name="steps", on_delete=fields.CASCADE
    )
    journey_id: int
    position = fields.IntField()
    step_type = fields.CharEnumField(StepType, max_length=16)
    config: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    yes_position = fields.IntField(null=True)
    no_position = fields.IntField(null=True)
    next_position = fields.IntField(null=True)

    class Meta:
        table = "journey_step"
        unique_together = (("journey", "position"),)


class JourneyEnrollment(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="journey_enrollments", on_delete=fields.CASCADE
    )
    account_id: int
    journey: fields.ForeignKeyRelation[WelcomeJourney] = fields.ForeignKeyField(
        "models.WelcomeJourney", related_name="enrollments", on_delete=fields.CASCADE
    )
    journey_id: int
    list_contact: fields.ForeignKeyRelation[ListContact] = fields.ForeignKeyField(
        "models.ListContact", related_name="enrollments", on_delete=fields.CASCADE
    )
    list_contact_id: int
    current_position = fields.IntField(default=0)
    status = fields.CharEnumField(
        EnrollmentStatus, max_length=16, default=EnrollmentStatus.ACTIVE
    )
    next_run_at = fields.DatetimeField(null=True)
    enrolled_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    exit_reason = fields.CharField(max_length=64, null=True)
    claim_token = fields.CharField(max_length=32, null=True)
    # How many steps it has run: the next run's number, unique per enrollment in
    # JourneyStepRun, so no step can run twice whoever advances it.
    steps_run = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "journey_enrollment"
        unique_together = (("journey", "list_contact"),)
        indexes = (Index(fields=("status", "next_run_at")),)


class JourneyStepRun(Model):
    """One step run for one enrollment: what per-step statistics count (entered, sent,
    exited), and through ``message`` its clicks, conversions and revenue."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="journey_step_runs", on_delete=fields.CASCADE
    )
    account_id: int
    journey: fields.ForeignKeyRelation[WelcomeJourney] = fields.ForeignKeyField(
        "models.WelcomeJourney", related_name="step_runs", on_delete=fields.CASCADE
    )
    journey_id: int
    enrollment: fields.ForeignKeyRelation[JourneyEnrollment] = fields.ForeignKeyField(
        "models.JourneyEnrollment", related_name="step_runs", on_delete=fields.CASCADE
    )
    enrollment_id: int
    seq = fields.IntField()
    position = fields.IntField()
    step_type = fields.CharEnumField(StepType, max_length=16)
    # sent, skipped, waiting, yes, no, set, unsubscribed, exited, completed
    outcome = fields.CharField(max_length=16)
    message: fields.ForeignKeyNullableRelation[MessageSent] = fields.ForeignKeyField(
        "models.MessageSent", related_name="journey_step_runs", null=True,
        on_delete=fields.SET_NULL,
    )
    message_id: int | None
    ran_at = fields.DatetimeField()

    class Meta:
        table = "journey_step_run"
        unique_together = (("enrollment", "seq"),)
        indexes = (Index(fields=("journey_id", "position")),)
