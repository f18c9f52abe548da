"""A local fake Discord (gateway + REST) that the real discord.py client connects to.

Use it through the pytest fixtures in ``tests.discord_fake.fixtures`` (``discord_fake``,
``bot``); see that module's docstring for how a bot test reads."""

from tests.discord_fake.interactions import FakeInteraction, message_text
from tests.discord_fake.payloads import FakeUser
from tests.discord_fake.server import FakeDiscord, Recorded

__all__ = ["FakeDiscord", "FakeInteraction", "FakeUser", "Recorded", "message_text"]
