"""What /campaign answers: the list, one campaign, the launch confirmation and its outcome."""

from __future__ import annotations

from decimal import Decimal

import discord

from bot.render import COLOUR, WARNING, when
from core.campaigns.service import CampaignLine, CampaignPreview, LaunchResult, RunProgress

STATUS_ICON = {"draft": "📝", "scheduled": "🕒", "sending": "📤", "paused": "⏸️",
               "completed": "✅", "cancelled": "🚫", "archived": "🗄️"}
PROGRESS = ("queued", "sent", "delivered", "failed")


def money(amount: Decimal | None) -> str:
    if amount is None:
        return "no cap"
    return f"${Decimal(amount).quantize(Decimal('0.0001')).normalize():f}"


def progress(counts: dict[str, int]) -> str:
    if not counts:
        return "no run yet"
    shown = [f"{counts.get(k, 0)} {k}" for k in PROGRESS]
    return f"{sum(counts.values())} messages: " + ", ".join(shown)


def progress_embed(p: RunProgress, *, summary: bool = False) -> discord.Embed:
    """The launched run as it advances; with ``summary``, how it ended."""
    done = summary
    state = ("finished" if p.status == "completed" else p.status) if summary else \
        "waiting for delivery reports" if p.finished else "sending"
    title = f"{'✅' if done else '📤'} {p.schedule_name}: {state}"
    embed = discord.Embed(title=title[:256], colour=COLOUR)
    total = sum(p.counts.values())
    embed.description = (f"{p.recipients:,} recipients; {total:,} messages queued so far"
                         if not done else f"{p.recipients:,} recipients, {total:,} messages")
    embed.add_field(name="Waiting", value=f"{p.count('queued', 'sending'):,}")
    embed.add_field(name="Sent", value=f"{p.count('sent'):,}")
    embed.add_field(name="Delivered", value=f"{p.count('delivered'):,}")
    failed = p.count("failed", "undelivered", "dropped", "orphaned")
    embed.add_field(name="Failed", value=f"{failed:,}")
    embed.add_field(name="Clicks", value=f"{p.clicks:,}")
    embed.add_field(name="Revenue", value=f"${p.revenue.quantize(Decimal('0.01')):,}")
    embed.set_footer(text=f"run {p.run_id}" + (" · summary" if done else
                                               " · updated as the run advances"))
    return embed


def list_embed(lines: list[CampaignLine]) -> discord.Embed:
    embed = discord.Embed(title="Campaigns", colour=COLOUR)
    if not lines:
        embed.description = "No campaigns yet."
    for line in lines:
        s = line.schedule
        nxt = when(s.next_run_at) if s.next_run_at else "-"
        embed.add_field(name=f"{STATUS_ICON.get(s.status, '')} {s.name} (#{s.id})"[:256],
                        value=f"{s.status} · next run {nxt}\n{progress(line.counts)}",
                        inline=False)
    return embed


def skipped(skips: dict[str, int]) -> str:
    return ", ".join(f"{n} {reason}" for reason, n in sorted(skips.items()) if n) or "none"


def dry_run_fields(embed: discord.Embed, preview: CampaignPreview) -> None:
    e = preview.estimate
    embed.add_field(name="Recipients now", value=str(e.recipients))
    embed.add_field(name="Segments", value=str(e.segments))
    embed.add_field(name="Estimated cost", value=money(e.cost))
    embed.add_field(name="Spend cap", value=money(preview.spend_cap))
    embed.add_field(name="Skipped", value=skipped(e.skipped))


def show_embed(preview: CampaignPreview) -> discord.Embed:
    s = preview.view.schedule
    embed = discord.Embed(title=f"{s.name} (#{s.id})"[:256], colour=COLOUR,
                          description=f"{STATUS_ICON.get(s.status, '')} {s.status}")
    embed.add_field(name="Next run", value=when(s.next_run_at) if s.next_run_at else "-")
    embed.add_field(name="Audiences", value=", ".join(preview.audiences)[:1024] or "none")
    variants = [f"{i + 1}. {(b.body or f'creative #{b.creative_id}')[:150]} "
                f"({b.percent_audience}%)" for i, b in enumerate(preview.view.blasts)]
    embed.add_field(name="Variants", value="\n".join(variants)[:1024] or "none",
                    inline=False)
    dry_run_fields(embed, preview)
    runs = preview.view.runs
    if runs:
        embed.add_field(name="Latest run", inline=False, value=f"{runs[-1].status} · "
                        + progress(preview.view.run_counts.get(runs[-1].id, {})))
    return embed


def confirm_embed(preview: CampaignPreview) -> discord.Embed:
    s = preview.view.schedule
    embed = discord.Embed(title=f"Launch {s.name} (#{s.id}) now?"[:256], colour=WARNING,
                          description="This sends to every recipient below. Only you can "
                                      "press Launch.")
    dry_run_fields(embed, preview)
    return embed


def launched_embed(name: str, result: LaunchResult) -> discord.Embed:
    embed = discord.Embed(title=f"🚀 {name} launched"[:256], colour=COLOUR,
                          description=f"Status: {result.status}")
    embed.add_field(name="Recipients", value=str(result.recipients))
    embed.add_field(name="Segments", value=str(result.segments))
    embed.add_field(name="Estimated cost", value=money(result.estimated_cost))
    if result.run_id is not None:
        embed.add_field(name="Run", value=f"#{result.run_id}")
    return embed


def cancel_confirm_text(name: str) -> str:
    return (f"Cancel **{name}** for good? Messages not sent yet are dropped; this cannot "
            "be undone.")


def moved_text(name: str, status: str) -> str:
    return f"{STATUS_ICON.get(status, '')} **{name}** is now {status}."


def launch_dismissed() -> str:
    return "Launch dismissed: nothing was sent."


def cancel_dismissed() -> str:
    return "Kept: the campaign was not cancelled."


def not_yours() -> str:
    return "Only the person who asked can press these buttons."

