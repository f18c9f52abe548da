from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:
    from core.accounts.models import Account


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    SUPPRESSED = "suppressed"  # muted or disabled when raised


class Notification(Model):
    """One alert or notice. ``dedup_key`` names the condition, ``is_resolution`` says it
    cleared. The bot claims pending rows and marks them delivered."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="notifications", on_delete=fields.CASCADE
    )
    account_id: int
    kind = fields.CharField(max_length=32)  # opt_out, inbound, failure_rate, billing, ...
    severity = fields.CharEnumField(Severity, max_length=16)
    title = fields.CharField(max_length=200)
    body = fields.TextField(default="")
    data: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    dedup_key = fields.CharField(max_length=200, null=True)
    is_resolution = fields.BooleanField(default=False)
    status = fields.CharEnumField(
        NotificationStatus, max_length=16, default=NotificationStatus.PENDING
    )
    created_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)
    claim_token = fields.CharField(max_length=32, null=True)
    claimed_at = fields.DatetimeField(null=True)
    # claims so far: past 1, it may be posted
    attempts = fields.SmallIntField(default=0, db_default=0)
    channel_id = fields.BigIntField(null=True)  # where it went (or was last tried)
    discord_message_id = fields.BigIntField(null=True)
    outcome = fields.CharField(max_length=32, null=True)  # why suppressed: muted, ...

    class Meta:
        table = "notification"
        indexes = (
            Index(fields=("status", "created_at")),
            Index(fields=("account_id", "dedup_key")),
        )


class AlertState(Model):
    """Which alert conditions are currently open, so each is raised once and cleared once."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="alert_states", on_delete=fields.CASCADE
    )
    account_id: int
    dedup_key = fields.CharField(max_length=200)
    opened_at = fields.DatetimeField()
    cleared_at = fields.DatetimeField(null=True)
    is_open = fields.BooleanField(default=True)

    class Meta:
        table = "alert_state"
        unique_together = (("account", "dedup_key"),)
