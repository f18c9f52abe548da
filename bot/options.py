"""Free-text slash-command options, read through the one text rule (core.text).

Annotate a text option ``app_commands.Transform[str, TextOption("subject", max_length=200)]``
instead of ``str``: Discord is told the length bounds, and a value that cannot be stored
(a NUL, an unpaired surrogate, a control character) is refused before the command runs,
with a private answer naming the option (bot.errors words it like any core error).
tests/bot/test_options.py fails on a command with a plain ``str`` option."""

from __future__ import annotations

import discord
from discord import AppCommandOptionType, app_commands

from core.errors import TracklyError
from core.text import check_text


class OptionRefused(app_commands.AppCommandError):
    """A core error met while reading an option; ``original`` carries its sentence."""

    def __init__(self, original: TracklyError) -> None:
        super().__init__(original.message)
        self.original = original


class TextOption(app_commands.Transformer):
    def __init__(self, name: str, *, min_length: int = 1, max_length: int = 100) -> None:
        self.name = name  # the option's name, for the answer: "subject contains a NUL..."
        self.min_length = min_length
        self.max_length = max_length

    @property
    def type(self) -> AppCommandOptionType:
        return AppCommandOptionType.string

    @property
    def min_value(self) -> int:
        return self.min_length

    @property
    def max_value(self) -> int:
        return self.max_length

    async def transform(self, interaction: discord.Interaction, value: str, /) -> str:
        try:
            return check_text(value, field=self.name)
        except TracklyError as exc:
            raise OptionRefused(exc) from None
