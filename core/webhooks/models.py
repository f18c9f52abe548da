from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:
    from core.accounts.models import Account


class EndpointStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class WebhookEndpoint(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="webhook_endpoints", on_delete=fields.CASCADE
    )
    account_id: int
    url = fields.CharField(max_length=2048)
    secret_sealed = fields.TextField()
    # delivery, unsubscribe, reply, click, conversion
    events: fields.JSONField[list[str]] = fields.JSONField(default=list)
    status = fields.CharEnumField(EndpointStatus, max_length=8, default=EndpointStatus.ACTIVE)
    consecutive_failures = fields.IntField(default=0)
    last_success_at = fields.DatetimeField(null=True)
    last_failure_at = fields.DatetimeField(null=True)
    paused_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "webhook_endpoint"


class WebhookDelivery(Model):
    """One event for one endpoint: the outbox row, and its log once tried."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="webhook_deliveries", on_delete=fields.CASCADE
    )
    account_id: int
    endpoint: fields.ForeignKeyRelation[WebhookEndpoint] = fields.ForeignKeyField(
        "models.WebhookEndpoint", related_name="deliveries", on_delete=fields.CASCADE
    )
    endpoint_id: int
    # webhook-id: the same for every endpoint an event goes to, and on a replay, so a
    # receiver can recognise a repeat.
    event_id = fields.CharField(max_length=32)
    event = fields.CharField(max_length=16)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField()
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    last_status_code = fields.IntField(null=True)
    last_error = fields.CharField(max_length=300, null=True)
    last_attempt_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "webhook_delivery"
        unique_together = (("endpoint", "event_id"),)
        indexes = (Index(fields=("status", "next_attempt_at")),
                   Index(fields=("endpoint_id", "created_at")))
