from __future__ import annotations

from tests.discord_fake.fixtures import bot, discord_fake, settings  # noqa: F401
