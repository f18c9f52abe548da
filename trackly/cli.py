"""The ``trackly`` command line."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from core.accounts.models import AccountStatus
from core.db import database, migrate, pending_migrations
from core.errors import TracklyError
from core.pagination import Page
from core.permissions import Actor, Role
from core.services import Services
from core.settings import Settings, SettingsError, check_data_dir, load_settings, make_data_dir
from core.text import text_problem
from trackly.bootstrap import build_services, configure_logging

T = TypeVar("T")
ROLES = click.Choice([r.value for r in Role], case_sensitive=False)


class _Text(click.ParamType):
    """A text argument, checked by the one text rule (core.text): bytes that are not
    UTF-8 reach Python as unpaired surrogates, and control characters have no place in
    a name or a key."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        problem = text_problem(str(value))
        if problem is not None:
            if "surrogate" in problem:  # how undecodable bytes in argv reach Python
                problem = "is not valid UTF-8 text"
            self.fail(f"{problem}.", param, ctx)
        return str(value)


TEXT = _Text()


def fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def announce(line: str) -> None:
    click.echo(line, err=True)


def _connection_error(exc: BaseException) -> str | None:
    """A one-line reason when the database cannot be reached, else None."""
    for err in _chain(exc):
        name = type(err).__name__
        if name in _CONNECT_ERRORS or isinstance(err, OSError) or (
            name == "OperationalError" and "unable to open" in str(err)
        ):
            return f"TRACKLY_DATABASE_URL: cannot connect to the database ({_last_words(exc)})"
    return None


_CONNECT_ERRORS = {"InvalidCatalogNameError", "InvalidPasswordError", "DBConnectionError",
                   "InvalidAuthorizationSpecificationError", "CannotConnectNowError"}


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _last_words(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


class Context:
    def __init__(self) -> None:
        self.verbose = False  # `trackly run` logs at TRACKLY_LOG_LEVEL; one-shot commands quietly
        self.overrides: dict[str, Any] = {}  # command-line options over the environment
        self._settings: Settings | None = None
        self._services: Services | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(**self.overrides)
            except SettingsError as exc:
                fail(str(exc), 2)
            assert self._settings is not None
            configure_logging(self._settings.log_level if self.verbose else "WARNING",
                              json_lines=self._settings.log_format == "json")
        return self._settings

    @property
    def services(self) -> Services:
        if self._services is None:
            try:
                check_data_dir(self.settings)
                self._services = build_services(self.settings)
                make_data_dir(self.settings)
            except SettingsError as exc:
                fail(str(exc), 2)
        assert self._services is not None
        return self._services

    def run(self, work: Callable[[Services], Awaitable[T]]) -> T:
        """Run one async operation with the database open (migrated first on SQLite)."""
        services = self.services

        async def main() -> T:
            url = services.settings.database_url
            if services.settings.is_sqlite:
                await migrate(url)
            elif pending := await pending_migrations(url):
                raise SettingsError(f"TRACKLY_DATABASE_URL: {len(pending)} migration(s) "
                                    "pending; run `trackly migrate` first")
            async with database(url):
                return await work(services)

        return guarded(lambda: asyncio.run(main()))


def guarded(call: Callable[[], T]) -> T:
    try:
        return call()
    except SettingsError as exc:
        fail(str(exc), 2)
    except TracklyError as exc:
        fail(exc.message + (f" ({exc.detail})" if exc.detail else ""))
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as exc:
        reason = _connection_error(exc)
        if reason is None:
            raise
        fail(reason, 2)
    raise AssertionError("unreachable")


pass_ctx = click.make_pass_decorator(Context, ensure=True)


async def every_page(fetch: Callable[[int], Awaitable[tuple[Sequence[T], int]]]
                     ) -> AsyncIterator[T]:
    """Every item of a paged listing: ``fetch(page)`` answers (items, total)."""
    page, shown = 1, 0
    while True:
        items, total = await fetch(page)
        for item in items:
            yield item
        shown += len(items)
        if not items or shown >= total:
            return
        page += 1


async def _pair(found: Awaitable[Page[T]]) -> tuple[Sequence[T], int]:
    page = await found
    return page.items, page.total


def async_command(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    """A click command whose body is ``async def body(services, **options)``."""

    @functools.wraps(fn)
    def wrapper(ctx: Context, **options: Any) -> Any:
        return ctx.run(lambda services: fn(services, **options))

    return pass_ctx(wrapper)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Trackly: SMS marketing for affiliate marketers, run from Discord."""


@cli.command()
@click.option("--host", default=None, help="Interface to listen on (TRACKLY_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (TRACKLY_PORT).")
@click.option("--role", "roles", type=click.Choice(["all", "web", "worker", "scheduler", "bot"]),
              multiple=True, default=["all"], show_default=True,
              help="The parts this process runs; repeat for several (PostgreSQL). 'all' runs "
                   "everything in one process.")
@pass_ctx
def run(ctx: Context, host: str | None, port: int | None, roles: tuple[str, ...]) -> None:
    """Start the platform: web server, scheduler, send workers and the Discord bot."""
    from trackly.runner import ProcessRole, serve

    ctx.verbose = True
    if port is not None and not 0 <= port <= 65535:
        fail("--port: must be between 0 and 65535", 2)
    # Into the settings, not beside them: the public URL (short links, webhook addresses)
    # follows where we listen unless TRACKLY_PUBLIC_URL says otherwise.
    ctx.overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = ctx.settings
    services = ctx.services
    guarded(lambda: asyncio.run(serve(
        services, role=[ProcessRole(r) for r in roles], host=settings.host, port=settings.port,
        announce=announce)))


@cli.command(name="migrate")
@pass_ctx
def migrate_cmd(ctx: Context) -> None:
    """Apply the committed database migrations."""
    url = ctx.settings.database_url
    guarded(lambda: _prepare_data_dir(ctx.settings))
    applied = guarded(lambda: asyncio.run(migrate(url)))
    if applied:
        for name in applied:
            click.echo(f"applied {name}")
    else:
        click.echo("database is up to date")


@cli.command()
@click.option("--name", default=None, help="Name for the migration file.")
@pass_ctx
def makemigrations(ctx: Context, name: str | None) -> None:
    """(Developers) Write a migration for model changes not yet migrated."""
    from core.db import write_migrations

    for path in guarded(lambda: asyncio.run(write_migrations(name))):
        click.echo(f"wrote {path}")


@cli.command()
@pass_ctx
def config(ctx: Context) -> None:
    """Print the effective settings, secrets masked."""
    for key, value in ctx.settings.masked().items():
        click.echo(f"{key}={value}")


@cli.group("ip-ranges")
def ip_ranges() -> None:
    """The address ranges the bot detector reads (datacenters, iCloud Private Relay)."""


@ip_ranges.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["datacenter", "relay"]), required=True,
              help="datacenter: scanners' homes; relay: Private Relay egress (people).")
@click.option("--replace", is_flag=True,
              help="Use only this file's ranges of that kind, not the packaged ones.")
@pass_ctx
def ip_ranges_import(ctx: Context, source: Path, kind: str, replace: bool) -> None:
    """Add the networks of SOURCE (one CIDR or address a line, # comments) to the
    ranges in the data directory; running processes read them at their next start."""
    from core.tracking.addresses import RangeKind, import_ranges

    settings = ctx.settings
    guarded(lambda: _prepare_data_dir(settings))
    try:
        count = import_ranges(source, kind=RangeKind(kind), data_dir=settings.data_dir,
                              replace=replace)
    except (ValueError, UnicodeDecodeError) as exc:
        fail(f"{source}: {exc}", 2)
    how = "instead of" if replace else "in addition to"
    click.echo(f"{count} {kind} network(s) in {settings.data_dir / 'ip-ranges'}, "
               f"used {how} the packaged ones")


@cli.command()
@click.option("--offline", is_flag=True, help="Skip the checks that ask providers, Discord "
              "and DNS.")
@click.option("--timeout", type=click.FloatRange(0.5, 60), default=5.0, show_default=True,
              help="Seconds each online check may take.")
@pass_ctx
def doctor(ctx: Context, offline: bool, timeout: float) -> None:
    """Check the database, migrations, providers' credentials, the bot token and the
    tracking domains, and say what is wrong. Exits 1 when anything fails."""
    from core.system.doctor import Verdict
    from trackly.doctor import diagnose, render

    findings = guarded(lambda: asyncio.run(diagnose(ctx.services, online=not offline,
                                                    per_check=timeout)))
    click.echo(render(findings))
    failed = sum(f.verdict is Verdict.FAIL for f in findings)
    warned = sum(f.verdict is Verdict.WARN for f in findings)
    click.echo(f"{failed} failed, {warned} to look at, {len(findings) - failed - warned} ok")
    if failed:
        raise SystemExit(1)


# -- accounts ---------------------------------------------------------------------------


@cli.group()
def account() -> None:
    """Create and manage accounts (workspaces)."""


@account.command("create")
@click.argument("name", type=TEXT)
@click.option("--owner-email", type=TEXT, required=True, help="The first owner's email address.")
@async_command
async def account_create(services: Services, name: str, owner_email: str) -> None:
    """Create an account and print its id."""
    created = await services.accounts.create_account(name, owner_email)
    click.echo(created.id)


@account.command("list")
@async_command
async def account_list(services: Services) -> None:
    """List the accounts: id, status, name, owner email."""
    accounts = await services.accounts.list_accounts()
    if not accounts:
        announce('No accounts yet: trackly account create NAME --owner-email EMAIL')
    for acc in accounts:
        click.echo(f"{acc.id}\t{acc.status}\t{acc.name}\t{acc.owner_email}")


@account.command("suspend")
@click.argument("account_id", type=int)
@async_command
async def account_suspend(services: Services, account_id: int) -> None:
    """Suspend an account: every API call gets 403 and nothing is sent."""
    await services.accounts.set_status(account_id, AccountStatus.SUSPENDED)
    click.echo(f"account {account_id} suspended")


@account.command("activate")
@click.argument("account_id", type=int)
@async_command
async def account_activate(services: Services, account_id: int) -> None:
    """Reactivate a suspended account."""
    await services.accounts.set_status(account_id, AccountStatus.ACTIVE)
    click.echo(f"account {account_id} active")


@cli.group()
def user() -> None:
    """Team members."""


@user.command("add")
@click.argument("email", type=TEXT)
@click.option("--account", "account_id", type=int, required=True)
@click.option("--role", type=ROLES, required=True)
@async_command
async def user_add(services: Services, email: str, account_id: int, role: str) -> None:
    """Add (invite) a user to an account with a role."""
    await _require_account(services, account_id)
    access = await services.accounts.add_user(Actor.system(account_id), email, role)
    click.echo(f"user {access.user_id} added to account {account_id} as {role}")


@user.command("list")
@click.option("--account", "account_id", type=int, required=True)
@async_command
async def user_list(services: Services, account_id: int) -> None:
    """List an account's team: user id, email, role, and whether they joined."""
    await _require_account(services, account_id)
    for access in await services.accounts.list_team(Actor.system(account_id)):
        if access.accepted_at is not None:
            state = "active"
        elif access.invite_expires_at is not None:
            state = f"invited (until {access.invite_expires_at:%Y-%m-%d %H:%M} UTC)"
        else:
            state = "invited"
        click.echo(f"{access.user_id}\t{access.user.email}\t{access.role}\t{state}")


@cli.group()
def apikey() -> None:
    """API keys (X-Api-Key)."""


@apikey.command("create")
@click.option("--account", "account_id", type=int, required=True)
@click.option("--role", type=ROLES, required=True)
@click.option("--name", type=TEXT, default="", help="A label to recognise the key by.")
@async_command
async def apikey_create(services: Services, account_id: int, role: str, name: str) -> None:
    """Create a key and print it (once: it is stored only as a hash)."""
    await _require_account(services, account_id)
    key, raw = await services.accounts.create_api_key(Actor.system(account_id), role=role,
                                                      name=name)
    announce(f"API key {key.id} ({key.prefix}..., role {key.role}). "
             "Store it now; it will not be shown again.")
    click.echo(raw)


@apikey.command("list")
@click.option("--account", "account_id", type=int, required=True)
@async_command
async def apikey_list(services: Services, account_id: int) -> None:
    """List an account's keys (prefixes only)."""
    await _require_account(services, account_id)
    actor, page = Actor.system(account_id), 1
    while (found := await services.accounts.list_api_keys(actor, page=page, per_page=100)
           ).items:
        for key in found.items:
            state = "revoked" if key.revoked_at else "active"
            used = key.last_used_at.isoformat() if key.last_used_at else "never"
            click.echo(f"{key.id}\t{key.prefix}...\t{key.role}\t{state}\tlast used {used}\t"
                       f"{key.name}")
        page += 1


@apikey.command("revoke")
@click.argument("key", type=TEXT)
@click.option("--account", "account_id", type=int, required=True)
@async_command
async def apikey_revoke(services: Services, key: str, account_id: int) -> None:
    """Revoke a key, given its id or its visible prefix."""
    await _require_account(services, account_id)
    actor = Actor.system(account_id)
    if key.isdigit():
        key_id = int(key)
    else:
        found = await services.accounts.find_api_key_by_prefix(account_id, key.rstrip("."))
        if found is None:
            raise TracklyError(f"No key with prefix {key!r} in account {account_id}.")
        key_id = found.id
    revoked = await services.accounts.revoke_api_key(actor, key_id)
    click.echo(f"revoked {revoked.prefix}...")


# -- sending lists and contacts -----------------------------------------------------------


@cli.group(name="list")
def list_group() -> None:
    """Sending lists (from-numbers); `trackly import --list` takes the number."""


@list_group.command("list")
@click.option("--account", "account_id", type=int, required=True)
@async_command
async def list_list(services: Services, account_id: int) -> None:
    """List an account's sending lists: id, number, provider, status, name."""
    await _require_account(services, account_id)
    actor = Actor.system(account_id)
    total = 0
    async for found in every_page(lambda page: services.lists.list_lists(
            actor, page=page, per_page=100)):
        total += 1
        click.echo(f"{found.id}\t{found.phone_number}\t{found.provider}\t"
                   f"{found.status}\t{found.name}")
    if total == 0:
        announce("No sending lists yet: create one with POST /api/v2/lists.")


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "list_number", type=TEXT, required=True, help="The sending list's number.")
@click.option("--commit", is_flag=True, help="Write the contacts (default: a dry run).")
@async_command
async def import_cmd(services: Services, file: Path, list_number: str, commit: bool) -> None:
    """Import contacts from a CSV onto a list; a dry run unless --commit."""
    from core.contacts.models import ImportStatus
    from trackly.progress import Progress

    sending_list = await services.lists.find_by_number(list_number)
    if sending_list is None:
        raise TracklyError(f"No sending list with the number {list_number}.")
    actor = Actor.system(sending_list.account_id)
    job = await services.imports.create_job(actor, list_number=sending_list.phone_number,
                                            path=file, filename=file.name,
                                            dry_run=not commit)
    mode = "" if commit else " (dry run)"
    announce(f"Importing {file.name} onto {sending_list.phone_number}{mode}")
    with Progress(sys.stderr, job.file_size) as progress:
        job = await services.imports.run(
            job.id, progress=lambda p: progress.update(p.bytes_processed, p.rows_processed))
        if job.status == ImportStatus.COMPLETED:
            progress.finish(job.rows_processed)
    if job.status != ImportStatus.COMPLETED:
        raise TracklyError(job.failure or f"The import {job.status}.")
    if job.dry_run:
        click.echo("Dry run: nothing was written. Run again with --commit to import.")
    click.echo(f"{job.rows_processed:,} rows: {job.created_count:,} new, "
               f"{job.updated_count:,} updated, {job.unchanged_count:,} unchanged, "
               f"{job.error_count:,} bad")
    if job.error_count:
        shown, total = await services.imports.row_errors(actor, job.id, per_page=20)
        click.echo(f"Bad rows ({len(shown)} of {total:,} shown; import {job.id} keeps them "
                   "all):")
        for row in shown:
            value = f" [{row.value}]" if row.value else ""
            click.echo(f"  line {row.line}: {row.code} - {row.reason}{value}")


# -- audiences and campaigns --------------------------------------------------------------


@cli.group()
def audience() -> None:
    """Audiences: who a campaign reaches."""


@audience.command("list")
@click.option("--account", "account_id", type=int, required=True)
@async_command
async def audience_list(services: Services, account_id: int) -> None:
    """An account's audiences: id, name, source lists, cached size."""
    await _require_account(services, account_id)
    actor = Actor.system(account_id)
    async for view in every_page(lambda page: _pair(services.audiences.page(
            actor, page=page, per_page=100))):
        size = view.audience.cached_size
        click.echo(f"{view.id}\t{view.audience.name}\tlists "
                   f"{','.join(map(str, view.list_ids))}\t"
                   f"{'-' if size is None else f'{size:,}'}")


@audience.command("show")
@click.argument("audience_id", type=int)
@click.option("--account", "account_id", type=int, required=True)
@async_command
async def audience_show(services: Services, audience_id: int, account_id: int) -> None:
    """One audience: its filter and its size counted now."""
    import json

    actor = Actor.system(account_id)
    view = await services.audiences.get(actor, audience_id)
    size = await services.audiences.size(actor, audience_id)
    click.echo(f"{view.id}\t{view.audience.name}")
    click.echo(f"lists: {', '.join(map(str, view.list_ids))}")
    click.echo(f"filter: {json.dumps(view.tree.to_json(), default=str)}")
    click.echo(f"size: {size.size:,} (counted {size.counted_at.isoformat()})")


@cli.group()
def campaign() -> None:
    """Campaigns (schedules): list, show, launch."""


@campaign.command("list")
@click.option("--account", "account_id", type=int, required=True)
@async_command
async def campaign_list(services: Services, account_id: int) -> None:
    """An account's schedules: id, status, next run, name."""
    await _require_account(services, account_id)
    actor = Actor.system(account_id)
    async for view in every_page(lambda page: _pair(services.schedules.page(
            actor, page=page, per_page=100))):
        s = view.schedule
        upcoming = s.next_run_at.isoformat() if s.next_run_at else "-"
        click.echo(f"{s.id}\t{s.status}\t{upcoming}\t{s.name}")


@campaign.command("show")
@click.argument("schedule_id", type=int)
@click.option("--account", "account_id", type=int, required=True)
@async_command
async def campaign_show(services: Services, schedule_id: int, account_id: int) -> None:
    """One schedule with its variants and runs."""
    view = await services.schedules.get(Actor.system(account_id), schedule_id)
    s = view.schedule
    click.echo(f"{s.id}\t{s.name}\t{s.status}\t{s.send_type}\t{s.recurrence}")
    click.echo(f"audiences: {', '.join(map(str, view.audience_ids))}")
    for b in view.blasts:
        what = f"creative {b.creative_id}" if b.creative_id else repr(b.body)
        click.echo(f"variant {b.id}: {b.percent_audience}% {what}")
    for run in view.runs:
        counts = view.run_counts.get(run.id, {})
        click.echo(f"run {run.id}\t{run.status}\t{run.started_at.isoformat()}\t"
                   f"{run.launched_by}\t{run.queued_count:,}/{run.recipients_total:,} "
                   f"queued\t{dict(sorted(counts.items()))}")


@campaign.command("launch")
@click.argument("schedule_id", type=int)
@click.option("--account", "account_id", type=int, required=True)
@click.option("--now", "at_once", is_flag=True, help="Run now rather than at its send time.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@async_command
async def campaign_launch(services: Services, schedule_id: int, account_id: int,
                          at_once: bool, yes: bool) -> None:
    """Show who a launch reaches and what it costs, ask, then launch."""
    from trackly.progress import Progress

    actor = Actor.system(account_id)
    dry = await services.schedules.launch(actor, schedule_id, dry_run=True, now=at_once)
    skipped = ", ".join(f"{k} {v:,}" for k, v in dry.skipped.items() if v) or "none"
    click.echo(f"{dry.recipients:,} recipients; skipped: {skipped}; {dry.segments:,} "
               f"segments; estimated cost ${dry.estimated_cost}")
    if not yes and not click.confirm("Launch?", default=False):
        raise TracklyError("Not launched.")
    bar: list[Progress] = []

    def progress(done: int, total: int) -> None:
        if not bar:
            bar.append(Progress(sys.stderr, total, noun="queued").__enter__())
        bar[0].update(done, done)

    result = await services.schedules.launch(actor, schedule_id, now=at_once,
                                             progress=progress)
    if bar:
        bar[0].finish(result.recipients)
        bar[0].__exit__(None, None, None)
    when = f", next run {result.next_run_at.isoformat()}" if result.next_run_at else ""
    click.echo(f"{result.status}: {result.recipients:,} recipients{when}")


def _prepare_data_dir(settings: Settings) -> None:
    check_data_dir(settings)
    make_data_dir(settings)


async def _require_account(services: Services, account_id: int) -> None:
    if await services.accounts.find_account(account_id) is None:
        raise TracklyError(f"No account {account_id}.")


def main() -> None:
    logging.captureWarnings(True)
    from trackly import cli_billing  # noqa: F401  (adds team, billing and audit to cli)

    cli()
