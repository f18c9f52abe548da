"""Who is asking: the linked account behind a Discord user, and the support role."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands

from bot.errors import CheckCrashed, CoreCheckFailure
from core.errors import TracklyError
from core.permissions import Actor
from core.support.service import Participant

if TYPE_CHECKING:
    from bot.client import TracklyBot

T = TypeVar("T")
ACTOR = "trackly_actor"


def trackly_bot(interaction: discord.Interaction) -> TracklyBot:
    return interaction.client  # type: ignore[return-value]


def linked() -> Callable[[T], T]:
    """Linked-only command: resolves the user's link to an Actor (with the role of the key
    they linked), or tells them how to link. Read it with :func:`actor_of`."""

    async def predicate(interaction: discord.Interaction) -> bool:
        links = trackly_bot(interaction).services.discord_links
        try:
            interaction.extras[ACTOR] = await links.actor_for(interaction.user.id)
        except TracklyError as exc:
            raise CoreCheckFailure(exc) from exc
        except Exception as exc:
            raise CheckCrashed(exc) from exc
        return True

    return app_commands.check(predicate)


def actor_of(interaction: discord.Interaction) -> Actor:
    actor: Actor = interaction.extras[ACTOR]
    return actor


# Team members who act for a team-owned application; read-only members only look at it.
ACTING_TEAM_ROLES = (discord.TeamMemberRole.admin, discord.TeamMemberRole.developer)


def application_owners(app: discord.AppInfo) -> set[int]:
    """Who owns the bot when DISCORD_OWNER_IDS is unset: the application's owner, or for a
    team-owned application the team's owner and its accepted admins and developers (the
    owner is named by the team, not by a member role)."""
    team = app.team
    if team is None:
        return {app.owner.id}
    owners = {m.id for m in team.members if m.role in ACTING_TEAM_ROLES
              and m.membership_state == discord.TeamMembershipState.accepted}
    if team.owner_id is not None:
        owners.add(team.owner_id)
    return owners


def is_staff(bot: TracklyBot, user: discord.abc.User | Any) -> bool:
    """Support staff hold the configured support role in the support guild (or own the
    bot). Role ids come from the member data Discord sends with each event."""
    if user.id in (bot.owner_ids or ()):
        return True
    settings = bot.services.settings
    role_id = settings.discord_support_role_id
    if role_id is None or not isinstance(user, discord.Member):
        return False
    if settings.discord_guild_id and user.guild.id != settings.discord_guild_id:
        return False
    return any(role.id == role_id for role in user.roles)


def participant(bot: TracklyBot, user: discord.abc.User | Any) -> Participant:
    return Participant(discord_id=user.id, name=str(user.name), is_staff=is_staff(bot, user))


def participant_of(interaction: discord.Interaction) -> Participant:
    return participant(trackly_bot(interaction), interaction.user)
