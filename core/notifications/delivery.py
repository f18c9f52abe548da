"""Delivering notifications to Discord exactly once: claim, post, mark.

The bot claims a batch of pending notifications of accounts that have linked a server
(a conditional UPDATE: a claim token and a lease), in severity order. Core decides what
happens to each: suppressed (muted, under the minimum severity, a kind turned off, a
duplicate of another in the batch) or posted to a channel. The bot posts with the
notification's marker and marks it delivered with the message id.

A crash between post and mark leaves the row claimed: once the lease runs out it is
claimed again with ``attempts`` above one, and the bot first looks for the marker in the
channel's recent messages, marking it delivered without a second post if it is there."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from core.accounts.models import DiscordServer
from core.clock import Clock
from core.notifications.models import Notification, NotificationStatus, Severity
from core.sql import Params, execute, ts

log = logging.getLogger(__name__)

RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}
# Kinds that relay what recipients wrote: to the reply channel when one is set, else not.
RELAYED_KINDS = frozenset({"inbound"})
MARKER = "trackly-alert:{}"
# Older than this when first claimed (a server linked long after, a bot away for days):
# set aside as stale rather than flooding the channel with news that is no longer news.
STALE_AFTER = dt.timedelta(days=3)


def marker(notification_id: int) -> str:
    """The text a posted notification carries, so a retry can find it in the channel."""
    return MARKER.format(notification_id)


@dataclass(frozen=True)
class Delivery:
    """A claimed notification the bot must post to ``channel_id``."""

    notification: Notification
    channel_id: int
    token: str
    retry: bool  # claimed before: look for the marker in the channel before posting

    @property
    def marker(self) -> str:
        return marker(self.notification.id)


def decide(note: Notification, server: DiscordServer, now: dt.datetime
           ) -> tuple[int | None, str | None]:
    """Where a notification goes, or why it does not: (channel, None) or (None, reason)."""
    if note.attempts <= 1 and now - note.created_at > STALE_AFTER:
        return None, "stale"
    if note.kind in RELAYED_KINDS:
        return (server.reply_channel_id, None) if server.reply_channel_id else (
            None, "replies_off")
    if note.kind in (server.disabled_kinds or []):
        return None, "kind_off"
    severity = Severity(note.severity)
    if not note.is_resolution and RANK[severity] < RANK[Severity(server.min_severity)]:
        return None, "below_minimum"
    muted = server.muted_until is not None and server.muted_until > note.created_at
    if muted and severity != Severity.CRITICAL:  # spam complaints always get through
        return None, "muted"
    if server.alert_channel_id is None:
        return None, "no_channel"
    return server.alert_channel_id, None


def _repeats(notes: list[Notification]) -> set[int]:
    """Notifications that say again what the one before them on the same condition said
    (raised twice with no clearing between): the first is enough. A raise, clear, raise
    is three things that happened, and all three are told."""
    last: dict[tuple[int, str], bool] = {}
    repeats: set[int] = set()
    for note in sorted(notes, key=lambda n: (n.created_at, n.id)):
        if not note.dedup_key:
            continue
        key = (note.account_id, note.dedup_key)
        if last.get(key) == note.is_resolution:
            repeats.add(note.id)
        last[key] = note.is_resolution
    return repeats


class AlertDelivery:
    def __init__(self, *, clock: Clock, lease: dt.timedelta = dt.timedelta(seconds=60),
                 batch: int = 20) -> None:
        self.clock = clock
        self.lease = lease
        self.batch = batch

    async def claim(self) -> list[Delivery]:
        """Claim pending notifications of linked accounts, most severe first, and settle
        those that are not to be posted. Returns what the bot must post, in order."""
        now = self.clock.now()
        token = secrets.token_hex(16)
        p = Params()
        order = ("CASE n.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 "
                 "WHEN 'medium' THEN 2 ELSE 3 END, n.created_at, n.id")
        lock = " FOR UPDATE OF n SKIP LOCKED" if p.pg else ""
        claimed = await execute(
            f"UPDATE notification SET claim_token = {p(token)}, claimed_at = {p(ts(now))}, "
            "attempts = attempts + 1 WHERE id IN (SELECT n.id FROM notification n "
            "JOIN discord_server s ON s.account_id = n.account_id "
            f"WHERE n.status = 'pending' AND (n.claim_token IS NULL OR n.claimed_at < "
            f"{p(ts(now - self.lease))}) ORDER BY {order} LIMIT {int(self.batch)}{lock})", p)
        if not claimed:
            return []
        notes = await Notification.filter(claim_token=token)
        servers = {s.account_id: s for s in await DiscordServer.filter(
            account_id__in={n.account_id for n in notes})}
        notes.sort(key=lambda n: (-RANK[Severity(n.severity)], n.created_at, n.id))
        repeats = _repeats(notes)
        out: list[Delivery] = []
        for note in notes:
            channel, reason = decide(note, servers[note.account_id], now)
            if note.id in repeats:
                channel, reason = None, "duplicate"
            if channel is None:
                await self._settle(note.id, token, NotificationStatus.SUPPRESSED, reason)
                continue
            out.append(Delivery(note, channel, token, retry=note.attempts > 1))
        return out

    async def mark_delivered(self, delivery: Delivery, message_id: int) -> bool:
        """Record the post; False if the claim was lost (another claimer took over)."""
        moved = await Notification.filter(
            id=delivery.notification.id, claim_token=delivery.token,
            status=NotificationStatus.PENDING).update(
            status=NotificationStatus.DELIVERED, delivered_at=self.clock.now(),
            channel_id=delivery.channel_id, discord_message_id=message_id,
            claim_token=None, outcome="posted")
        return bool(moved)

    async def mark_undeliverable(self, delivery: Delivery, reason: str) -> None:
        """The channel is gone or the bot may not post there: say so and stop trying."""
        await self._settle(delivery.notification.id, delivery.token,
                           NotificationStatus.SUPPRESSED, reason[:32])

    async def release(self, delivery: Delivery) -> None:
        """Give the claim back (a transient failure): it is tried again next round."""
        await Notification.filter(id=delivery.notification.id, claim_token=delivery.token,
                                  status=NotificationStatus.PENDING).update(
            claim_token=None, claimed_at=None)

    async def _settle(self, note_id: int, token: str, status: NotificationStatus,
                      reason: str | None) -> None:
        await Notification.filter(id=note_id, claim_token=token,
                                  status=NotificationStatus.PENDING).update(
            status=status, outcome=reason, claim_token=None, delivered_at=self.clock.now())
