from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by an executor; the request may be in flight
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    DROPPED = "dropped"
    ORPHANED = "orphaned"


TERMINAL_STATUSES = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERED,
        MessageStatus.FAILED,
        MessageStatus.DROPPED,
        MessageStatus.ORPHANED,
    }
)


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


class MessageSent(Model):
    """One outbound SMS from the moment it is queued (the outbox row) to its receipt."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.CharField(max_length=8, unique=True)
    account = fields.ForeignKeyField(
        "models.Account", related_name="messages", on_delete=fields.CASCADE
    )
    sending_list = fields.ForeignKeyField(
        "models.SendingList", related_name="messages", on_delete=fields.CASCADE
    )
    contact = fields.ForeignKeyField(
        "models.Contact", related_name="messages", on_delete=fields.CASCADE
    )
    list_contact = fields.ForeignKeyField(
        "models.ListContact", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    creative = fields.ForeignKeyField(
        "models.MessageCreative", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    offer = fields.ForeignKeyField(
        "models.Offer", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    schedule = fields.ForeignKeyField(
        "models.Schedule", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    run = fields.ForeignKeyField(
        "models.ScheduleRun", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    blast = fields.ForeignKeyField(
        "models.ScheduleBlast", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    journey = fields.ForeignKeyField(
        "models.WelcomeJourney", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    enrollment = fields.ForeignKeyField(
        "models.JourneyEnrollment", related_name="messages", null=True,
        on_delete=fields.SET_NULL,
    )
    to_number = fields.CharField(max_length=20)
    from_number = fields.CharField(max_length=20)
    body = fields.TextField()
    segments = fields.IntField()
    encoding = fields.CharEnumField(Encoding, max_length=8)
    price = fields.DecimalField(max_digits=12, decimal_places=6, default=0)
    provider = fields.CharField(max_length=16)
    provider_message_id = fields.CharField(max_length=100, null=True)
    status = fields.CharEnumField(MessageStatus, max_length=16, default=MessageStatus.QUEUED)
    status_detail = fields.CharField(max_length=64, null=True)
    error_code = fields.CharField(max_length=32, null=True)
    error_message = fields.CharField(max_length=300, null=True)
    attempts = fields.IntField(default=0)
    transactional = fields.BooleanField(default=False)  # exempt from quiet hours
    # A compliance reply (STOP confirmation, HELP text) answers the recipient's own
    # message: it skips the subscription check that would otherwise stop it.
    is_reply = fields.BooleanField(default=False)
    idempotency_key = fields.CharField(max_length=100, null=True)
    claim_token = fields.CharField(max_length=32, null=True)
    lease_expires_at = fields.DatetimeField(null=True)
    not_before = fields.DatetimeField(null=True)  # quiet-hours deferral and retry backoff
    queued_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    failed_at = fields.DatetimeField(null=True)
    dropped_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "message_sent"
        # NULLs are distinct in unique indexes on both backends: API sends have no run,
        # and messages without an Idempotency-Key do not collide.
        unique_together = (("run", "contact"), ("account", "idempotency_key"))
        indexes = (
            Index(fields=("status", "not_before")),
            Index(fields=("sending_list_id", "status")),
            Index(fields=("account_id", "queued_at")),
            Index(fields=("contact_id", "status")),
            Index(fields=("provider", "provider_message_id")),
            Index(fields=("schedule_id", "status")),
            Index(fields=("sent_at",)),  # failure-rate window
            Index(fields=("failed_at",)),
        )


class MessageEvent(Model):
    """Status history of a message: every transition and every receipt."""

    id = fields.BigIntField(primary_key=True)
    message = fields.ForeignKeyField(
        "models.MessageSent", related_name="events", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(MessageStatus, max_length=16)
    detail = fields.CharField(max_length=200, null=True)
    source = fields.CharField(max_length=32)  # executor, webhook:twilio, reconciler, ...
    occurred_at = fields.DatetimeField()

    class Meta:
        table = "message_event"
        indexes = (Index(fields=("message_id", "occurred_at")),)


class MessageShortLink(Model):
    """``https://<tracking domain>/<code>``: one per ``{{linkN}}`` per message."""

    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=7, unique=True)
    account = fields.ForeignKeyField(
        "models.Account", related_name="short_links", on_delete=fields.CASCADE
    )
    message = fields.ForeignKeyField(
        "models.MessageSent", related_name="short_links", null=True, on_delete=fields.CASCADE
    )
    contact = fields.ForeignKeyField(
        "models.Contact", related_name="short_links", null=True, on_delete=fields.CASCADE
    )
    offer = fields.ForeignKeyField(
        "models.Offer", related_name="short_links", null=True, on_delete=fields.SET_NULL
    )
    link_key = fields.CharField(max_length=16, default="link1")
    destination_url = fields.CharField(max_length=2048)
    created_at = fields.DatetimeField()

    class Meta:
        table = "message_short_link"
        indexes = (Index(fields=("message_id",)),)
