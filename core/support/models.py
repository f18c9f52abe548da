from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:
    from core.accounts.models import Account


class TicketPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketCategory(StrEnum):
    GENERAL = "general"
    BILLING = "billing"
    TECHNICAL = "technical"
    API = "api"


class TicketStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    CLOSED = "closed"


class SupportTicket(Model):
    id = fields.IntField(primary_key=True)
    number = fields.IntField(unique=True)
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="support_tickets", null=True, on_delete=fields.SET_NULL
    )
    account_id: int | None
    opener_discord_id = fields.BigIntField()
    opener_name = fields.CharField(max_length=100, default="")
    subject = fields.CharField(max_length=200)
    priority = fields.CharEnumField(TicketPriority, max_length=8, default=TicketPriority.NORMAL)
    category = fields.CharEnumField(
        TicketCategory, max_length=16, default=TicketCategory.GENERAL
    )
    status = fields.CharEnumField(TicketStatus, max_length=8, default=TicketStatus.OPEN)
    assignee_discord_id = fields.BigIntField(null=True)
    guild_id = fields.BigIntField(null=True)
    channel_id = fields.BigIntField(null=True)
    thread_id = fields.BigIntField(null=True, unique=True)
    opened_at = fields.DatetimeField()
    first_response_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    closed_by_discord_id = fields.BigIntField(null=True)
    close_reason = fields.CharField(max_length=500, null=True)
    reopened_at = fields.DatetimeField(null=True)
    reopen_count = fields.IntField(default=0)
    last_activity_at = fields.DatetimeField()

    class Meta:
        table = "support_ticket"
        indexes = (
            Index(fields=("status", "priority", "opened_at")),
            Index(fields=("opener_discord_id", "status")),
        )


class SupportTicketMessage(Model):
    """The transcript: messages posted in the ticket's thread."""

    id = fields.BigIntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[SupportTicket] = fields.ForeignKeyField(
        "models.SupportTicket", related_name="messages", on_delete=fields.CASCADE
    )
    ticket_id: int
    discord_message_id = fields.BigIntField(unique=True)
    author_discord_id = fields.BigIntField()
    author_name = fields.CharField(max_length=100, default="")
    is_staff = fields.BooleanField(default=False)
    content = fields.TextField()  # as it reads now (after any edit)
    original_content: str | None = fields.TextField(null=True)  # as first posted, if edited
    posted_at = fields.DatetimeField()
    edited_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)  # deleted in Discord; the text is kept

    class Meta:
        table = "support_ticket_message"
        indexes = (Index(fields=("ticket_id", "posted_at")),)
