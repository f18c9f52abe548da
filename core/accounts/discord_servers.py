"""Which Discord server (and which of its channels) belongs to which account.

An owner links the server they are in to their account; from then on the account's alerts,
reports and relayed replies go to that server's channels, and commands about the server's
settings answer only to members of that account. A server belongs to one account and an
account to one server (unique columns settle races), so nothing crosses accounts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError

from core.accounts.models import DiscordServer
from core.clock import Clock
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.permissions import Action, Actor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerChannels:
    """The channels an owner names when linking; None keeps what was set before."""

    alert_channel_id: int | None = None
    report_channel_id: int | None = None


@dataclass(frozen=True)
class ServerLinkResult:
    server: DiscordServer
    moved_from_guild_id: int | None  # the account's previous server, if it had another


class DiscordServerService:
    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock

    async def link(self, actor: Actor, guild_id: int, channels: ServerChannels
                   ) -> ServerLinkResult:
        """Link ``guild_id`` to the actor's account (owners only). A server linked to
        another account is refused; an account linked to another server moves here."""
        actor.require(Action.MANAGE_TEAM)
        taken = await DiscordServer.get_or_none(guild_id=guild_id)
        if taken is not None and taken.account_id != actor.account_id:
            raise Conflict("This Discord server is linked to another Trackly account.",
                           code="discord_server_taken")
        now = self.clock.now()
        mine = await DiscordServer.get_or_none(account_id=actor.account_id)
        fields: dict[str, Any] = {"guild_id": guild_id, "linked_at": now,
                                  "linked_by_discord_id": actor.discord_user_id or 0}
        if mine is None:
            try:
                server = await DiscordServer.create(
                    account_id=actor.account_id, **fields,
                    alert_channel_id=channels.alert_channel_id,
                    report_channel_id=channels.report_channel_id)
            except IntegrityError:  # another account (or a concurrent link) won the guild
                raise Conflict("This Discord server is linked to another Trackly account.",
                               code="discord_server_taken") from None
            log.info("account %s linked discord server %s", actor.account_id, guild_id)
            return ServerLinkResult(await self._with_account(server.id), None)
        previous = mine.guild_id if mine.guild_id != guild_id else None
        if previous is not None:  # a new server: its channels are not the old one's
            fields |= {"alert_channel_id": None, "report_channel_id": None,
                       "reply_channel_id": None}
        if channels.alert_channel_id is not None:
            fields["alert_channel_id"] = channels.alert_channel_id
        if channels.report_channel_id is not None:
            fields["report_channel_id"] = channels.report_channel_id
        try:
            await DiscordServer.filter(id=mine.id).update(**fields)
        except IntegrityError:
            raise Conflict("This Discord server is linked to another Trackly account.",
                           code="discord_server_taken") from None
        log.info("account %s linked discord server %s (was %s)", actor.account_id, guild_id,
                 previous)
        return ServerLinkResult(await self._with_account(mine.id), previous)

    async def unlink(self, actor: Actor, guild_id: int) -> DiscordServer:
        """Forget the link (owners only): alerts wait until a server is linked again."""
        actor.require(Action.MANAGE_TEAM)
        server = await self.get(actor, guild_id)
        await DiscordServer.filter(id=server.id, account_id=actor.account_id).delete()
        log.info("account %s unlinked discord server %s", actor.account_id, guild_id)
        return server

    async def get(self, actor: Actor, guild_id: int) -> DiscordServer:
        """The server ``guild_id`` (with its account) as linked to the actor's account;
        NotFound if it is not linked, PermissionDenied if it belongs to another account."""
        actor.require(Action.READ)
        server = await DiscordServer.get_or_none(guild_id=guild_id).prefetch_related("account")
        if server is None:
            raise NotFound("This Discord server is not linked to a Trackly account.",
                           code="discord_server_not_linked")
        if server.account_id != actor.account_id:
            raise PermissionDenied("This Discord server belongs to another Trackly account.",
                                   code="discord_server_other_account")
        return server

    async def set_summary(self, actor: Actor, guild_id: int, *, hour: int | None,
                          channel_id: int | None = None) -> DiscordServer:
        """The daily summary's local hour (None: off) and, if given, the report channel."""
        actor.require(Action.BUILD)
        if hour is not None and not 0 <= hour <= 23:
            raise ValidationError("hour must be between 0 and 23.", code="invalid_hour",
                                  field="hour")
        server = await self.get(actor, guild_id)
        updates: dict[str, Any] = {"summary_hour": hour}
        if channel_id is not None:
            updates["report_channel_id"] = channel_id
        await DiscordServer.filter(id=server.id, account_id=actor.account_id).update(
            **updates)
        return await self._with_account(server.id)

    async def _with_account(self, server_id: int) -> DiscordServer:
        return await DiscordServer.get(id=server_id).prefetch_related("account")

    async def find_for_account(self, account_id: int) -> DiscordServer | None:
        return await DiscordServer.get_or_none(account_id=account_id)
