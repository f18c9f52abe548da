from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from core.compliance.keywords import InboundIntent

if TYPE_CHECKING:
    from core.accounts.models import Account
    from core.contacts.models import Contact, SendingList


class InboundMessage(Model):
    """An SMS a recipient sent to one of our numbers."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="inbound_messages", null=True, on_delete=fields.CASCADE
    )
    account_id: int | None
    sending_list: fields.ForeignKeyNullableRelation[SendingList] = fields.ForeignKeyField(
        "models.SendingList", related_name="inbound_messages", null=True,
        on_delete=fields.SET_NULL,
    )
    sending_list_id: int | None
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="inbound_messages", null=True, on_delete=fields.SET_NULL
    )
    contact_id: int | None
    from_number = fields.CharField(max_length=20)
    to_number = fields.CharField(max_length=20)
    body = fields.TextField()
    provider = fields.CharField(max_length=16)
    provider_message_id = fields.CharField(max_length=100)
    intent = fields.CharEnumField(InboundIntent, max_length=16, default=InboundIntent.NONE)
    # The rule that decided the intent (support answers "why was I unsubscribed?" from it).
    matched_rule = fields.CharField(max_length=100, default="")
    # Not read as an opt-out, yet it holds an opt-out word: on the review list until a
    # person decides (reviewed_at); set_aside names the rule that set the word aside.
    needs_review = fields.BooleanField(default=False, db_default=False)
    set_aside = fields.CharField(max_length=100, default="", db_default="")
    reviewed_at = fields.DatetimeField(null=True)
    reviewed_by = fields.CharField(max_length=200, null=True)
    review_decision = fields.CharField(max_length=16, null=True)  # opt_out | keep
    action_taken = fields.CharField(max_length=64, default="")
    received_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "inbound_message"
        unique_together = (("provider", "provider_message_id"),)
        indexes = (Index(fields=("account_id", "received_at")),
                   Index(fields=("account_id", "needs_review", "reviewed_at")))
