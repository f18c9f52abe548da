"""What /server answers."""

from __future__ import annotations

import discord

from bot.render import COLOUR, when
from core.accounts.discord_servers import ServerLinkResult
from core.accounts.models import DiscordServer


def channel(channel_id: int | None, unset: str = "not set") -> str:
    return f"<#{channel_id}>" if channel_id else unset


def server_embed(server: DiscordServer, *, title: str) -> discord.Embed:
    embed = discord.Embed(title=title, colour=COLOUR,
                          description=f"This server belongs to **{server.account.name}**.")
    embed.add_field(name="Alerts", value=channel(server.alert_channel_id))
    embed.add_field(name="Reports", value=channel(server.report_channel_id))
    embed.add_field(name="Replies", value=channel(server.reply_channel_id, "not relayed"))
    embed.add_field(name="Daily summary", value="off" if server.summary_hour is None else
                    f"{server.summary_hour:02d}:00 ({server.account.default_timezone})")
    embed.add_field(name="Linked", value=f"by <@{server.linked_by_discord_id}> "
                                         f"{when(server.linked_at)}", inline=False)
    return embed


def linked_embed(result: ServerLinkResult) -> discord.Embed:
    embed = server_embed(result.server, title="Server linked")
    if result.moved_from_guild_id:
        embed.set_footer(text=f"Moved from server {result.moved_from_guild_id}: alerts and "
                              "reports now come here.")
    return embed


def unlinked_text(account_name: str) -> str:
    return (f"This server is no longer linked to **{account_name}**: its alerts and reports "
            "wait until a server is linked again.")


def summary_text(server: DiscordServer) -> str:
    if server.summary_hour is None:
        return "Daily summary off."
    return (f"Daily summary every day at {server.summary_hour:02d}:00 "
            f"({server.account.default_timezone}) in {channel(server.report_channel_id)}.")
