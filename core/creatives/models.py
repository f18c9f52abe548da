from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from core.accounts.models import Account


class CreativeType(StrEnum):
    ONE_TIME = "one_time"
    AUTOMATED = "automated"
    WELCOME = "welcome"


class CreativeStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class MessageCreative(Model):
    """A reusable template. ``link_bindings`` maps ``link1``.. to an offer and URL params:
    ``{"link1": {"offer_id": 3, "params": {"sub1": "spring"}}}``."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="creatives", on_delete=fields.CASCADE
    )
    account_id: int
    name = fields.CharField(max_length=200)
    body = fields.TextField()
    link_bindings: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    type = fields.CharEnumField(CreativeType, max_length=16, default=CreativeType.ONE_TIME)
    status = fields.CharEnumField(CreativeStatus, max_length=16, default=CreativeStatus.ACTIVE)
    send_count = fields.IntField(default=0)
    click_count = fields.IntField(default=0)
    conversion_count = fields.IntField(default=0)
    revenue_total = fields.DecimalField(max_digits=14, decimal_places=4, default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "message_creative"
