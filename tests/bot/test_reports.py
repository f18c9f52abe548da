"""/report through the fake Discord: the key numbers of a hand-counted week
(tests/bot/report_data.py) and the chart attached, by day and by creative."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import pathlib

import pytest
from PIL import Image

from core.accounts.models import DiscordServer
from core.permissions import Role
from tests.bot.report_data import seed_week
from tests.discord_fake.fixtures import link_user
from tests.factories import make_tenant

# Set TRACKLY_CHART_DIR to keep the PNGs the bot sent (docs/report-chart.png came so).
KEEP = os.environ.get("TRACKLY_CHART_DIR")
QUIET = 0.3  # seconds of poster rounds (every 0.02 s) in which nothing may be posted


def fields(reply) -> dict[str, str]:
    return {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}


def chart_sent(discord_fake, name: str) -> Image.Image:
    """The PNG the bot uploaded with its last answer, opened."""
    [upload] = [f for r in discord_fake.find_requests("PATCH", "/messages/@original")
                for f in r.files][-1:]
    assert upload["filename"] == "report.png"
    return opened(upload["data"], name)


def opened(png: bytes, name: str) -> Image.Image:
    if KEEP:
        pathlib.Path(KEEP, name).write_bytes(png)
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


async def test_report_by_day_shows_the_weeks_numbers_and_a_chart(bot, discord_fake,
                                                                 services, clock):
    tenant = await make_tenant(services)
    await seed_week(services, clock, tenant)
    vic = discord_fake.add_user("vic")
    await link_user(services, vic, tenant.keys[Role.VIEWER])  # reading is for everyone

    reply = await discord_fake.command(vic, "report", {"period": "7d", "group": "day"},
                                       within=30)

    assert reply.ephemeral
    embed = reply.embeds[0]
    assert embed["title"] == "Report · 7d: 2026-02-25 to 2026-03-03 (America/New_York)"
    assert embed["description"] == "By day; 7 group(s)."
    assert fields(reply) == {
        "Sends": "49", "Delivered": "42 (85.7%)", "Failed": "7 (14.3%)",
        "Clicks": "14 unique (33.3%); 0 bots", "Conversions": "7 (50.0%)",
        "Revenue": "$280.00", "Cost": "$0.22", "Profit": "$279.78", "EPC": "$20.00",
        "Opt-outs": "0 (0.0%)"}
    assert embed["image"]["url"] == "attachment://report.png"
    assert [a["filename"] for a in reply.message["attachments"]] == ["report.png"]
    image = chart_sent(discord_fake, "report-7d-by-day.png")
    assert (image.format, image.size) == ("PNG", (1000, 750))
    assert len(image.getcolors(maxcolors=1 << 16) or []) > 50  # drawn, not blank


async def test_report_by_creative_ranks_the_top_creatives(bot, discord_fake, services,
                                                          clock):
    tenant = await make_tenant(services)
    await seed_week(services, clock, tenant)
    olivia = discord_fake.add_user("olivia")
    await link_user(services, olivia, tenant.keys[Role.MEMBER])

    reply = await discord_fake.command(olivia, "report", {"period": "30d",
                                                          "group": "creative"}, within=30)

    assert fields(reply)["Top by revenue (creative)"] == (
        "1. Solar · $280.00 · 26 sends\n2. Roof · $0.00 · 23 sends")
    assert reply.embeds[0]["title"].startswith("Report · 30d: 2026-02-02 to 2026-03-03")
    assert chart_sent(discord_fake, "report-30d-by-creative.png").size == (1000, 750)


async def test_yesterday_and_a_custom_period_count_local_days(bot, discord_fake, services,
                                                              clock):
    tenant = await make_tenant(services)
    await seed_week(services, clock, tenant)
    olivia = discord_fake.add_user("olivia")
    await link_user(services, olivia, tenant.keys[Role.OWNER])

    yesterday = await discord_fake.command(olivia, "report", {"period": "yesterday"},
                                           within=30)
    assert yesterday.embeds[0]["title"] == (
        "Report · yesterday: 2026-03-02 (America/New_York)")
    assert fields(yesterday)["Sends"] == "9" and fields(yesterday)["Revenue"] == "$60.00"

    custom = await discord_fake.command(olivia, "report", {
        "period": "custom", "since": "2026-02-25", "until": "2026-02-26"}, within=30)
    assert fields(custom)["Sends"] == "9" and fields(custom)["Revenue"] == "$30.00"


async def test_a_bad_period_is_explained_and_nothing_is_drawn(bot, discord_fake, services):
    tenant = await make_tenant(services)
    olivia = discord_fake.add_user("olivia")
    await link_user(services, olivia, tenant.keys[Role.OWNER])

    missing = await discord_fake.command(olivia, "report", {"period": "custom"})
    assert missing.text == "A custom period needs since (YYYY-MM-DD)."
    bad = await discord_fake.command(olivia, "report", {
        "period": "custom", "since": "2026-13-01", "until": "2026-03-01"})
    assert bad.text == "since must be a date like 2026-03-01."
    backwards = await discord_fake.command(olivia, "report", {
        "period": "custom", "since": "2026-03-02", "until": "2026-03-01"})
    assert backwards.text == "since must be on or before until."
    assert not any(r.files for r in discord_fake.find_requests("PATCH"))


async def test_an_unlinked_user_is_told_to_link(bot, discord_fake):
    reply = await discord_fake.command(discord_fake.add_user("stranger"), "report")
    assert reply.text.startswith("You are not linked to a Trackly account.")


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"discord_alert_poll_seconds": 0.02})


async def test_the_daily_summary_is_posted_once_at_the_accounts_hour(bot, discord_fake,
                                                                     services, clock):
    tenant = await make_tenant(services)
    await seed_week(services, clock, tenant)
    clock.set(dt.datetime(2026, 3, 4, 13, 30, tzinfo=dt.UTC))  # 08:30 in New York
    olivia = discord_fake.add_user("olivia")
    await link_user(services, olivia, tenant.keys[Role.OWNER])
    reports = discord_fake.add_text_channel("reports")
    await discord_fake.command(olivia, "server link", {"reports": reports})

    reply = await discord_fake.command(olivia, "server summary", {"hour": 9})
    assert reply.content == (f"Daily summary every day at 09:00 (America/New_York) in "
                             f"<#{reports}>.")
    await asyncio.sleep(QUIET)
    assert discord_fake.bot_messages(reports) == []  # 08:30: not yet

    clock.set(dt.datetime(2026, 3, 4, 14, 0, tzinfo=dt.UTC))  # 09:00
    [posted] = await discord_fake.wait_until(lambda: discord_fake.bot_messages(reports),
                                             within=30, what="the summary")
    embed = posted["embeds"][0]
    assert embed["title"] == "Daily summary · yesterday: 2026-03-03 (America/New_York)"
    numbers = {f["name"]: f["value"] for f in embed["fields"]}
    assert (numbers["Sends"], numbers["Revenue"], numbers["Conversions"]) == (
        "10", "$70.00", "1 (50.0%)")
    assert [a["filename"] for a in posted["attachments"]] == ["report.png"]
    [upload] = discord_fake.find_requests("POST", f"/channels/{reports}/messages")
    image = opened(upload.files[0]["data"], "daily-summary.png")
    assert (image.format, image.size) == ("PNG", (1000, 750))

    clock.advance(hours=5)
    await asyncio.sleep(QUIET)
    assert len(discord_fake.bot_messages(reports)) == 1  # once a day
    server = await DiscordServer.get(account_id=tenant.account.id)
    assert server.summary_sent_on == dt.date(2026, 3, 4)

    off = await discord_fake.command(olivia, "server summary")
    assert off.content == "Daily summary off."
    clock.advance(days=1)
    await asyncio.sleep(QUIET)
    assert len(discord_fake.bot_messages(reports)) == 1


def test_a_chart_with_names_the_font_cannot_draw_still_renders():
    """A creative named in a script DejaVu lacks: boxes, not a failed /report."""
    from bot.render.charts import chart_data, render_png

    rows = [{"key": 1, "name": "夏のセール 🌞", "sends": 10, "revenue": "5.00",
             "click_rate": "0.1000", "conversion_rate": "0.5000"}]
    png = render_png(chart_data("Trackly · 7d", "creative", rows))
    assert Image.open(io.BytesIO(png)).size == (1000, 750)
