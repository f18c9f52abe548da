"""What an account wants to hear in Discord: the alert channel, the minimum severity, the
kinds turned off, mutes, and whether inbound replies are relayed (off by default)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from core.accounts.discord_servers import DiscordServerService
from core.accounts.models import DiscordServer
from core.clock import Clock
from core.errors import ValidationError
from core.notifications.models import AlertState, Notification, NotificationStatus, Severity
from core.permissions import Action, Actor

log = logging.getLogger(__name__)

MUTES = {"30m": dt.timedelta(minutes=30), "2h": dt.timedelta(hours=2),
         "1d": dt.timedelta(days=1)}
# The kinds core raises, as an operator names them in /alerts configure.
KINDS = ("failure_rate", "failure_spike", "delivery_rate", "opt_out", "opt_out_review",
         "complaint", "billing", "webhook", "import", "campaign", "inbound")


@dataclass(frozen=True)
class AlertChanges:
    channel_id: int | None = None
    min_severity: str | None = None
    enable: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    reply_channel_id: int | None = None
    relay_replies: bool | None = None  # False turns the relay off


@dataclass(frozen=True)
class AlertStatus:
    server: DiscordServer
    muted: bool
    open_alerts: list[str] = field(default_factory=list)
    pending: int = 0
    last_delivered_at: dt.datetime | None = None


class AlertPreferences:
    def __init__(self, *, clock: Clock, servers: DiscordServerService) -> None:
        self.clock = clock
        self.servers = servers

    async def configure(self, actor: Actor, guild_id: int, changes: AlertChanges
                        ) -> DiscordServer:
        actor.require(Action.BUILD)
        server = await self.servers.get(actor, guild_id)
        updates: dict[str, object] = {}
        if changes.channel_id is not None:
            updates["alert_channel_id"] = changes.channel_id
        if changes.min_severity is not None:
            try:
                updates["min_severity"] = Severity(changes.min_severity.lower()).value
            except ValueError:
                raise ValidationError(
                    "min_severity must be low, medium, high or critical.",
                    code="invalid_min_severity", field="min_severity") from None
        for kind in (*changes.enable, *changes.disable):
            if kind not in KINDS:
                raise ValidationError(f"Unknown alert kind {kind!r}; kinds: "
                                      f"{', '.join(KINDS)}.", code="invalid_kind",
                                      field="kind")
        if changes.enable or changes.disable:
            off = (set(server.disabled_kinds or []) - set(changes.enable)) | set(
                changes.disable)
            updates["disabled_kinds"] = sorted(off)
        if changes.reply_channel_id is not None:
            updates["reply_channel_id"] = changes.reply_channel_id
        if changes.relay_replies is False:
            updates["reply_channel_id"] = None
        if updates:
            await DiscordServer.filter(id=server.id, account_id=actor.account_id).update(
                **updates)
            log.info("account %s alert settings changed: %s", actor.account_id,
                     ", ".join(sorted(updates)))
        return await DiscordServer.get(id=server.id)

    async def mute(self, actor: Actor, guild_id: int, duration: str) -> DiscordServer:
        """Mute alerts for 30m, 2h or 1d (critical ones still come through)."""
        actor.require(Action.BUILD)
        if duration not in MUTES:
            raise ValidationError("duration must be 30m, 2h or 1d.", code="invalid_duration",
                                  field="duration")
        server = await self.servers.get(actor, guild_id)
        until = self.clock.now() + MUTES[duration]
        await DiscordServer.filter(id=server.id).update(muted_until=until)
        server.muted_until = until
        return server

    async def unmute(self, actor: Actor, guild_id: int) -> DiscordServer:
        actor.require(Action.BUILD)
        server = await self.servers.get(actor, guild_id)
        await DiscordServer.filter(id=server.id).update(muted_until=None)
        server.muted_until = None
        return server

    async def status(self, actor: Actor, guild_id: int) -> AlertStatus:
        server = await self.servers.get(actor, guild_id)
        account_id = actor.account_id
        open_keys = await AlertState.filter(account_id=account_id, is_open=True).order_by(
            "opened_at").values_list("dedup_key", flat=True)
        pending = await Notification.filter(account_id=account_id,
                                            status=NotificationStatus.PENDING).count()
        last = await Notification.filter(account_id=account_id,
                                         status=NotificationStatus.DELIVERED).order_by(
            "-delivered_at").first().values_list("delivered_at", flat=True)
        now = self.clock.now()
        muted = server.muted_until is not None and server.muted_until > now
        return AlertStatus(server, muted, [str(k) for k in open_keys], pending,
                           last if isinstance(last, dt.datetime) else None)
