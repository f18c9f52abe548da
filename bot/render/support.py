"""What the support desk shows: the ticket thread's opening, replies, the queue."""

from __future__ import annotations

import discord

from bot.render import COLOUR, DANGER, WARNING, duration, when
from core.support.models import SupportTicket, TicketPriority, TicketStatus
from core.support.service import (
    Availability,
    Claim,
    OpenedTicket,
    first_response_time,
    resolution_time,
)

PRIORITY_BADGE = {TicketPriority.URGENT: "🔴 urgent", TicketPriority.HIGH: "🟠 high",
                  TicketPriority.NORMAL: "🔵 normal", TicketPriority.LOW: "⚪ low"}


def badge(ticket: SupportTicket) -> str:
    return PRIORITY_BADGE[TicketPriority(ticket.priority)]


def thread_name(ticket: SupportTicket) -> str:
    return f"#{ticket.number} {ticket.subject}"[:100]


def availability_line(availability: Availability, *, urgent: bool = False) -> str:
    if availability.open_now:
        return "Support is open now; someone will be with you shortly."
    if urgent:  # on-call is paged at any hour: the opening time is not the answer time
        return (f"Support is closed right now (we open {availability.opens_label}, "
                f"{when(availability.opens_at, 'F')}), but the on-call team answers "
                "urgent tickets at any hour.")
    return (f"Support is closed right now; we open {availability.opens_label} "
            f"({when(availability.opens_at, 'F')}, {when(availability.opens_at, 'R')}), "
            "and that is when to expect an answer.")


def opening_message(opened: OpenedTicket, opener: discord.abc.User, *,
                    support_role_id: int | None, oncall_role_id: int | None
                    ) -> tuple[str, discord.Embed, discord.AllowedMentions]:
    """The thread's first message: pings the opener, the support role and, for urgent
    tickets, the on-call role (at any hour). A ping in a private thread adds them to it."""
    ticket = opened.ticket
    paging = opened.page_oncall and oncall_role_id is not None  # nobody to page without
    roles = [r for r in (support_role_id, oncall_role_id if paging else None) if r]
    mentions = " ".join([opener.mention, *(f"<@&{r}>" for r in roles)])
    content = f"{mentions}\n**Ticket #{ticket.number}**: {ticket.subject}"
    if paging:
        content += "\nUrgent ticket: paging on-call."
    embed = discord.Embed(title=f"Ticket #{ticket.number}", description=ticket.subject,
                          colour=DANGER if opened.page_oncall else COLOUR)
    embed.add_field(name="Priority", value=badge(ticket))
    embed.add_field(name="Category", value=str(ticket.category))
    embed.add_field(name="Opened", value=when(ticket.opened_at, "F"))
    embed.add_field(name="Hours", value=availability_line(opened.availability, urgent=paging),
                    inline=False)
    embed.set_footer(text="Everything posted here is kept as the ticket's transcript.")
    allowed = discord.AllowedMentions(everyone=False, users=[opener],
                                      roles=[discord.Object(r) for r in roles])
    return content, embed, allowed


def opened_reply(opened: OpenedTicket, thread_id: int, *, oncall_role_id: int | None
                 ) -> str:
    paging = opened.page_oncall and oncall_role_id is not None
    lines = [f"Ticket **#{opened.ticket.number}** is open: <#{thread_id}>.",
             availability_line(opened.availability, urgent=paging)]
    if paging:
        lines.append("It is urgent, so the on-call team has been paged.")
    return "\n".join(lines)


THREAD_GONE_ACTIVE = ("Its thread was deleted in Discord, so nobody there was told. Open a "
                      "new thread to carry on the conversation.")
THREAD_GONE_CLOSED = ("Its thread was deleted in Discord, so there was nothing to archive; "
                      "the transcript is kept.")


def after_change(text: str, ticket: SupportTicket) -> str:
    """A command's answer, and what became of the notice when the thread is gone."""
    if ticket.thread_id is not None:
        return text
    closed = ticket.status == TicketStatus.CLOSED
    return f"{text}\n{THREAD_GONE_CLOSED if closed else THREAD_GONE_ACTIVE}"


def carried_on_message(ticket: SupportTicket, *, support_role_id: int | None
                       ) -> tuple[str, discord.Embed, discord.AllowedMentions]:
    """The first message of a ticket's new thread: pings the opener and the assignee, or
    the support role while nobody has claimed it (a ping in a private thread adds them)."""
    users = [discord.Object(i) for i in dict.fromkeys(
        (ticket.opener_discord_id, ticket.assignee_discord_id)) if i]
    roles = [] if ticket.assignee_discord_id or not support_role_id else [
        discord.Object(support_role_id)]
    mentions = " ".join([*(f"<@{u.id}>" for u in users), *(f"<@&{r.id}>" for r in roles)])
    content = (f"{mentions}\n**Ticket #{ticket.number}**: {ticket.subject}\n"
               "The ticket's previous thread was deleted; it carries on here.")
    embed = discord.Embed(title=f"Ticket #{ticket.number}", description=ticket.subject,
                          colour=COLOUR)
    embed.add_field(name="Priority", value=badge(ticket))
    embed.add_field(name="Category", value=str(ticket.category))
    embed.add_field(name="Opened", value=when(ticket.opened_at, "F"))
    embed.set_footer(text="Everything posted here is kept as the ticket's transcript; what "
                          "was posted in the deleted thread is kept too.")
    allowed = discord.AllowedMentions(everyone=False, users=users, roles=roles)
    return content, embed, allowed


def carried_on_reply(ticket: SupportTicket) -> str:
    return f"Ticket #{ticket.number} continues in <#{ticket.thread_id}>."


def claimed_reply(claim: Claim) -> str:
    if not claim.changed:
        return f"Ticket #{claim.ticket.number} is already yours."
    return f"You claimed ticket #{claim.ticket.number}."


def closed_notice(ticket: SupportTicket, by: discord.abc.User) -> str:
    return (f"Ticket closed by {by.mention}: {ticket.close_reason}\n"
            f"Resolved in {duration(resolution_time(ticket))}; first response in "
            f"{duration(first_response_time(ticket))}. Use `/support reopen` if needed.")


def closed_reply(ticket: SupportTicket) -> str:
    return (f"Closed ticket #{ticket.number} after {duration(resolution_time(ticket))} "
            f"(first response in {duration(first_response_time(ticket))}).")


def _line(ticket: SupportTicket) -> str:
    owner = f"<@{ticket.assignee_discord_id}>" if ticket.assignee_discord_id else "unclaimed"
    where = f"<#{ticket.thread_id}>" if ticket.thread_id else "no thread"
    return (f"**#{ticket.number}** {badge(ticket)} · {ticket.subject[:60]} · opened "
            f"{when(ticket.opened_at, 'R')} · {owner} · {where}")


def queue_embed(tickets: list[SupportTicket], total: int) -> discord.Embed:
    if not tickets:
        return discord.Embed(title="Support queue", description="No open tickets. 🎉",
                             colour=COLOUR)
    embed = discord.Embed(title=f"Support queue ({total} open)",
                          description="\n".join(_line(t) for t in tickets),
                          colour=WARNING if any(t.priority == TicketPriority.URGENT
                                                for t in tickets) else COLOUR)
    if total > len(tickets):
        embed.set_footer(text=f"Showing the {len(tickets)} most pressing of {total}.")
    return embed


def list_embed(tickets: list[SupportTicket]) -> discord.Embed:
    if not tickets:
        return discord.Embed(title="Your tickets", colour=COLOUR,
                             description="You have no tickets. Open one with `/support new`.")
    lines = []
    for t in tickets:
        state = str(t.status)
        if t.status == TicketStatus.CLOSED and t.closed_at is not None:
            state = f"closed {when(t.closed_at, 'R')}"
        where = f" · <#{t.thread_id}>" if t.thread_id else ""
        lines.append(f"**#{t.number}** {t.subject[:60]} · {state}{where}")
    return discord.Embed(title="Your tickets", description="\n".join(lines), colour=COLOUR)
