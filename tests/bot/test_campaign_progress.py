"""Issue 16, must show 2: a launch from Discord posts a progress message in the channel
and the bot edits it as the run advances on the simulator, to a summary at the end;
a deleted progress message stops the edits and the run goes on."""

from __future__ import annotations

import pytest

from core.messaging.models import MessageSent
from core.permissions import Role
from tests.bot.test_campaigns import CONTACTS, campaign, fields
from tests.discord_fake.fixtures import link_user
from trackly.bootstrap import build_executor


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"discord_progress_seconds": 0.05,
                                       "simulator_latency_ms": 0})


def progress_messages(discord_fake) -> list[dict]:
    return [m for m in discord_fake.channel_messages(discord_fake.GENERAL_CHANNEL_ID)
            if any("run " in (e.get("footer") or {}).get("text", "")
                   for e in m.get("embeds", []))]


async def test_a_launch_from_discord_updates_its_progress_message_to_completion(
        bot, services, discord_fake, clock):
    tenant, _ = await campaign(services, clock)
    clock.advance(hours=7)  # 11:00 in California: outside the recipients' quiet hours
    olivia = discord_fake.add_user("olivia")
    await link_user(services, olivia, tenant.keys[Role.OWNER])

    ask = await discord_fake.command(olivia, "campaign launch", {"name": "Spring blast"})
    await discord_fake.click(olivia, ask.message, "Launch")
    await discord_fake.wait_until(lambda: progress_messages(discord_fake),
                                  what="the progress message")
    [posted] = progress_messages(discord_fake)
    first = posted["embeds"][0]
    assert first["title"] == "📤 Spring blast: sending"
    assert first["footer"]["text"].endswith("updated as the run advances")
    assert f"{CONTACTS} recipients" in first["description"]

    # the scheduler's tick queues the run; the executor sends to the simulator, whose
    # receipts come back through the same path as a provider's
    await services.schedules.resume_runs()
    await services.schedules.dispatch_due()
    await build_executor(services).drain()

    def summary() -> dict | None:
        [message] = progress_messages(discord_fake)
        embed = message["embeds"][0]
        return embed if embed["footer"]["text"].endswith("summary") else None

    try:
        final = await discord_fake.wait_until(summary, within=15, what="the summary")
    except AssertionError:
        from core.campaigns.models import ScheduleRun
        runs = await ScheduleRun.all().values("status", "recipients_total")
        statuses = await MessageSent.all().values_list("status", flat=True)
        raise AssertionError(f"{progress_messages(discord_fake)[-1]['embeds'][0]} "
                             f"runs {runs} messages {statuses}") from None
    assert final["title"] == "✅ Spring blast: finished"
    got = fields(final)
    delivered = await MessageSent.filter(account_id=tenant.account.id,
                                         status="delivered").count()
    statuses = await MessageSent.all().values_list("status", "status_detail")
    assert delivered == CONTACTS, (final, statuses)
    assert (got["Waiting"], got["Delivered"], got["Failed"]) == ("0", str(CONTACTS), "0")
    assert (got["Clicks"], got["Revenue"]) == ("0", "$0.00")
    assert len(progress_messages(discord_fake)) == 1  # edited, never posted again


async def test_a_deleted_progress_message_stops_the_edits_and_the_run_goes_on(
        bot, services, discord_fake, clock):
    tenant, _ = await campaign(services, clock)
    clock.advance(hours=7)
    olivia = discord_fake.add_user("olivia")
    await link_user(services, olivia, tenant.keys[Role.OWNER])
    ask = await discord_fake.command(olivia, "campaign launch", {"name": "Spring blast"})
    await discord_fake.click(olivia, ask.message, "Launch")
    await discord_fake.wait_until(lambda: progress_messages(discord_fake),
                                  what="the progress message")
    await discord_fake.delete_messages(*progress_messages(discord_fake))
    cog = bot.get_cog("CampaignCog")
    assert cog is not None
    await services.schedules.resume_runs()
    await build_executor(services).drain()
    await discord_fake.wait_until(lambda: not cog.progress._tasks, within=10,
                                  what="the progress task to give up")
    assert progress_messages(discord_fake) == []  # nothing posted again
    assert await MessageSent.filter(account_id=tenant.account.id).count() == CONTACTS
