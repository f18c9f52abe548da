"""The Discord side of support tickets: private threads in the support channel.

Kept apart from the cog so each command stays parse, core call, render. A moderator may
delete a ticket's thread at any time: every step in a thread that Discord answers with
Unknown Channel leaves the ticket without a thread (in core, as in Discord) and returns it
so, and the cog says so instead of failing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord

from bot.errors import UserFacingError
from bot.render import support as render
from core.errors import Conflict
from core.support.models import SupportTicket
from core.support.service import OpenedTicket

if TYPE_CHECKING:
    from bot.client import TracklyBot

log = logging.getLogger(__name__)

ARCHIVE_AFTER_MINUTES = 10080  # a week: tickets may wait over a weekend
UNKNOWN_CHANNEL = 10003  # Discord's error code for a channel or thread that does not exist

Step = Callable[[int], Awaitable[object]]  # one request about the thread with this id


class TicketDesk:
    def __init__(self, bot: TracklyBot) -> None:
        self.bot = bot
        self.settings = bot.services.settings
        self.support = bot.services.support

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

    async def _create_thread(self, ticket: SupportTicket, reason: str) -> discord.Thread:
        channel = await self.support_channel()
        return await channel.create_thread(
            name=render.thread_name(ticket), type=discord.ChannelType.private_thread,
            invitable=False, auto_archive_duration=ARCHIVE_AFTER_MINUTES,  # type: ignore[arg-type]
            reason=reason)

    async def open_thread(self, opened: OpenedTicket, opener: discord.abc.User
                          ) -> discord.Thread:
        """A private thread with the opener, pinging the support role (and on-call)."""
        ticket = opened.ticket
        thread = await self._create_thread(ticket, f"Support ticket #{ticket.number}")
        await thread.add_user(opener)
        content, embed, allowed = render.opening_message(
            opened, opener, support_role_id=self.settings.discord_support_role_id,
            oncall_role_id=self.settings.discord_oncall_role_id)
        await thread.send(content, embed=embed, allowed_mentions=allowed)
        return thread

    async def open_new_thread(self, ticket: SupportTicket, by: discord.abc.User
                              ) -> SupportTicket:
        """A new thread for an active ticket whose thread was deleted (core has allowed it):
        with its opener and ``by``, pinging its assignee, or the support role while it is
        unclaimed. Returns the ticket with its new thread."""
        thread = await self._create_thread(
            ticket, f"Support ticket #{ticket.number}: its thread was deleted")
        try:
            ticket = await self.support.attach_thread(ticket.id, thread.id)
        except Conflict:  # someone else's new thread got there first: keep theirs only
            await thread.delete(reason=f"Ticket #{ticket.number} already has a new thread")
            raise
        for user_id in dict.fromkeys((ticket.opener_discord_id, by.id)):
            await thread.add_user(discord.Object(user_id))
        content, embed, allowed = render.carried_on_message(
            ticket, support_role_id=self.settings.discord_support_role_id)
        await thread.send(content, embed=embed, allowed_mentions=allowed)
        return ticket

    # -- steps in an existing thread: each returns the ticket as it is afterwards ---------

    async def post(self, ticket: SupportTicket, content: str, *,
                   ping_roles: tuple[int | None, ...] = (),
                   ping_users: tuple[discord.abc.Snowflake, ...] = ()) -> SupportTicket:
        """A notice in the ticket's thread. Only the roles and users named here are pinged;
        other mentions in ``content`` render without notifying anyone."""
        return await self._in_thread(ticket, self._poster(content, ping_roles, ping_users))

    async def assign(self, ticket: SupportTicket, member: discord.Member, notice: str
                     ) -> SupportTicket:
        """Add the assignee to the thread, then say so there (pinging only them)."""
        return await self._in_thread(ticket, self._adder(ticket, member),
                                     self._poster(notice, (), (member,)))

    async def close(self, ticket: SupportTicket, notice: str) -> SupportTicket:
        """Closed tickets are archived and locked: the transcript stays, the chat stops."""
        return await self._in_thread(ticket, self._poster(notice, (), ()), self._archiver(
            archived=True, reason=f"Ticket #{ticket.number} closed"))

    async def reopen(self, ticket: SupportTicket, notice: str) -> SupportTicket:
        return await self._in_thread(ticket, self._archiver(
            archived=False, reason=f"Ticket #{ticket.number} reopened"),
            self._poster(notice, (), ()))

    async def _in_thread(self, ticket: SupportTicket, *steps: Step) -> SupportTicket:
        """Run ``steps`` in the ticket's thread. A thread that Discord no longer has is
        forgotten, and the ticket comes back without one (thread_id None)."""
        thread_id = ticket.thread_id
        if thread_id is None:  # deleted earlier (THREAD_DELETE, or a step like this one)
            return ticket
        try:
            for step in steps:
                await step(thread_id)
        except discord.NotFound as exc:
            if exc.code != UNKNOWN_CHANNEL:
                raise
            log.info("the thread %s of support ticket #%s was deleted in Discord",
                     thread_id, ticket.number)
            return (await self.support.forget_thread(thread_id)
                    or await self.support.get_ticket(ticket.number))
        return ticket

    def _poster(self, content: str, ping_roles: tuple[int | None, ...],
                ping_users: tuple[discord.abc.Snowflake, ...]) -> Step:
        roles = [discord.Object(r) for r in ping_roles if r]
        if roles:
            content = " ".join(f"<@&{r.id}>" for r in roles) + " " + content
        allowed = discord.AllowedMentions(everyone=False, users=list(ping_users),
                                          roles=roles)

        async def post(thread_id: int) -> None:
            await self.bot.get_partial_messageable(thread_id).send(
                content, allowed_mentions=allowed)
        return post

    def _adder(self, ticket: SupportTicket, user: discord.abc.Snowflake) -> Step:
        async def add(thread_id: int) -> None:
            """Discord refuses new members in an archived thread, and an active ticket's
            thread archives itself after a week without messages: wake it first."""
            thread = await self._thread(thread_id)
            if thread.archived:
                thread = await thread.edit(archived=False,
                                           reason=f"Ticket #{ticket.number} assigned")
            await thread.add_user(user)
        return add

    def _archiver(self, *, archived: bool, reason: str) -> Step:
        async def archive(thread_id: int) -> None:
            thread = await self._thread(thread_id)
            await thread.edit(archived=archived, locked=archived, reason=reason)
        return archive

    async def _thread(self, thread_id: int) -> discord.Thread:
        thread = self.bot.get_channel(thread_id)
        if thread is None:  # archived threads leave the cache
            thread = await self.bot.fetch_channel(thread_id)
        if not isinstance(thread, discord.Thread):
            raise UserFacingError("This ticket's thread no longer exists.")
        return thread
