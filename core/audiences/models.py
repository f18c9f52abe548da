from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from core.accounts.models import Account
    from core.contacts.models import SendingList


class BoolOperator(StrEnum):
    AND = "and"
    OR = "or"


class Audience(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="audiences", on_delete=fields.CASCADE
    )
    account_id: int
    name = fields.CharField(max_length=200)
    operator = fields.CharEnumField(BoolOperator, max_length=3, default=BoolOperator.AND)
    sending_lists: fields.ManyToManyRelation[SendingList] = fields.ManyToManyField(
        "models.SendingList", related_name="audiences", through="audience_sending_list"
    )
    cached_size = fields.IntField(null=True)
    cached_size_updated_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "audience"


class AudienceGroup(Model):
    """A group of conditions (and of nested groups) combined with AND or OR."""

    id = fields.IntField(primary_key=True)
    audience: fields.ForeignKeyRelation[Audience] = fields.ForeignKeyField(
        "models.Audience", related_name="groups", on_delete=fields.CASCADE
    )
    audience_id: int
    parent: fields.ForeignKeyNullableRelation[AudienceGroup] = fields.ForeignKeyField(
        "models.AudienceGroup", related_name="children", null=True, on_delete=fields.CASCADE
    )
    parent_id: int | None
    operator = fields.CharEnumField(BoolOperator, max_length=3, default=BoolOperator.AND)
    position = fields.IntField(default=0)

    class Meta:
        table = "audience_group"


class AudienceCondition(Model):
    id = fields.IntField(primary_key=True)
    group: fields.ForeignKeyRelation[AudienceGroup] = fields.ForeignKeyField(
        "models.AudienceGroup", related_name="conditions", on_delete=fields.CASCADE
    )
    group_id: int
    field = fields.CharField(max_length=100)  # e.g. signup_date, custom.zip
    operator = fields.CharField(max_length=20)  # eq, ne, gt, .. within_days
    value: fields.JSONField[Any] = fields.JSONField(null=True)
    position = fields.IntField(default=0)

    class Meta:
        table = "audience_condition"
