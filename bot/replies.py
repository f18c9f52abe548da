"""Answering interactions privately, whatever state the response is in."""

from __future__ import annotations

import logging

import discord

log = logging.getLogger(__name__)


async def thinking(interaction: discord.Interaction) -> None:
    """Acknowledge at once, privately: the answer replaces "thinking..." when ready."""
    await interaction.response.defer(ephemeral=True, thinking=True)


async def reply_privately(interaction: discord.Interaction, text: str) -> None:
    """Answer only the invoking user: edit the "thinking..." placeholder, follow up, or
    respond, depending on how far the interaction got."""
    try:
        if interaction.response.type == discord.InteractionResponseType.deferred_channel_message:
            await interaction.edit_original_response(content=text, embed=None, view=None)
        elif interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException as exc:  # the interaction expired or Discord is down
        log.warning("could not deliver a reply to discord user %s: %s",
                    interaction.user.id, exc.status)
