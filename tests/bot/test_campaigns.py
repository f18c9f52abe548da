"""/campaign through the fake Discord (issue 16, item 1): list and show with what a launch
would do, names autocompleted; launch behind a confirmation only its invoker can press,
launched once however often it is clicked; a viewer's launch and a launch over the spend
cap refused with the reason; pause, resume, cancel (confirmed); an unlinked user told how
to link."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

from core.campaigns.models import Schedule, ScheduleRun
from core.permissions import Role
from tests.billing.helpers import at, start_cycle, use
from tests.contacts.helpers import make_list, subscribe
from tests.discord_fake.fixtures import link_user
from tests.factories import make_tenant

CONTACTS = 5


def fields(embed: dict) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


def buttons(message: dict) -> dict[str, bool]:
    """Label -> disabled, for every button on the message."""
    return {c["label"]: bool(c.get("disabled")) for row in message.get("components") or []
            for c in row["components"]}


async def campaign(services, clock, name: str = "Spring blast"):
    clock.set(at(2026, 3, 10, 11))
    tenant = await make_tenant(services)
    sending_list = await make_list(services, tenant)
    for i in range(CONTACTS):
        await subscribe(services, tenant, f"+1415555{i:04d}")
    aud = await services.audiences.create(tenant.owner, name="Everyone",
                                          list_ids=[sending_list.id], filter=None)
    view = await services.schedules.create(tenant.owner, {
        "name": name, "list_id": sending_list.id, "audience_ids": [aud.id],
        "send_type": "blast", "recurrence": "one_time", "send_date": "2026-03-10",
        "send_time": "12:00", "timezone": "UTC",
        "blasts": [{"message": "Spring deals today", "percent_audience": 100}]})
    schedule = view.schedule
    schedule.audience_id = aud.id  # for a second campaign of the same test
    return tenant, schedule


async def test_list_show_and_autocomplete_tell_what_a_launch_would_do(
        bot, services, discord_fake, clock):
    tenant, schedule = await campaign(services, clock)
    summer = await services.schedules.create(tenant.owner, {
        "name": "Summer teaser", "list_id": schedule.sending_list_id,
        "audience_ids": [schedule.audience_id], "send_type": "blast",
        "recurrence": "one_time", "send_date": "2026-06-01", "send_time": "09:00",
        "timezone": "UTC", "blasts": [{"message": "Soon", "percent_audience": 100}]})
    await services.schedules.launch(tenant.owner, summer.schedule.id)  # scheduled ahead
    olivia = discord_fake.add_user("olivia")
    await link_user(services, olivia, tenant.keys[Role.VIEWER])  # reading needs no more

    listed = await discord_fake.command(olivia, "campaign list")
    assert listed.ephemeral
    shown = fields(listed.embeds[0])
    assert list(shown) == [f"🕒 Summer teaser (#{summer.schedule.id})",
                           f"📝 Spring blast (#{schedule.id})"]
    june = int(dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC).timestamp())
    assert shown[f"🕒 Summer teaser (#{summer.schedule.id})"] == (
        f"scheduled · next run <t:{june}:f>\nno run yet")
    assert shown[f"📝 Spring blast (#{schedule.id})"] == (
        "draft · next run -\nno run yet")

    choices = await discord_fake.autocomplete(olivia, "campaign show", {"name": "spr"},
                                              "name")
    assert choices == [{"name": f"Spring blast (#{schedule.id})", "value": str(schedule.id)}]

    show = await discord_fake.command(olivia, "campaign show", {"name": str(schedule.id)})
    embed = show.embeds[0]
    assert embed["title"] == f"Spring blast (#{schedule.id})"
    got = fields(embed)
    assert got["Audiences"] == "Everyone"
    assert got["Variants"] == "1. Spring deals today (100%)"
    assert (got["Recipients now"], got["Segments"]) == (str(CONTACTS), str(CONTACTS))
    assert got["Spend cap"] == "no cap" and got["Skipped"] == "none"
    by_name = await discord_fake.command(olivia, "campaign show", {"name": "spring BLAST"})
    assert fields(by_name.embeds[0]) == got

    missing = await discord_fake.command(olivia, "campaign show", {"name": "Nope"})
    assert missing.content == "No campaign named 'Nope'."


async def test_launch_asks_first_and_a_double_click_launches_once(
        bot, services, discord_fake, clock):
    tenant, schedule = await campaign(services, clock)
    olivia, mallory = discord_fake.add_user("olivia"), discord_fake.add_user("mallory")
    await link_user(services, olivia, tenant.keys[Role.OWNER])
    await link_user(services, mallory, tenant.keys[Role.OWNER])

    ask = await discord_fake.command(olivia, "campaign launch", {"name": "Spring blast"})
    assert ask.ephemeral
    shown = fields(ask.embeds[0])
    assert ask.embeds[0]["title"] == f"Launch Spring blast (#{schedule.id}) now?"
    assert (shown["Recipients now"], shown["Segments"]) == (str(CONTACTS), str(CONTACTS))
    assert buttons(ask.message) == {"Launch": False, "Dismiss": False}
    assert (await Schedule.get(id=schedule.id)).status == "draft"  # the dry run changed nothing

    stale = copy.deepcopy(ask.message)  # what a second, quick click still sees
    other = await discord_fake.click(mallory, stale, "Launch")
    assert other.ephemeral and other.content == (
        "Only the person who asked can press these buttons.")
    assert not await ScheduleRun.exists(schedule_id=schedule.id)

    await discord_fake.click(olivia, ask.message, "Launch")
    await discord_fake.wait_until(lambda: "launched" in ask.embeds[0]["title"],
                                  what="the launch's outcome")
    assert ask.embeds[0]["title"] == "🚀 Spring blast launched"
    assert fields(ask.embeds[0])["Recipients"] == str(CONTACTS)
    assert ask.message["components"] == []

    again = await discord_fake.click(olivia, stale, "Launch")
    await discord_fake.wait_until(lambda: again.followups, what="the refusal")
    assert "only a draft or scheduled one can be launched" in again.followups[-1]["content"]
    assert await ScheduleRun.filter(schedule_id=schedule.id).count() == 1
    assert (await Schedule.get(id=schedule.id)).status == "sending"


async def test_a_viewer_cannot_launch_and_an_unlinked_user_is_told_to_link(
        bot, services, discord_fake, clock):
    tenant, schedule = await campaign(services, clock)
    vic, stranger = discord_fake.add_user("vic"), discord_fake.add_user("stranger")
    await link_user(services, vic, tenant.keys[Role.VIEWER])

    refused = await discord_fake.command(vic, "campaign launch", {"name": "Spring blast"})
    assert refused.ephemeral and not refused.message.get("components")
    assert refused.content == "Your role (viewer) does not allow this (send)."
    assert not await ScheduleRun.exists(schedule_id=schedule.id)
    assert (await Schedule.get(id=schedule.id)).status == "draft"
    assert (await discord_fake.command(vic, "campaign pause", {"name": "Spring blast"})
            ).content == refused.content

    unlinked = await discord_fake.command(stranger, "campaign list")
    assert unlinked.ephemeral and "/sms link <api_key>" in unlinked.content
    assert await discord_fake.autocomplete(stranger, "campaign show", {"name": ""},
                                           "name") == []


async def test_a_launch_over_the_spend_cap_is_refused_with_its_numbers(
        bot, services, discord_fake, clock):
    tenant, schedule = await campaign(services, clock)
    await start_cycle(tenant.account.id, at(2026, 3, 1, 0))
    await use(tenant.account.id, 500, at(2026, 3, 5))  # no free allowance left
    await services.billing.set_spend_cap(tenant.owner, Decimal("0.01"))
    olivia = discord_fake.add_user("olivia")
    await link_user(services, olivia, tenant.keys[Role.OWNER])

    ask = await discord_fake.command(olivia, "campaign launch", {"name": "Spring blast"})
    assert fields(ask.embeds[0])["Spend cap"] == "$0.01"
    click = await discord_fake.click(olivia, ask.message, "Launch")
    await discord_fake.wait_until(lambda: click.followups, what="the refusal")
    refusal = click.followups[-1]["content"]
    assert refusal == ("This launch would cost about $0.02 and take the month to $0.02, "
                       "over the spend cap of $0.01."), refusal  # 5 x $0.0045
    assert click.followups[-1]["flags"] & 64
    assert not await ScheduleRun.exists(schedule_id=schedule.id)
    assert (await Schedule.get(id=schedule.id)).status == "draft"


async def test_pause_resume_and_a_confirmed_cancel(bot, services, discord_fake, clock):
    tenant, schedule = await campaign(services, clock)
    await services.schedules.launch(tenant.owner, schedule.id)  # scheduled for 12:00
    olivia = discord_fake.add_user("olivia")
    await link_user(services, olivia, tenant.keys[Role.OWNER])

    paused = await discord_fake.command(olivia, "campaign pause", {"name": "Spring blast"})
    assert paused.content == "⏸️ **Spring blast** is now paused."
    resumed = await discord_fake.command(olivia, "campaign resume", {"name": "Spring blast"})
    assert resumed.content == "🕒 **Spring blast** is now scheduled."

    ask = await discord_fake.command(olivia, "campaign cancel", {"name": "Spring blast"})
    assert ask.content.startswith("Cancel **Spring blast** for good?")
    await discord_fake.click(olivia, ask.message, "Dismiss")
    assert ask.content == "Kept: the campaign was not cancelled."
    assert (await Schedule.get(id=schedule.id)).status == "scheduled"

    ask = await discord_fake.command(olivia, "campaign cancel", {"name": "Spring blast"})
    await discord_fake.click(olivia, ask.message, "Cancel campaign")
    await discord_fake.wait_until(lambda: "cancelled" in ask.content, what="the outcome")
    assert ask.content == "🚫 **Spring blast** is now cancelled."
    assert (await Schedule.get(id=schedule.id)).status == "cancelled"


async def test_a_launch_confirmed_after_unlinking_is_refused(bot, services, discord_fake,
                                                              clock):
    tenant, schedule = await campaign(services, clock)
    olivia = discord_fake.add_user("olivia")
    await link_user(services, olivia, tenant.keys[Role.OWNER])
    ask = await discord_fake.command(olivia, "campaign launch", {"name": "Spring blast"})
    await services.discord_links.unlink(olivia.id)  # e.g. from another channel

    click = await discord_fake.click(olivia, ask.message, "Launch")
    await discord_fake.wait_until(lambda: click.followups, what="the refusal")
    assert "/sms link <api_key>" in click.followups[-1]["content"]
    assert not await ScheduleRun.exists(schedule_id=schedule.id)
    assert (await Schedule.get(id=schedule.id)).status == "draft"
