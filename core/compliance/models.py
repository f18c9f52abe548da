from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class InboundIntent(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    COMPLAINT = "complaint"
    NONE = "none"


class InboundMessage(Model):
    """An SMS a recipient sent to one of our numbers."""

    id = fields.BigIntField(primary_key=True)
    account = fields.ForeignKeyField(
        "models.Account", related_name="inbound_messages", null=True, on_delete=fields.CASCADE
    )
    sending_list = fields.ForeignKeyField(
        "models.SendingList", related_name="inbound_messages", null=True,
        on_delete=fields.SET_NULL,
    )
    contact = fields.ForeignKeyField(
        "models.Contact", related_name="inbound_messages", null=True, on_delete=fields.SET_NULL
    )
    from_number = fields.CharField(max_length=20)
    to_number = fields.CharField(max_length=20)
    body = fields.TextField()
    provider = fields.CharField(max_length=16)
    provider_message_id = fields.CharField(max_length=100)
    intent = fields.CharEnumField(InboundIntent, max_length=16, default=InboundIntent.NONE)
    matched_rule = fields.CharField(max_length=100, default="")
    action_taken = fields.CharField(max_length=64, default="")
    received_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "inbound_message"
        unique_together = (("provider", "provider_message_id"),)
        indexes = (Index(fields=("account_id", "received_at")),)
