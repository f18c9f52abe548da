"""/campaign: list, show, launch (behind a confirmation), pause, resume, cancel."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.campaign_progress import ProgressMessages
from bot.checks import actor_of, linked, trackly_bot
from bot.errors import handle_interaction_error
from bot.options import TextOption
from bot.render import campaigns as render
from bot.replies import reply_privately, thinking
from core.errors import TracklyError
from core.permissions import Actor

if TYPE_CHECKING:
    from bot.client import TracklyBot

NameOption = app_commands.Transform[str, TextOption("name", max_length=200)]
CONFIRM_SECONDS = 300


class Confirm(discord.ui.View):
    """Two buttons for the invoking user only. The confirm button disables the view
    before acting; core still refuses an action that no longer applies (a second launch
    from a stale copy of the message)."""

    def __init__(self, user_id: int, label: str, style: discord.ButtonStyle,
                 act: Callable[[discord.Interaction, Actor], Awaitable[None]],
                 dismissed: str) -> None:
        super().__init__(timeout=CONFIRM_SECONDS)
        self.user_id = user_id
        self.act = act
        self.dismissed = dismissed
        self.lock = asyncio.Lock()
        go = discord.ui.Button[Confirm](label=label, style=style)
        go.callback = self._go  # type: ignore[method-assign]
        no = discord.ui.Button[Confirm](label="Dismiss", style=discord.ButtonStyle.secondary)
        no.callback = self._dismiss  # type: ignore[method-assign]
        self.add_item(go)
        self.add_item(no)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.user_id:
            await reply_privately(interaction, render.not_yours())
            return False
        return True

    def _disabled(self) -> Confirm:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        return self

    async def _go(self, interaction: discord.Interaction) -> None:
        async with self.lock:  # two clicks in flight: the second waits, core refuses it
            try:
                await interaction.response.edit_message(view=self._disabled())
                # Who they are now: a link revoked since the question no longer acts.
                links = trackly_bot(interaction).services.discord_links
                await self.act(interaction, await links.actor_for(interaction.user.id))
            except Exception as exc:
                await handle_interaction_error(interaction, exc)

    async def _dismiss(self, interaction: discord.Interaction) -> None:
        self.stop()
        await interaction.response.edit_message(content=self.dismissed, embed=None,
                                                view=None)


@app_commands.guild_only()
class CampaignCog(commands.GroupCog, group_name="campaign",
                  group_description="Your campaigns: look, launch, pause, resume, cancel"):
    def __init__(self, bot: TracklyBot) -> None:
        self.bot = bot
        self.services = bot.services
        self.progress = ProgressMessages(bot)
        super().__init__()

    async def cog_unload(self) -> None:
        await self.progress.stop()

    @app_commands.command(name="list", description="Campaigns: status, next run, progress")
    @linked()
    async def list_all(self, interaction: discord.Interaction) -> None:
        await thinking(interaction)
        lines = await self.services.schedules.lines(actor_of(interaction))
        await interaction.edit_original_response(embed=render.list_embed(lines))

    @app_commands.command(name="show", description="One campaign and what a launch would do")
    @app_commands.describe(name="The campaign")
    @linked()
    async def show(self, interaction: discord.Interaction, name: NameOption) -> None:
        await thinking(interaction)
        preview = await self.services.schedules.preview(actor_of(interaction), name)
        await interaction.edit_original_response(embed=render.show_embed(preview))

    @app_commands.command(name="launch", description="Launch a campaign now (asks first)")
    @app_commands.describe(name="The campaign")
    @linked()
    async def launch(self, interaction: discord.Interaction, name: NameOption) -> None:
        await thinking(interaction)
        actor = actor_of(interaction)
        schedules = self.services.schedules
        schedule = await schedules.find(actor, name)
        await schedules.launch(actor, schedule.id, dry_run=True, now=True)  # may refuse
        preview = await schedules.preview(actor, str(schedule.id))

        async def act(click: discord.Interaction, now: Actor) -> None:
            result = await schedules.launch(now, schedule.id, now=True, wait=False)
            await click.edit_original_response(
                embed=render.launched_embed(schedule.name, result), view=None)
            channel = click.channel
            if result.run_id is not None and isinstance(channel, discord.abc.Messageable):
                self.progress.follow(now, result.run_id, channel)

        view = Confirm(interaction.user.id, "Launch", discord.ButtonStyle.danger, act,
                       render.launch_dismissed())
        await interaction.edit_original_response(embed=render.confirm_embed(preview),
                                                 view=view)

    @app_commands.command(name="pause", description="Pause a campaign")
    @app_commands.describe(name="The campaign")
    @linked()
    async def pause(self, interaction: discord.Interaction, name: NameOption) -> None:
        await self._move(interaction, name, self.services.schedules.pause)

    @app_commands.command(name="resume", description="Resume a paused campaign")
    @app_commands.describe(name="The campaign")
    @linked()
    async def resume(self, interaction: discord.Interaction, name: NameOption) -> None:
        await self._move(interaction, name, self.services.schedules.resume)

    @app_commands.command(name="cancel", description="Cancel a campaign for good (asks "
                                                     "first)")
    @app_commands.describe(name="The campaign")
    @linked()
    async def cancel(self, interaction: discord.Interaction, name: NameOption) -> None:
        await thinking(interaction)
        actor = actor_of(interaction)
        schedules = self.services.schedules
        schedule = await schedules.find(actor, name)

        async def act(click: discord.Interaction, now: Actor) -> None:
            moved = await schedules.cancel(now, schedule.id)
            await click.edit_original_response(
                content=render.moved_text(moved.name, moved.status), embed=None, view=None)

        view = Confirm(interaction.user.id, "Cancel campaign", discord.ButtonStyle.danger,
                       act, render.cancel_dismissed())
        await interaction.edit_original_response(
            content=render.cancel_confirm_text(schedule.name), view=view)

    async def _move(self, interaction: discord.Interaction, name: str,
                    move: Callable[[Actor, int], Awaitable[Any]]) -> None:
        await thinking(interaction)
        actor = actor_of(interaction)
        schedule = await self.services.schedules.find(actor, name)
        moved = await move(actor, schedule.id)
        await interaction.edit_original_response(
            content=render.moved_text(moved.name, moved.status))

    @show.autocomplete("name")
    @launch.autocomplete("name")
    @pause.autocomplete("name")
    @resume.autocomplete("name")
    @cancel.autocomplete("name")
    async def names(self, interaction: discord.Interaction, typed: str
                    ) -> list[app_commands.Choice[str]]:
        """The user's campaigns as they type; nothing for an unlinked user."""
        services = trackly_bot(interaction).services
        try:
            actor = await services.discord_links.actor_for(interaction.user.id)
            found = await services.schedules.named(actor, typed[:200])
        except TracklyError:
            return []
        return [app_commands.Choice(name=f"{n} (#{i})"[:100], value=str(i))
                for i, n in found]
