"""What /sms answers."""

from __future__ import annotations

import datetime as dt

import discord

from bot.render import COLOUR, WARNING, duration, milliseconds, when
from core.accounts.discord_links import LinkResult
from core.accounts.models import DiscordLink
from core.system.models import Heartbeat
from core.system.service import DatabaseHealth

# The scheduler beats every 15 s; four missed beats mean it is not running.
SCHEDULER_STALE_AFTER = dt.timedelta(seconds=60)


def database_line(db: DatabaseHealth) -> str:
    if db.ok:
        return f"ok ({db.dialect}, {db.latency_ms:.1f} ms)"
    return f"unreachable ({db.error})"


def pong(latency: float, db: DatabaseHealth) -> str:
    return f"Pong! Gateway {milliseconds(latency)} · database {database_line(db)}."


def scheduler_line(beat: Heartbeat | None, now: dt.datetime) -> tuple[bool, str]:
    if beat is None:
        return False, "not running (never seen)"
    age = now - beat.beat_at
    if age > SCHEDULER_STALE_AFTER:
        return False, f"stale: last seen {duration(age)} ago ({when(beat.beat_at)})"
    return True, f"running (last beat {duration(age)} ago)"


def status_embed(*, db: DatabaseHealth, latency: float, connected: bool,
                 scheduler: Heartbeat | None, now: dt.datetime, version: str) -> discord.Embed:
    scheduler_ok, scheduler_text = scheduler_line(scheduler, now)
    healthy = db.ok and connected and scheduler_ok
    embed = discord.Embed(title="Trackly status",
                          description="All systems go." if healthy else "Something needs "
                          "attention.", colour=COLOUR if healthy else WARNING)
    embed.add_field(name="Database", value=database_line(db), inline=False)
    gateway = f"connected, {milliseconds(latency)}" if connected else "disconnected"
    embed.add_field(name="Gateway", value=gateway, inline=False)
    embed.add_field(name="Scheduler", value=scheduler_text, inline=False)
    embed.add_field(name="Version", value=version, inline=False)
    return embed


def linked_embed(result: LinkResult) -> discord.Embed:
    link = result.link
    key = link.api_key
    key_text = f"{key.name or 'unnamed key'} (`{key.prefix}…`)" if key else "-"
    embed = discord.Embed(
        title="Relinked" if result.relinked else "Linked",
        description=f"You now act in **{result.account.name}** as **{link.role}**.",
        colour=COLOUR)
    embed.add_field(name="Key", value=key_text)
    embed.set_footer(text="Only you can see this. Never paste an API key into a normal "
                          "message; if you ever did, revoke that key.")
    return embed


def whoami_embed(link: DiscordLink) -> discord.Embed:
    key = link.api_key
    embed = discord.Embed(title="Who am I", colour=COLOUR)
    embed.add_field(name="Account", value=f"{link.account.name} (#{link.account_id})")
    embed.add_field(name="Role", value=str(link.role))
    embed.add_field(name="Linked since", value=when(link.linked_at, "F"), inline=False)
    if key is not None:
        embed.add_field(name="Key", value=f"{key.name or 'unnamed key'} (`{key.prefix}…`)")
    return embed


def leaked_key_notice(user: discord.abc.User, *, deleted: bool) -> str:
    gone = "so I deleted it" if deleted else "and I could not delete it: please do"
    return (f"{user.mention} that message contained a Trackly API key, {gone}. Everyone "
            "in this channel may have seen it: **revoke that key now** and create a new one. "
            "To link Discord, use `/sms link`: slash-command options stay private.")


def unlinked_text(account_name: str) -> str:
    return f"Unlinked from **{account_name}**. Link again any time with `/sms link`."

