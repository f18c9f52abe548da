"""The offer of a new thread for an active ticket whose thread a moderator deleted.

A dynamic button: its custom id carries the ticket number, so it works after a restart
with nothing kept in memory."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.checks import participant_of, trackly_bot
from bot.errors import handle_interaction_error
from bot.render import support as render
from bot.support_desk import TicketDesk
from core.support.models import SupportTicket, TicketStatus
from core.support.service import TicketRef

Button = discord.ui.Button[discord.ui.View]


class NewThreadButton(discord.ui.DynamicItem[Button],
                      template=r"support:new-thread:(?P<number>[0-9]{1,18})"):
    def __init__(self, number: int) -> None:
        super().__init__(discord.ui.Button(label="Open a new thread",
                                           style=discord.ButtonStyle.primary,
                                           custom_id=f"support:new-thread:{number}"))
        self.number = number

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> NewThreadButton:
        return cls(int(match["number"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            await interaction.response.defer()  # the thread takes a few requests
            bot = trackly_bot(interaction)
            ticket = await bot.services.support.prepare_new_thread(
                participant_of(interaction), TicketRef(number=self.number))
            ticket = await TicketDesk(bot).open_new_thread(ticket, interaction.user)
            await interaction.edit_original_response(
                content=render.carried_on_reply(ticket), view=None)
        except Exception as exc:
            await handle_interaction_error(interaction, exc)


def new_thread_offer(ticket: SupportTicket) -> discord.ui.View | None:
    """A button under the reply when an active ticket has no thread; None otherwise."""
    if ticket.thread_id is not None or ticket.status == TicketStatus.CLOSED:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(NewThreadButton(ticket.number))
    return view
