"""What alerts look like in a channel, and what /alerts answers."""

from __future__ import annotations

import discord

from bot.render import COLOUR, DANGER, WARNING, when
from bot.render.server import channel
from core.accounts.models import DiscordServer
from core.notifications.models import Notification, Severity
from core.notifications.preferences import AlertStatus

SEVERITY_COLOUR = {Severity.LOW: COLOUR, Severity.MEDIUM: WARNING, Severity.HIGH: DANGER,
                   Severity.CRITICAL: discord.Colour(0x8E1B1B)}
CLEARED = discord.Colour(0x2ECC71)
ICON = {Severity.LOW: "🔵", Severity.MEDIUM: "🟠", Severity.HIGH: "🔴", Severity.CRITICAL: "🚨"}


def alert_embed(note: Notification, marker: str) -> discord.Embed:
    """The posted alert. Its footer carries ``marker``, which a retry looks for."""
    severity = Severity(note.severity)
    if note.is_resolution:
        title, colour = f"✅ {note.title}", CLEARED
    else:
        title, colour = f"{ICON[severity]} {note.title}", SEVERITY_COLOUR[severity]
    embed = discord.Embed(title=title[:256], description=note.body[:4000] or None,
                          colour=colour, timestamp=note.created_at)
    embed.set_footer(text=f"{severity.value} · {note.kind} · {marker}")
    return embed


def configured_embed(server: DiscordServer, *, title: str = "Alert settings") -> discord.Embed:
    embed = discord.Embed(title=title, colour=COLOUR)
    embed.add_field(name="Channel", value=channel(server.alert_channel_id))
    embed.add_field(name="Minimum severity", value=server.min_severity)
    embed.add_field(name="Kinds off", value=", ".join(server.disabled_kinds or []) or "none")
    embed.add_field(name="Replies relayed to",
                    value=channel(server.reply_channel_id, "off"))
    return embed


def muted_text(server: DiscordServer) -> str:
    assert server.muted_until is not None
    return (f"Alerts muted until {when(server.muted_until)} ({when(server.muted_until, 'R')}). "
            "Critical alerts still come through; `/alerts unmute` ends it early.")


def unmuted_text() -> str:
    return "Alerts unmuted: new alerts are posted again."


def status_embed(status: AlertStatus) -> discord.Embed:
    server = status.server
    embed = configured_embed(server, title="Alerts")
    if status.muted and server.muted_until is not None:
        embed.add_field(name="Muted", value=f"until {when(server.muted_until)}")
    else:
        embed.add_field(name="Muted", value="no")
    embed.add_field(name="Waiting", value=str(status.pending))
    embed.add_field(name="Last posted",
                    value=when(status.last_delivered_at) if status.last_delivered_at else
                    "never")
    embed.add_field(name="Open alerts", inline=False,
                    value="\n".join(f"• `{k}`" for k in status.open_alerts[:15]) or "none")
    return embed
