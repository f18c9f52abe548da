"""Discord links: a Discord user acting in an account with the role of the key they linked.

The link is only as good as its key: once the key is revoked (or the account suspended),
the Discord user can no longer act and is told to link again."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError

from core.accounts.models import Account, AccountStatus, DiscordLink
from core.accounts.service import AccountService
from core.clock import Clock
from core.errors import AccountSuspended, AuthenticationFailed, NotFound
from core.permissions import Action, Actor, ActorKind

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class LinkResult:
    link: DiscordLink
    account: Account
    relinked: bool  # the user was linked before (to this or another account)


class DiscordLinkService:
    def __init__(self, *, clock: Clock, accounts: AccountService) -> None:
        self.clock = clock
        self.accounts = accounts

    async def link(self, discord_user_id: int, discord_username: str,
                   raw_key: str) -> LinkResult:
        """Link (or relink) a Discord user with an API key; the link takes the key's role.

        A malformed, unknown or revoked key raises AuthenticationFailed; a suspended
        account raises AccountSuspended. The key itself is never stored or logged."""
        _, key = await self.accounts.authenticate(raw_key)
        now = self.clock.now()
        fields: dict[str, Any] = {
            "account_id": key.account_id, "api_key_id": key.id, "role": key.role,
            "discord_username": (discord_username or "")[:100], "linked_at": now}
        # Update, else insert; the unique discord_user_id settles a race between two links
        # (each statement commits on its own, so a failed insert poisons no transaction).
        relinked = bool(await DiscordLink.filter(discord_user_id=discord_user_id)
                        .update(**fields))
        if not relinked:
            try:
                await DiscordLink.create(discord_user_id=discord_user_id, **fields)
            except IntegrityError:  # a concurrent link by the same user won
                await DiscordLink.filter(discord_user_id=discord_user_id).update(**fields)
                relinked = True
        link = await DiscordLink.get(discord_user_id=discord_user_id).prefetch_related(
            "account", "api_key")
        log.info("discord user %s linked to account %s with key %s (%s)", discord_user_id,
                 key.account_id, key.id, key.role)
        return LinkResult(link=link, account=link.account, relinked=relinked)

    async def unlink(self, discord_user_id: int) -> Account:
        """Remove the link; returns the account it pointed to."""
        link = await DiscordLink.get_or_none(discord_user_id=discord_user_id).prefetch_related(
            "account")
        if link is None:
            raise NotFound("You are not linked to a Trackly account.",
                           code="discord_not_linked")
        await DiscordLink.filter(id=link.id).delete()
        log.info("discord user %s unlinked from account %s", discord_user_id, link.account_id)
        return link.account

    async def find_link(self, discord_user_id: int) -> DiscordLink | None:
        return await DiscordLink.get_or_none(discord_user_id=discord_user_id).prefetch_related(
            "account", "api_key")

    async def actor_for(self, discord_user_id: int) -> Actor:
        """The actor behind a Discord user, or AuthenticationFailed saying why there is none
        (the face tells them how to link: its command is no business of core's)."""
        link = await self.find_link(discord_user_id)
        if link is None:
            raise AuthenticationFailed("You are not linked to a Trackly account.",
                                       code="discord_not_linked")
        if link.api_key is None or link.api_key.revoked_at is not None:
            raise AuthenticationFailed("The API key you linked with was revoked.",
                                       code="discord_link_revoked")
        if link.account.status != AccountStatus.ACTIVE:
            raise AccountSuspended(f"This account is {link.account.status}.")
        return Actor(account_id=link.account_id, role=link.role, kind=ActorKind.DISCORD,
                     api_key_id=link.api_key_id, discord_user_id=discord_user_id)

    async def whoami(self, actor: Actor) -> DiscordLink:
        """The caller's link with its account and key."""
        actor.require(Action.READ)
        link = await self.find_link(actor.discord_user_id or 0)
        if link is None or link.account_id != actor.account_id:
            raise NotFound("You are not linked to a Trackly account.",
                           code="discord_not_linked")
        return link
