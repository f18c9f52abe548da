"""``trackly doctor``: run every check of core.system.doctor and print one line each."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp

from core.db import database, pending_migrations_here
from core.services import Services
from core.settings import mask_url_password as masked_url
from core.system.doctor import (
    Finding,
    Verdict,
    database_findings,
    discord_finding,
    dns_finding,
    sending_list_credentials,
    tracking_domains,
    twilio_finding,
)

MARK = {Verdict.OK: "ok  ", Verdict.WARN: "WARN", Verdict.FAIL: "FAIL"}


async def diagnose(services: Services, *, online: bool, per_check: float = 5.0,
                   discord_api: Callable[[], str] | None = None) -> list[Finding]:
    """Open the installation's database and look at everything."""
    url = services.settings.database_url
    try:
        async with database(url):
            return await inspect(services, online=online, per_check=per_check,
                                 discord_api=discord_api)
    except Exception as exc:  # any driver error: the database is the finding
        return [Finding("database", Verdict.FAIL, f"cannot open {masked_url(url)}: {exc}")]


async def inspect(services: Services, *, online: bool, per_check: float = 5.0,
                  discord_api: Callable[[], str] | None = None) -> list[Finding]:
    """Every check, inside the open database."""
    settings = services.settings
    pending = await pending_migrations_here()
    if pending:
        # without its tables nothing else in the database can be looked at yet
        return [Finding("database", Verdict.OK, "reachable"), Finding(
            "migrations", Verdict.WARN if settings.is_sqlite else Verdict.FAIL,
            f"{len(pending)} pending ({', '.join(pending[:3])}): "
            + ("`trackly run` applies them on SQLite" if settings.is_sqlite
               else "run `trackly migrate` before starting"))]
    found = await database_findings(settings, services.box)
    found.append(Finding("migrations", Verdict.OK, "every migration is applied"))
    domains = await tracking_domains(settings)
    lists = await sending_list_credentials(services.box) if online else []
    if not online:
        found.append(Finding("online checks", Verdict.WARN, "skipped (--offline)"))
        return found
    client_timeout = aiohttp.ClientTimeout(total=per_check)
    async with aiohttp.ClientSession(timeout=client_timeout) as session:
        checks = [twilio_finding(settings, sending_list, creds, session)
                  for sending_list, creds in lists if sending_list.provider == "twilio"]
        token = settings.discord_token.get_secret_value() if settings.discord_token else ""
        if token:
            checks.append(discord_finding(token, (discord_api or _discord_api)(), session))
        else:
            found.append(Finding("discord bot", Verdict.WARN, "DISCORD_TOKEN is not set: "
                                 "the bot is off"))
        checks += [asyncio.wait_for(dns_finding(domain), per_check) for domain in domains]
        for result in await asyncio.gather(*checks, return_exceptions=True):
            found.append(result if isinstance(result, Finding) else
                         Finding("online check", Verdict.WARN, f"did not finish: {result!r}"))
    for sending_list, _ in lists:
        if sending_list.provider != "twilio":
            found.append(Finding(f"list {sending_list.id} ({sending_list.provider}) online",
                                 Verdict.OK, "credentials well formed; this provider is not "
                                 "asked online (the first send tells)"))
    return found


def _discord_api() -> str:
    from discord.http import Route

    return str(Route.BASE)


def render(findings: list[Finding]) -> str:
    return "\n".join(f"{MARK[f.verdict]}  {f.check}: {f.detail}" for f in findings)
