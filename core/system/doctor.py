"""``trackly doctor``: what is wrong with this installation, said in words an operator can
act on. Each check answers ok, warn (works, but look at it) or fail (something a user
will notice is broken). Nothing here changes stored data.

Checks that need the database run inside it; those that talk to the outside (providers'
credentials, the bot token, tracking domains' DNS) are skipped with ``online=False`` and
never wait more than ``timeout`` seconds each."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp

from core.accounts.models import Account
from core.contacts.models import Provider, SendingList
from core.crypto import SecretBox
from core.errors import TracklyError
from core.providers.credentials import open_credentials, validate_credentials
from core.settings import Settings


class Verdict(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    check: str
    verdict: Verdict
    detail: str


async def database_findings(settings: Settings, box: SecretBox) -> list[Finding]:
    """Run inside an open database (``core.db.database``)."""
    from core.db import model_changes_without_migration

    backend = "SQLite" if settings.is_sqlite else "PostgreSQL"
    found = [Finding("database", Verdict.OK, f"reachable ({backend})")]
    drift = await model_changes_without_migration()
    found.append(Finding("schema", Verdict.OK, "the models match the migrations") if not drift
                 else Finding("schema", Verdict.WARN,
                              f"{len(drift)} model change(s) have no migration: "
                              + "; ".join(drift[:3])))
    async for sending_list in SendingList.all().only(
            "id", "name", "provider", "credentials_sealed", "phone_number"):
        found.append(_credentials_finding(box, sending_list))
    return found


def _credentials_finding(box: SecretBox, sending_list: SendingList) -> Finding:
    label = f"list {sending_list.id} ({sending_list.provider}, {sending_list.phone_number})"
    if sending_list.provider == Provider.SIMULATOR:
        return Finding(label, Verdict.OK, "simulator: no credentials needed")
    try:
        opened = open_credentials(box, sending_list)
    except TracklyError:
        return Finding(label, Verdict.FAIL,
                       "its credentials were sealed with another TRACKLY_SECRET_KEY: set the "
                       "key they were saved with, or enter the credentials again")
    if not opened:
        return Finding(label, Verdict.FAIL, "no provider credentials are set: nothing it "
                       "queues can be sent")
    try:
        validate_credentials(sending_list.provider, opened)
    except TracklyError as exc:
        return Finding(label, Verdict.FAIL, str(exc))
    return Finding(label, Verdict.OK, "credentials present and well formed")


async def sending_list_credentials(box: SecretBox) -> list[tuple[SendingList, dict[str, str]]]:
    """Lists whose credentials open, for the online checks."""
    usable = []
    async for sending_list in SendingList.exclude(provider=Provider.SIMULATOR).only(
            "id", "provider", "credentials_sealed", "phone_number"):
        try:
            opened = open_credentials(box, sending_list)
        except TracklyError:
            continue
        if opened:
            usable.append((sending_list, opened))
    return usable


async def tracking_domains(settings: Settings) -> list[str]:
    rows = await Account.exclude(tracking_domain=None).values_list("tracking_domain",
                                                                   flat=True)
    domains: set[str] = {str(d) for d in rows if d}
    if settings.tracking_domain:
        domains.add(settings.tracking_domain)
    return sorted(domains)


async def twilio_finding(settings: Settings, sending_list: SendingList,
                         credentials: dict[str, str], session: aiohttp.ClientSession
                         ) -> Finding:
    """Twilio's Account resource answers 200 to the right SID and token, 401 otherwise."""
    label = f"list {sending_list.id} (twilio) online"
    sid = credentials.get("account_sid", "")
    url = f"{settings.twilio_base_url.rstrip('/')}/2010-04-01/Accounts/{sid}.json"
    pair = f"{sid}:{credentials.get('auth_token', '')}".encode()
    auth = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    try:
        async with session.get(url, headers=auth) as response:
            if response.status == 200:
                body: dict[str, Any] = await response.json(content_type=None)
                status = body.get("status", "active")
                return (Finding(label, Verdict.OK, "Twilio accepts the credentials")
                        if status == "active" else
                        Finding(label, Verdict.FAIL, f"the Twilio account is {status}"))
            if response.status in (401, 403, 404):
                return Finding(label, Verdict.FAIL,
                               f"Twilio refused the credentials (HTTP {response.status})")
            return Finding(label, Verdict.WARN, f"Twilio answered HTTP {response.status}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Finding(label, Verdict.WARN,
                       f"Twilio could not be reached ({type(exc).__name__})")


async def discord_finding(token: str, api_base: str, session: aiohttp.ClientSession
                          ) -> Finding:
    try:
        async with session.get(f"{api_base.rstrip('/')}/users/@me",
                               headers={"Authorization": f"Bot {token}"}) as response:
            if response.status == 200:
                me = await response.json(content_type=None)
                return Finding("discord bot", Verdict.OK,
                               f"the token is accepted (bot {me.get('username', '?')})")
            if response.status == 401:
                return Finding("discord bot", Verdict.FAIL,
                               "Discord refused DISCORD_TOKEN: reset the bot's token in the "
                               "developer portal and set it again")
            return Finding("discord bot", Verdict.WARN,
                           f"Discord answered HTTP {response.status}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Finding("discord bot", Verdict.WARN,
                       f"Discord could not be reached ({type(exc).__name__})")


async def dns_finding(domain: str, resolve: Callable[[str], Awaitable[Any]] | None = None
                      ) -> Finding:
    label = f"tracking domain {domain}"
    resolver = resolve or (lambda host: asyncio.get_running_loop().getaddrinfo(host, 443))
    try:
        addresses = await resolver(domain)
    except (socket.gaierror, OSError, TimeoutError) as exc:
        return Finding(label, Verdict.FAIL, f"does not resolve ({exc}): short links on it "
                       "reach nobody; point its DNS at this installation")
    return Finding(label, Verdict.OK, f"resolves ({len(addresses)} address(es))")
