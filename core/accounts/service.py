"""Accounts, team, API keys: the operations, each checking the caller's permission."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.accounts.models import (
    Account,
    AccountAccess,
    AccountStatus,
    ApiKey,
    DiscordLink,
    User,
    UserStatus,
)
from core.audit.service import AuditLog
from core.clock import Clock
from core.errors import (
    AccountSuspended,
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from core.ids import api_key as new_api_key
from core.pagination import Page
from core.permissions import Action, Actor, ActorKind, Role
from core.validation import clean_email, clean_name

log = logging.getLogger(__name__)

API_KEY_FORMAT = re.compile(r"^trk_[A-Za-z0-9]{32}$")
INVITATION_TTL = dt.timedelta(days=7)
# last_used_at is written at most this often per key, so reads stay reads.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


def hash_api_key(raw: str) -> str:
    # Keys carry 190 bits of entropy; a plain SHA-256 is the industry norm for such tokens.
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


def parse_role(value: str) -> Role:
    try:
        return Role((value or "").strip().lower())
    except ValueError:
        raise ValidationError(
            f"Unknown role {value!r}; choose owner, member or viewer.",
            code="invalid_role", field="role",
        ) from None


class AccountService:
    def __init__(self, *, clock: Clock, audit: AuditLog | None = None) -> None:
        self.clock = clock
        self.audit = audit or AuditLog(clock=clock)

    # -- accounts -----------------------------------------------------------------

    async def create_account(self, name: str, owner_email: str) -> Account:
        """Create a workspace and its first owner (an installation-level operation)."""
        name = clean_name(name)
        email = clean_email(owner_email, field="owner_email")
        async with in_transaction():
            account = await Account.create(name=name, owner_email=email, brand_name=name[:100])
            user, _ = await User.get_or_create(email=email,
                                               defaults={"status": UserStatus.ACTIVE})
            await AccountAccess.create(account=account, user=user, role=Role.OWNER,
                                       accepted_at=self.clock.now())
        log.info("account %s created", account.id)
        return account

    async def get_account(self, actor: Actor) -> Account:
        actor.require(Action.READ)
        account = await Account.get_or_none(id=actor.account_id)
        if account is None:
            raise NotFound("Account not found.", code="account_not_found")
        return account

    async def find_account(self, account_id: int) -> Account | None:
        return await Account.get_or_none(id=account_id)

    async def list_accounts(self) -> list[Account]:
        """Every account of the installation, oldest first (the operator's command line)."""
        return await Account.all().order_by("id")

    async def set_status(self, account_id: int, status: AccountStatus) -> Account:
        """Suspend, reactivate or delete (installation-level)."""
        account = await Account.get_or_none(id=account_id)
        if account is None:
            raise NotFound(f"No account {account_id}.", code="account_not_found")
        before = account.status
        account.status = status
        await account.save(update_fields=["status", "updated_at"])
        await self.audit.record(Actor.system(account_id), f"account.{status}", face="cli",
                                changes={"from": str(before), "to": str(status)})
        return account

    # -- team -----------------------------------------------------------------------

    async def add_user(self, actor: Actor, email: str, role: Role | str) -> AccountAccess:
        """Invite a user (pending for 7 days) or add an existing one to the account."""
        actor.require(Action.MANAGE_TEAM)
        role = parse_role(role) if isinstance(role, str) else role
        email = clean_email(email)
        now = self.clock.now()
        async with in_transaction():
            user, _ = await User.get_or_create(email=email,
                                               defaults={"status": UserStatus.PENDING})
            try:
                access = await AccountAccess.create(
                    account_id=actor.account_id, user=user, role=role,
                    invited_at=now, invite_expires_at=now + INVITATION_TTL,
                    accepted_at=now if user.status == UserStatus.ACTIVE else None,
                )
            except IntegrityError:
                raise Conflict(f"{email} is already on this account.",
                               code="user_exists") from None
        return access

    async def accept_invitation(self, email: str, account_id: int) -> AccountAccess:
        access = await AccountAccess.get_or_none(
            account_id=account_id, user__email=clean_email(email)
        ).prefetch_related("user")
        if access is None:
            raise NotFound("No invitation for this address.", code="invitation_not_found")
        if access.accepted_at is None:
            if access.invite_expires_at and access.invite_expires_at <= self.clock.now():
                raise ValidationError("This invitation has expired; ask for a new one.",
                                      code="invitation_expired")
            access.accepted_at = self.clock.now()
            await access.save(update_fields=["accepted_at"])
            access.user.status = UserStatus.ACTIVE
            await access.user.save(update_fields=["status"])
        return access

    async def list_team(self, actor: Actor) -> list[AccountAccess]:
        actor.require(Action.READ)
        return await AccountAccess.filter(account_id=actor.account_id).prefetch_related(
            "user").order_by("id")

    async def change_role(self, actor: Actor, user_id: int, role: Role | str) -> AccountAccess:
        actor.require(Action.MANAGE_TEAM)
        role = parse_role(role) if isinstance(role, str) else role
        async with in_transaction():
            await self._lock_team(actor.account_id)
            access = await self._access(actor, user_id)
            if access.role == Role.OWNER and role != Role.OWNER:
                await self._keep_an_owner(actor.account_id, excluding=access.id)
            access.role = role
            await access.save(update_fields=["role"])
            # Takes effect on the next request: the user's keys (and the Discord links
            # made with them) never act above the user's role.
            lower = [r for r in Role if r.rank > role.rank]
            keys = await ApiKey.filter(account_id=actor.account_id, created_by_id=user_id,
                                       role__in=lower).values_list("id", flat=True)
            if keys:
                await ApiKey.filter(id__in=keys).update(role=role)
                await DiscordLink.filter(api_key_id__in=keys).update(role=role)
        return access

    async def remove_user(self, actor: Actor, user_id: int) -> None:
        actor.require(Action.MANAGE_TEAM)
        if actor.user_id == user_id:
            raise PermissionDenied("You cannot remove yourself from an account.",
                                   code="cannot_remove_self")
        async with in_transaction():
            await self._lock_team(actor.account_id)
            access = await self._access(actor, user_id)
            if access.role == Role.OWNER:
                await self._keep_an_owner(actor.account_id, excluding=access.id)
            await access.delete()
            # Their keys stop working with them (and so do Discord links made with them).
            await ApiKey.filter(account_id=actor.account_id, created_by_id=user_id,
                                revoked_at__isnull=True).update(revoked_at=self.clock.now())

    async def _access(self, actor: Actor, user_id: int) -> AccountAccess:
        access = await AccountAccess.get_or_none(account_id=actor.account_id, user_id=user_id)
        if access is None:
            raise NotFound("No such user on this account.", code="user_not_found")
        return access

    @staticmethod
    async def _lock_team(account_id: int) -> None:
        """Team changes of one account take turns (the account row is the lock): two owners
        demoting each other at once must not both pass the last-owner check."""
        # (A full-row select: tortoise drops FOR UPDATE from values_list queries.)
        await Account.select_for_update().filter(id=account_id).first()

    async def _keep_an_owner(self, account_id: int, *, excluding: int) -> None:
        others = await AccountAccess.filter(
            account_id=account_id, role=Role.OWNER, accepted_at__isnull=False
        ).exclude(id=excluding).count()
        if others == 0:
            raise Conflict("An account must keep at least one owner.", code="last_owner")

    # -- API keys -------------------------------------------------------------------

    async def create_api_key(
        self, actor: Actor, *, role: Role | str | None = None, name: str = ""
    ) -> tuple[ApiKey, str]:
        """Create a key; the plaintext is returned once and never stored."""
        actor.require(Action.MANAGE_KEYS)
        role = actor.role if role is None else (
            parse_role(role) if isinstance(role, str) else role)
        if role.rank > actor.role.rank:
            raise PermissionDenied(f"A {actor.role} cannot create a key with role {role}.",
                                   code="forbidden")
        name = " ".join((name or "").split())
        if len(name) > 100:
            raise ValidationError("The key name is longer than 100 characters.",
                                  code="invalid_name", field="name")
        raw = new_api_key()
        key = await ApiKey.create(
            account_id=actor.account_id, created_by_id=actor.user_id, name=name,
            prefix=raw[:12], key_hash=hash_api_key(raw), role=role,
        )
        log.info("api key %s (%s) created in account %s", key.id, key.prefix, actor.account_id)
        await self.audit.record(actor, "api_key.create", target=f"api_key:{key.id}",
                                changes={"prefix": key.prefix, "role": str(role),
                                         "name": name})
        return key, raw

    async def list_api_keys(self, actor: Actor, *, page: int = 1, per_page: int = 50
                            ) -> Page[ApiKey]:
        """Newest first, one page."""
        actor.require(Action.MANAGE_KEYS)
        query = ApiKey.filter(account_id=actor.account_id)
        total = await query.count()
        rows = await query.order_by("-id").offset((page - 1) * per_page).limit(per_page)
        return Page(rows, total)

    async def revoke_api_key(self, actor: Actor, key_id: int) -> ApiKey:
        actor.require(Action.MANAGE_KEYS)
        key = await ApiKey.get_or_none(id=key_id, account_id=actor.account_id)
        if key is None:
            raise NotFound("No such API key.", code="api_key_not_found")
        if key.revoked_at is None:
            key.revoked_at = self.clock.now()
            await key.save(update_fields=["revoked_at"])
            await self.audit.record(actor, "api_key.revoke", target=f"api_key:{key.id}",
                                    changes={"prefix": key.prefix})
        return key

    async def find_api_key_by_prefix(self, account_id: int, prefix: str) -> ApiKey | None:
        return await ApiKey.get_or_none(account_id=account_id, prefix=prefix)

    async def authenticate(self, raw_key: str | None) -> tuple[Actor, ApiKey]:
        """The actor behind an ``X-Api-Key``; raises AuthenticationFailed/AccountSuspended."""
        if raw_key is None or not raw_key.strip():
            raise AuthenticationFailed("An API key is required in the X-Api-Key header.",
                                       code="missing_api_key")
        raw_key = raw_key.strip()
        if not API_KEY_FORMAT.match(raw_key):
            raise AuthenticationFailed(
                "The API key is malformed; keys look like trk_ followed by 32 letters "
                "and digits.", code="invalid_api_key")
        key = await ApiKey.get_or_none(key_hash=hash_api_key(raw_key)).select_related(
            "account")
        if key is None or key.revoked_at is not None:
            raise AuthenticationFailed("The API key is unknown or revoked.",
                                       code="invalid_api_key")
        if key.account.status != AccountStatus.ACTIVE:
            raise AccountSuspended(f"This account is {key.account.status}.")
        now = self.clock.now()
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
            await ApiKey.filter(id=key.id).update(last_used_at=now)
            key.last_used_at = now
        actor = Actor(account_id=key.account_id, role=key.role, kind=ActorKind.API_KEY,
                      user_id=key.created_by_id, api_key_id=key.id)
        return actor, key
