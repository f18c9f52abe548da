"""The one place app-command errors become replies.

Core errors are the user's to fix: a short private reply with core's sentence, and what to
do next where that names a command (bot.render.errors).
Anything else is ours: logged with its traceback and a reference id the user can quote."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.render.errors import explain
from bot.replies import reply_privately
from core.errors import TracklyError
from core.ids import reference_id

log = logging.getLogger(__name__)


class UserFacingError(app_commands.AppCommandError):
    """A problem the bot itself explains (e.g. support is not set up on this server)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CoreCheckFailure(app_commands.CheckFailure):
    """A core error raised inside a check (checks may only raise AppCommandErrors)."""

    def __init__(self, original: TracklyError) -> None:
        super().__init__(original.message)
        self.original = original


class CheckCrashed(app_commands.AppCommandError):
    """A check failed on our side (e.g. the database is down). discord.py hands only
    AppCommandErrors to the error handler: anything else would leave the user with
    "the application did not respond" and no reference to quote."""

    def __init__(self, original: Exception) -> None:
        super().__init__(f"a command check failed: {type(original).__name__}")
        self.original = original


def user_message(error: BaseException) -> str | None:
    """The sentence to show for an expected error, or None if the error is a bug."""
    cause = getattr(error, "original", error)
    if isinstance(cause, TracklyError):
        return explain(cause)
    if isinstance(error, UserFacingError):
        return error.message
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server channel."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: try again in {error.retry_after:.0f} seconds."
    if isinstance(error, app_commands.TransformerError):
        return "One of the options is not valid; check it and try again."
    if isinstance(error, app_commands.CheckFailure):
        return "You cannot use this command here."
    return None


async def handle_app_command_error(interaction: discord.Interaction,
                                   error: app_commands.AppCommandError) -> None:
    await handle_interaction_error(interaction, error)


async def handle_interaction_error(interaction: discord.Interaction,
                                   error: BaseException) -> None:
    """Slash commands reach this through the tree; buttons call it themselves (discord.py
    only logs what a component callback raises, and the user would see nothing)."""
    text = user_message(error)
    if text is None:
        ref = reference_id()
        cause = getattr(error, "original", error)
        if interaction.command is not None:
            what = f"command /{interaction.command.qualified_name}"
        else:
            data: dict[str, Any] = dict(interaction.data or {})
            what = f"component {data.get('custom_id', '?')}"
        log.error("%s failed for discord user %s (ref %s)", what,
                  interaction.user.id, ref, exc_info=(type(cause), cause, cause.__traceback__))
        text = ("Something went wrong on our side. If it keeps happening, contact support "
                f"and quote reference `{ref}`.")
    await reply_privately(interaction, text)
