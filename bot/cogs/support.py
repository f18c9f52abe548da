"""/support: tickets in private threads of the support channel, and their transcript."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import participant, participant_of
from bot.options import TextOption
from bot.render import support as render
from bot.replies import thinking
from bot.support_desk import TicketDesk
from bot.support_threads import NewThreadButton, new_thread_offer
from core.support.models import SupportTicket
from core.support.service import TicketRef
from core.text import clean_text
from core.validation import MAX_ID

if TYPE_CHECKING:
    from bot.client import TracklyBot

log = logging.getLogger(__name__)

Priority = Literal["low", "normal", "high", "urgent"]
Category = Literal["general", "billing", "technical", "api"]
TicketNumber = app_commands.Range[int, 1, MAX_ID]
Subject = app_commands.Transform[str, TextOption("subject", max_length=200)]
Reason = app_commands.Transform[str, TextOption("reason", max_length=500)]
TICKET_HELP = "Ticket number (default: the ticket of this thread)"


def ref(interaction: discord.Interaction, number: int | None) -> TicketRef:
    return TicketRef(number=number, thread_id=None if number else interaction.channel_id)


class SupportCog(commands.GroupCog, group_name="support",
                 group_description="Ask the Trackly team for help"):
    def __init__(self, bot: TracklyBot) -> None:
        self.bot = bot
        self.support = bot.services.support
        self.desk = TicketDesk(bot)
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(NewThreadButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(NewThreadButton)

    @staticmethod
    async def answer(interaction: discord.Interaction, text: str, ticket: SupportTicket
                     ) -> None:
        """The command's answer; if the ticket's thread is gone, says so and, while the
        ticket is active, offers a new one."""
        await interaction.edit_original_response(content=render.after_change(text, ticket),
                                                 view=new_thread_offer(ticket))

    @app_commands.command(name="new", description="Open a support ticket")
    @app_commands.describe(subject="What do you need help with?")
    async def new(self, interaction: discord.Interaction,
                  subject: Subject, priority: Priority = "normal",
                  category: Category = "general") -> None:
        await thinking(interaction)
        opened = await self.support.open_ticket(
            participant_of(interaction), subject=subject, priority=priority,
            category=category, guild_id=interaction.guild_id,
            channel_id=interaction.channel_id)
        try:
            thread = await self.desk.open_thread(opened, interaction.user)
        except Exception:
            await self.support.discard(opened.ticket.id)  # nobody saw it: forget it
            raise
        await self.support.attach_thread(opened.ticket.id, thread.id)
        await interaction.edit_original_response(
            content=render.opened_reply(
                opened, thread.id,
                oncall_role_id=self.bot.services.settings.discord_oncall_role_id))

    @app_commands.command(name="list", description="Your tickets")
    async def list_tickets(self, interaction: discord.Interaction) -> None:
        await thinking(interaction)
        tickets = await self.support.list_for(participant_of(interaction))
        await interaction.edit_original_response(embed=render.list_embed(tickets))

    @app_commands.command(name="queue", description="Open tickets by priority and age (staff)")
    async def queue(self, interaction: discord.Interaction) -> None:
        await thinking(interaction)
        tickets, total = await self.support.queue(participant_of(interaction))
        await interaction.edit_original_response(embed=render.queue_embed(tickets, total))

    @app_commands.command(name="claim", description="Take a ticket (staff)")
    @app_commands.describe(ticket=TICKET_HELP)
    async def claim(self, interaction: discord.Interaction,
                    ticket: TicketNumber | None = None) -> None:
        await thinking(interaction)
        claim = await self.support.claim(participant_of(interaction), ref(interaction, ticket))
        claimed = claim.ticket
        if claim.changed:  # claiming it again is no news for the thread
            claimed = await self.desk.post(claimed, f"{interaction.user.mention} is on this "
                                           "ticket.")
        await self.answer(interaction, render.claimed_reply(claim), claimed)

    @app_commands.command(name="assign", description="Give a ticket to a teammate (staff)")
    @app_commands.describe(member="Who takes it", ticket=TICKET_HELP)
    async def assign(self, interaction: discord.Interaction, member: discord.Member,
                     ticket: TicketNumber | None = None) -> None:
        await thinking(interaction)
        assigned = await self.support.assign(participant_of(interaction),
                                             ref(interaction, ticket),
                                             participant(self.bot, member))
        assigned = await self.desk.assign(assigned, member, f"Assigned to {member.mention} by "
                                          f"{interaction.user.mention}.")
        await self.answer(interaction, f"Ticket #{assigned.number} is now {member.mention}'s.",
                          assigned)

    @app_commands.command(name="priority", description="Change a ticket's priority (staff)")
    @app_commands.describe(level="The new priority", ticket=TICKET_HELP)
    async def priority(self, interaction: discord.Interaction, level: Priority,
                       ticket: TicketNumber | None = None) -> None:
        await thinking(interaction)
        change = await self.support.set_priority(participant_of(interaction),
                                                 ref(interaction, ticket), level)
        changed = change.ticket
        if change.changed:
            oncall = (self.bot.services.settings.discord_oncall_role_id,)
            changed = await self.desk.post(changed, f"Priority set to {render.badge(changed)}"
                                           f" by {interaction.user.mention}.",
                                           ping_roles=oncall if change.escalated else ())
        await self.answer(interaction, f"Ticket #{changed.number} is {render.badge(changed)}.",
                          changed)

    @app_commands.command(name="close", description="Close a ticket with a reason")
    @app_commands.describe(reason="What solved it (shown in the thread)", ticket=TICKET_HELP)
    async def close(self, interaction: discord.Interaction,
                    reason: Reason,
                    ticket: TicketNumber | None = None) -> None:
        await thinking(interaction)
        closed = await self.support.close(participant_of(interaction),
                                          ref(interaction, ticket), reason)
        closed = await self.desk.close(closed, render.closed_notice(closed, interaction.user))
        await self.answer(interaction, render.closed_reply(closed), closed)

    @app_commands.command(name="reopen", description="Reopen a closed ticket")
    @app_commands.describe(ticket=TICKET_HELP)
    async def reopen(self, interaction: discord.Interaction,
                     ticket: TicketNumber | None = None) -> None:
        await thinking(interaction)
        reopened = await self.support.reopen(participant_of(interaction),
                                             ref(interaction, ticket))
        reopened = await self.desk.reopen(reopened,
                                          f"Ticket reopened by {interaction.user.mention}.")
        await self.answer(interaction, f"Reopened ticket #{reopened.number}.", reopened)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Mirror what people post in ticket threads into the ticket's transcript. System
        messages (a pin, someone added) carry the acting user as author but are no reply:
        they would count as a staff member's first response."""
        if message.author.bot or message.guild is None or message.is_system():
            return
        if isinstance(message.channel, (discord.TextChannel, discord.VoiceChannel)):
            return  # tickets live in threads
        await self.support.record_message(
            thread_id=message.channel.id, message_id=message.id,
            author=participant(self.bot, message.author),
            content=_transcript_text(message),
            posted_at=message.created_at)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """Mirror edits of transcript messages (raw: the message may not be cached)."""
        message = payload.message
        if message.author.bot or message.edited_at is None:
            return  # a bot's own post, or an update that is no edit (a link preview)
        await self.support.record_edit(message_id=message.id,
                                       content=_transcript_text(message),
                                       edited_at=message.edited_at)

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        """A moderator deleted a thread: a ticket that lived there keeps its transcript
        and is left without a thread (its next command offers a new one)."""
        await self.support.forget_thread(payload.thread_id)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self.support.record_deletions([payload.message_id], self.support.clock.now())

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent
                                         ) -> None:
        await self.support.record_deletions(sorted(payload.message_ids),
                                            self.support.clock.now())


def _transcript_text(message: discord.Message) -> str:
    """What was posted, recorded whatever it holds (like an SMS a provider sends us):
    cleaned of what text cannot store, never refused."""
    return clean_text(message.content + _attachment_lines(message))


def _attachment_lines(message: discord.Message) -> str:
    return "".join(f"\n[attachment] {a.url}" for a in message.attachments)
