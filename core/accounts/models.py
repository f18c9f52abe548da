from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from core.permissions import Role


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


class BillingStatus(StrEnum):
    OK = "ok"
    NO_PAYMENT_METHOD = "no_payment_method"
    PAYMENT_FAILED = "payment_failed"


class BotFilterMode(StrEnum):
    RECORD = "record"
    PREVIEW = "preview"


class StopScope(StrEnum):
    LIST = "list"
    ACCOUNT = "account"


class UserStatus(StrEnum):
    ACTIVE = "active"
    PENDING = "pending"


class Account(Model):
    """The workspace. Every tenant row belongs to exactly one."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    owner_email = fields.CharField(max_length=254)
    status = fields.CharEnumField(AccountStatus, max_length=16, default=AccountStatus.ACTIVE)
    default_timezone = fields.CharField(max_length=64, default="America/New_York")
    default_region = fields.CharField(max_length=2, default="US")
    brand_name = fields.CharField(max_length=100, default="")
    prepend_text = fields.CharField(max_length=200, default="{{brand_name}}: ")
    append_text = fields.CharField(max_length=200, default=" Reply STOP to opt out.")
    smart_encoding = fields.BooleanField(default=False)
    bot_filter_mode = fields.CharEnumField(BotFilterMode, max_length=16, default="record")
    stop_scope = fields.CharEnumField(StopScope, max_length=16, default=StopScope.LIST)
    complaint_is_opt_out = fields.BooleanField(default=True)
    tracking_domain = fields.CharField(max_length=253, null=True)
    price_plan = fields.CharField(max_length=32, default="default")
    billing_status = fields.CharEnumField(BillingStatus, max_length=32, default=BillingStatus.OK)
    billing_status_since = fields.DatetimeField(null=True)
    discord_channel_id = fields.BigIntField(null=True)
    # alert settings and rarely-read options
    settings: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "account"


class User(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200, default="")
    status = fields.CharEnumField(UserStatus, max_length=16, default=UserStatus.PENDING)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "user"


class AccountAccess(Model):
    """A user's role in an account. A pending row is an invitation."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="accesses", on_delete=fields.CASCADE
    )
    account_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="accesses", on_delete=fields.CASCADE
    )
    user_id: int
    role = fields.CharEnumField(Role, max_length=16)
    invited_at = fields.DatetimeField(null=True)
    invite_expires_at = fields.DatetimeField(null=True)
    accepted_at = fields.DatetimeField(null=True)
    # The invitation's token, as a hash (the token is shown once, to the inviter).
    invite_token_hash = fields.CharField(max_length=64, null=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "account_access"
        unique_together = (("account", "user"),)


class ApiKey(Model):
    """Stored as a hash. Only the prefix stays visible."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="api_keys", on_delete=fields.CASCADE
    )
    account_id: int
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="api_keys", null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    name = fields.CharField(max_length=100, default="")
    prefix = fields.CharField(max_length=12)
    key_hash = fields.CharField(max_length=64, unique=True)
    role = fields.CharEnumField(Role, max_length=16)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "api_key"


class DiscordLink(Model):
    """A Discord user acting in an account with the role of the key they linked with."""

    id = fields.IntField(primary_key=True)
    discord_user_id = fields.BigIntField(unique=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="discord_links", on_delete=fields.CASCADE
    )
    account_id: int
    api_key: fields.ForeignKeyNullableRelation[ApiKey] = fields.ForeignKeyField(
        "models.ApiKey", related_name="discord_links", null=True, on_delete=fields.SET_NULL
    )
    api_key_id: int | None
    role = fields.CharEnumField(Role, max_length=16)
    discord_username = fields.CharField(max_length=100, default="")
    linked_at = fields.DatetimeField()

    class Meta:
        table = "discord_link"


class DiscordServer(Model):
    """The Discord server (guild) an account runs from, and the channels where its alerts,
    reports and relayed replies go. One server per account and one account per server, so
    nothing an account says can land in another account's server."""

    id = fields.IntField(primary_key=True)
    account: fields.OneToOneRelation[Account] = fields.OneToOneField(
        "models.Account", related_name="discord_server", on_delete=fields.CASCADE
    )
    account_id: int
    guild_id = fields.BigIntField(unique=True)
    alert_channel_id = fields.BigIntField(null=True)
    report_channel_id = fields.BigIntField(null=True)
    reply_channel_id = fields.BigIntField(null=True)  # inbound replies relayed; null: off
    # Alert preferences (core.notifications reads them; severities by name).
    min_severity = fields.CharField(max_length=16, default="low")
    disabled_kinds: fields.JSONField[list[str]] = fields.JSONField(default=list)
    muted_until = fields.DatetimeField(null=True)
    # Daily summary at this local hour (account timezone) in the report channel; null: off.
    summary_hour = fields.SmallIntField(null=True)
    summary_sent_on = fields.DateField(null=True)
    linked_by_discord_id = fields.BigIntField()
    linked_at = fields.DatetimeField()

    class Meta:
        table = "discord_server"
