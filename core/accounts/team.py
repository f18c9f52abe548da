"""The team of an account: invitations with a token (7 days), accepting them from any
face, resending and revoking, role changes and removal. Owner only; at least one owner
always; nobody removes themselves. Every change, and every refused attempt, goes into the
audit trail."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.accounts.discord_links import DiscordLinkService, LinkResult
from core.accounts.models import Account, AccountAccess, AccountStatus, ApiKey, User, UserStatus
from core.accounts.service import INVITATION_TTL, AccountService, hash_api_key, parse_role
from core.audit.service import AuditLog
from core.clock import Clock
from core.errors import AccountSuspended, Conflict, NotFound, TracklyError, ValidationError
from core.ids import api_key as new_api_key
from core.permissions import Action, Actor, ActorKind, Role
from core.validation import clean_email

log = logging.getLogger(__name__)

T = TypeVar("T")
TOKEN_PREFIX = "inv_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Invitation:
    access: AccountAccess
    email: str
    token: str  # shown once, to the inviter, who passes it on


@dataclass(frozen=True)
class Joined:
    access: AccountAccess
    account: Account
    api_key: ApiKey  # the new member's own key, with the invitation's role
    raw_key: str  # shown once


class TeamService:
    def __init__(self, *, clock: Clock, accounts: AccountService, audit: AuditLog) -> None:
        self.clock = clock
        self.accounts = accounts
        self.audit = audit

    async def _audited(self, actor: Actor, action: str, target: str,
                       changes: dict[str, Any], call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call``; record it done, or refused with the refusal's code."""
        try:
            result = await call()
        except TracklyError as exc:
            await self.audit.record(actor, action, target=target, outcome="refused",
                                    changes={**changes, "code": exc.code})
            raise
        await self.audit.record(actor, action, target=target, changes=changes)
        return result

    async def invite(self, actor: Actor, email: str, role: Role | str) -> Invitation:
        """A pending place on the team for ``email``; the token is the only way in."""
        async def call() -> Invitation:
            actor.require(Action.MANAGE_TEAM)
            wanted = parse_role(role) if isinstance(role, str) else role
            address = clean_email(email)
            token = TOKEN_PREFIX + secrets.token_urlsafe(24)
            now = self.clock.now()
            async with in_transaction():
                user, _ = await User.get_or_create(email=address,
                                                   defaults={"status": UserStatus.PENDING})
                try:
                    access = await AccountAccess.create(
                        account_id=actor.account_id, user=user, role=wanted, invited_at=now,
                        invite_expires_at=now + INVITATION_TTL,
                        invite_token_hash=_hash(token))
                except IntegrityError:
                    raise Conflict(f"{address} is already on this account.",
                                   code="user_exists") from None
            return Invitation(access, address, token)

        return await self._audited(actor, "team.invite", str(email)[:200],
                                   {"email": str(email)[:254], "role": str(role)}, call)

    async def resend(self, actor: Actor, user_id: int) -> Invitation:
        """A fresh token and 7 more days; the old token stops working."""
        async def call() -> Invitation:
            actor.require(Action.MANAGE_TEAM)
            access = await self._pending(actor, user_id)
            token = TOKEN_PREFIX + secrets.token_urlsafe(24)
            now = self.clock.now()
            access.invited_at = now
            access.invite_expires_at = now + INVITATION_TTL
            access.invite_token_hash = _hash(token)
            await access.save(update_fields=["invited_at", "invite_expires_at",
                                             "invite_token_hash"])
            return Invitation(access, access.user.email, token)

        return await self._audited(actor, "team.resend", f"user:{user_id}", {}, call)

    async def revoke(self, actor: Actor, user_id: int) -> None:
        async def call() -> None:
            actor.require(Action.MANAGE_TEAM)
            access = await self._pending(actor, user_id)
            await access.delete()

        await self._audited(actor, "team.revoke", f"user:{user_id}", {}, call)

    async def accept(self, token: str, *, face: str, discord_user_id: int | None = None
                     ) -> Joined:
        """Join with an invitation's token (REST, command line, or Discord): the user is
        active and gets an API key of their own with the invitation's role."""
        access = await AccountAccess.get_or_none(
            invite_token_hash=_hash(token or "")).prefetch_related("user", "account")
        if access is None or access.accepted_at is not None:
            raise NotFound("No open invitation has this token.", code="invitation_not_found")
        who = Actor(account_id=access.account_id, role=access.role, kind=ActorKind.USER,
                    user_id=access.user_id, discord_user_id=discord_user_id)
        now = self.clock.now()
        changes = {"email": access.user.email, "role": str(access.role)}
        if access.invite_expires_at is not None and access.invite_expires_at <= now:
            await self.audit.record(who, "team.accept", target=f"user:{access.user_id}",
                                    outcome="refused", face=face,
                                    changes={**changes, "code": "invitation_expired"})
            raise ValidationError("This invitation has expired; ask an owner to resend it.",
                                  code="invitation_expired")
        if access.account.status != AccountStatus.ACTIVE:
            raise AccountSuspended(f"This account is {access.account.status}.")
        raw = new_api_key()
        async with in_transaction():
            moved = await AccountAccess.filter(id=access.id, accepted_at__isnull=True).update(
                accepted_at=now, invite_token_hash=None)
            if not moved:
                raise NotFound("No open invitation has this token.",
                               code="invitation_not_found")
            await User.filter(id=access.user_id).update(status=UserStatus.ACTIVE)
            key = await ApiKey.create(
                account_id=access.account_id, created_by_id=access.user_id,
                name=f"{access.user.email}"[:100], prefix=raw[:12],
                key_hash=hash_api_key(raw), role=access.role)
        access.accepted_at = now
        await self.audit.record(who, "team.accept", target=f"user:{access.user_id}",
                                face=face, changes=changes)
        log.info("invitation %s accepted in account %s", access.id, access.account_id)
        return Joined(access, access.account, key, raw)

    async def join_from_discord(self, token: str, *, discord_user_id: int,
                                discord_username: str, links: DiscordLinkService
                                ) -> tuple[Joined, LinkResult]:
        """``/sms link``-style joining in Discord: accept the invitation, then link the
        Discord user with the new member's own key (the bot answers privately)."""
        joined = await self.accept(token, face="discord", discord_user_id=discord_user_id)
        link = await links.link(discord_user_id, discord_username, joined.raw_key)
        return joined, link

    async def change_role(self, actor: Actor, user_id: int, role: Role | str
                          ) -> AccountAccess:
        return await self._audited(
            actor, "team.role", f"user:{user_id}", {"role": str(role)},
            lambda: self.accounts.change_role(actor, user_id, role))

    async def remove(self, actor: Actor, user_id: int) -> None:
        await self._audited(actor, "team.remove", f"user:{user_id}", {},
                            lambda: self.accounts.remove_user(actor, user_id))

    async def list(self, actor: Actor) -> list[AccountAccess]:
        return await self.accounts.list_team(actor)

    async def _pending(self, actor: Actor, user_id: int) -> AccountAccess:
        access = await AccountAccess.get_or_none(
            account_id=actor.account_id, user_id=user_id,
            accepted_at__isnull=True).prefetch_related("user")
        if access is None:
            raise NotFound("No open invitation for this user.", code="invitation_not_found")
        return access
