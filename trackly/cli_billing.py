"""``trackly team``, ``trackly billing`` and ``trackly audit``: the operator's command line
for the team, invoices and the audit trail (acting as the account's system owner; the
trail records the face ``cli``)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import click

from core.errors import TracklyError
from core.permissions import Actor
from core.services import Services
from trackly.cli import ROLES, TEXT, announce, async_command, cli


async def _owner(services: Services, account_id: int) -> Actor:
    if await services.accounts.find_account(account_id) is None:
        raise TracklyError(f"No account {account_id}.")
    return Actor.system(account_id)


@cli.group()
def team() -> None:
    """Invitations, roles and removal."""


@team.command("invite")
@click.argument("email", type=TEXT)
@click.option("--account", "account_id", type=int, required=True)
@click.option("--role", type=ROLES, required=True)
@async_command
async def team_invite(services: Services, email: str, account_id: int, role: str) -> None:
    """Invite EMAIL with a role; prints the invitation token (valid 7 days)."""
    inv = await services.team.invite(await _owner(services, account_id), email, role)
    announce(f"invited {inv.email} as {role} (user {inv.access.user_id}); the token "
             "below is shown once and expires in 7 days")
    click.echo(inv.token)


@team.command("accept")
@click.argument("token", type=TEXT)
@async_command
async def team_accept(services: Services, token: str) -> None:
    """Accept an invitation; prints the new member's API key (once)."""
    joined = await services.team.accept(token, face="cli")
    announce(f"joined account {joined.account.id} as {joined.access.role}; your API key "
             "is below and will not be shown again")
    click.echo(joined.raw_key)


@team.command("resend")
@click.argument("user_id", type=int)
@click.option("--account", "account_id", type=int, required=True)
@async_command
async def team_resend(services: Services, user_id: int, account_id: int) -> None:
    """A fresh token and 7 more days for an open invitation."""
    inv = await services.team.resend(await _owner(services, account_id), user_id)
    click.echo(inv.token)


@team.command("revoke")
@click.argument("user_id", type=int)
@click.option("--account", "account_id", type=int, required=True)
@async_command
async def team_revoke(services: Services, user_id: int, account_id: int) -> None:
    """Withdraw an open invitation."""
    await services.team.revoke(await _owner(services, account_id), user_id)
    click.echo(f"invitation of user {user_id} revoked")


@team.command("role")
@click.argument("user_id", type=int)
@click.argument("role", type=ROLES)
@click.option("--account", "account_id", type=int, required=True)
@async_command
async def team_role(services: Services, user_id: int, role: str, account_id: int) -> None:
    """Change a member's role (an account keeps at least one owner)."""
    await services.team.change_role(await _owner(services, account_id), user_id, role)
    click.echo(f"user {user_id} is now {role}")


@team.command("remove")
@click.argument("user_id", type=int)
@click.option("--account", "account_id", type=int, required=True)
@async_command
async def team_remove(services: Services, user_id: int, account_id: int) -> None:
    """Remove a member (never the last owner)."""
    await services.team.remove(await _owner(services, account_id), user_id)
    click.echo(f"user {user_id} removed")


@cli.group()
def billing() -> None:
    """Invoices and payments."""


@billing.command("run")
@async_command
async def billing_run(services: Services) -> None:
    """Issue every invoice that is due (thresholds, month end); safe to re-run."""
    issued = await services.billing.run_all()
    click.echo(f"{issued} invoice(s) issued")


@billing.command("invoices")
@click.option("--account", "account_id", type=int, required=True)
@async_command
async def billing_invoices(services: Services, account_id: int) -> None:
    """List an account's invoices: id, number, status, total, period."""
    found = await services.billing.list_invoices(await _owner(services, account_id),
                                                 per_page=100)
    for i in found.items:
        click.echo(f"{i.id}\t{i.number}\t{i.status}\t{i.total}\t"
                   f"{i.period_start:%Y-%m-%d}..{i.period_end:%Y-%m-%d}")


@billing.command("mark-paid")
@click.argument("invoice_id", type=int)
@click.option("--account", "account_id", type=int, required=True)
@async_command
async def billing_mark_paid(services: Services, invoice_id: int, account_id: int) -> None:
    """Record a manual invoice as paid (ends a billing hold it caused)."""
    invoice = await services.billing.mark_paid(await _owner(services, account_id),
                                               invoice_id)
    click.echo(f"invoice {invoice.number} {invoice.status}")


@billing.command("correct")
@click.argument("amount", type=TEXT)
@click.argument("description", type=TEXT)
@click.option("--account", "account_id", type=int, required=True)
@async_command
async def billing_correct(services: Services, amount: str, description: str,
                          account_id: int) -> None:
    """A correction (negative: a credit) carried by the account's next invoice."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise TracklyError(f"{amount!r} is not an amount like -5.00.") from None
    adjustment = await services.billing.add_correction(
        await _owner(services, account_id), value, description)
    click.echo(f"correction {adjustment.id}: {adjustment.amount} on the next invoice")


@cli.group()
def audit() -> None:
    """The audit trail."""


@audit.command("list")
@click.option("--account", "account_id", type=int, required=True)
@click.option("--action", type=TEXT, default=None, help="An action or a family (team).")
@async_command
async def audit_list(services: Services, account_id: int, action: str | None) -> None:
    """The newest 100 audit events: time, actor, face, action, target, outcome."""
    found = await services.audit.list(await _owner(services, account_id), action=action,
                                      per_page=100)
    for e in found.items:
        click.echo(f"{e.occurred_at:%Y-%m-%d %H:%M:%S}\t{e.actor}\t{e.face}\t{e.action}\t"
                   f"{e.target}\t{e.outcome}")
