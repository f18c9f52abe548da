"""The Discord side of support tickets: private threads in the support channel.

Kept apart from the cog so each command stays parse, core call, render."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.errors import UserFacingError
from bot.render import support as render
from core.support.models import SupportTicket
from core.support.service import OpenedTicket

if TYPE_CHECKING:
    from bot.client import TracklyBot

log = logging.getLogger(__name__)

ARCHIVE_AFTER_MINUTES = 10080  # a week: tickets may wait over a weekend


class TicketDesk:
    def __init__(self, bot: TracklyBot) -> None:
        self.bot = bot
        self.settings = bot.services.settings

    async def support_channel(self) -> discord.TextChannel:
        channel_id = self.settings.discord_support_channel_id
        if channel_id is None:
            raise UserFacingError("Support is not set up yet (no support channel is "
                                  "configured). Please contact us by email.")
        channel = self.bot.get_channel(channel_id)
        if channel is None:
            channel = await self.bot.fetch_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise UserFacingError("The configured support channel is not a text channel.")
        return channel

    async def open_thread(self, opened: OpenedTicket, opener: discord.abc.User
                          ) -> discord.Thread:
        """A private thread with the opener, pinging the support role (and on-call)."""
        channel = await self.support_channel()
        ticket = opened.ticket
        thread = await channel.create_thread(
            name=render.thread_name(ticket), type=discord.ChannelType.private_thread,
            invitable=False, auto_archive_duration=ARCHIVE_AFTER_MINUTES,
            reason=f"Support ticket #{ticket.number}")
        await thread.add_user(opener)
        content, embed, allowed = render.opening_message(
            opened, opener, support_role_id=self.settings.discord_support_role_id,
            oncall_role_id=self.settings.discord_oncall_role_id)
        await thread.send(content, embed=embed, allowed_mentions=allowed)
        return thread

    async def post(self, ticket: SupportTicket, content: str, *,
                   ping_roles: tuple[int | None, ...] = (),
                   ping_users: tuple[discord.abc.Snowflake, ...] = ()) -> None:
        """A notice in the ticket's thread. Only the roles and users named here are pinged;
        other mentions in ``content`` render without notifying anyone."""
        if ticket.thread_id is None:
            return
        roles = [discord.Object(r) for r in ping_roles if r]
        if roles:
            content = " ".join(f"<@&{r.id}>" for r in roles) + " " + content
        allowed = discord.AllowedMentions(everyone=False, users=list(ping_users),
                                          roles=roles)
        await self.bot.get_partial_messageable(ticket.thread_id).send(
            content, allowed_mentions=allowed)

    async def add_member(self, ticket: SupportTicket, user: discord.abc.Snowflake) -> None:
        """Discord refuses new members in an archived thread, and an active ticket's thread
        archives itself after a week without messages: wake it first."""
        if ticket.thread_id is not None:
            thread = await self._thread(ticket.thread_id)
            if thread.archived:
                thread = await thread.edit(archived=False,
                                           reason=f"Ticket #{ticket.number} assigned")
            await thread.add_user(user)

    async def archive(self, ticket: SupportTicket) -> None:
        """Closed tickets are archived and locked: the transcript stays, the chat stops."""
        if ticket.thread_id is not None:
            thread = await self._thread(ticket.thread_id)
            await thread.edit(archived=True, locked=True,
                              reason=f"Ticket #{ticket.number} closed")

    async def unarchive(self, ticket: SupportTicket) -> None:
        if ticket.thread_id is not None:
            thread = await self._thread(ticket.thread_id)
            await thread.edit(archived=False, locked=False,
                              reason=f"Ticket #{ticket.number} reopened")

    async def _thread(self, thread_id: int) -> discord.Thread:
        thread = self.bot.get_channel(thread_id)
        if thread is None:  # archived threads leave the cache
            thread = await self.bot.fetch_channel(thread_id)
        if not isinstance(thread, discord.Thread):
            raise UserFacingError("This ticket's thread no longer exists.")
        return thread
