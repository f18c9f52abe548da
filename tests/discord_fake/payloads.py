"""Discord API objects as the real API shapes them (the subset discord.py 2.7 reads).

Known traps, kept here so nobody meets them twice: members need ``flags``; interactions
need ``version``, ``token``, ``application_id`` and ``attachment_size_limit``; threads
need ``thread_metadata``, ``message_count`` and ``member_count``."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1420070400000

# Channel types
GUILD_TEXT = 0
DM = 1
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12

# Message flags
EPHEMERAL = 1 << 6
LOADING = 1 << 7

ALL_TEXT_PERMISSIONS = str((1 << 41) - 1)  # generous: the fake does not enforce permissions

USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")


class Snowflakes:
    """Discord ids that encode their creation time, taken from the test's clock."""

    def __init__(self, now: Callable[[], dt.datetime]) -> None:
        self._now = now
        self._counter = itertools.count(1)

    def __call__(self) -> int:
        ms = int(self._now().timestamp() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._counter) & 0x3FFFFF)


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat()


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@dataclass
class FakeUser:
    """Someone in the fake guild. ``roles`` are role ids in that guild."""

    id: int
    name: str
    roles: list[int] = field(default_factory=list)
    bot: bool = False
    in_guild: bool = True

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def payload(self) -> dict[str, Any]:
        return {"id": str(self.id), "username": self.name, "discriminator": "0",
                "global_name": self.name.title(), "avatar": None, "bot": self.bot,
                "public_flags": 0}

    def member_payload(self, *, joined_at: str, with_user: bool = True) -> dict[str, Any]:
        member: dict[str, Any] = {
            "roles": [str(r) for r in self.roles], "flags": 0, "joined_at": joined_at,
            "deaf": False, "mute": False, "nick": None, "avatar": None, "pending": False,
            "premium_since": None, "communication_disabled_until": None,
        }
        if with_user:
            member["user"] = self.payload()
        return member


def role(role_id: int, name: str, *, position: int = 1,
         permissions: str = "0") -> dict[str, Any]:
    return {"id": str(role_id), "name": name, "color": 0, "colors": {"primary_color": 0},
            "hoist": False, "position": position, "permissions": permissions,
            "managed": False, "mentionable": True, "flags": 0, "icon": None,
            "unicode_emoji": None}


def text_channel(channel_id: int, guild_id: int, name: str, *, position: int = 0
                 ) -> dict[str, Any]:
    return {"id": str(channel_id), "type": GUILD_TEXT, "guild_id": str(guild_id),
            "name": name, "position": position, "permission_overwrites": [], "nsfw": False,
            "parent_id": None, "topic": None, "last_message_id": None,
            "rate_limit_per_user": 0, "flags": 0}


def dm_channel(channel_id: int, recipient: FakeUser) -> dict[str, Any]:
    return {"id": str(channel_id), "type": DM, "last_message_id": None,
            "recipients": [recipient.payload()], "flags": 0}


def thread(thread_id: int, *, guild_id: int, parent_id: int, owner_id: int, name: str,
           private: bool, created: dt.datetime, auto_archive: int = 10080,
           invitable: bool = False) -> dict[str, Any]:
    return {
        "id": str(thread_id), "type": PRIVATE_THREAD if private else PUBLIC_THREAD,
        "guild_id": str(guild_id), "parent_id": str(parent_id), "owner_id": str(owner_id),
        "name": name, "last_message_id": None, "message_count": 0, "member_count": 1,
        "total_message_sent": 0, "rate_limit_per_user": 0, "flags": 0,
        "thread_metadata": {"archived": False, "auto_archive_duration": auto_archive,
                            "archive_timestamp": iso(created), "locked": False,
                            "invitable": invitable, "create_timestamp": iso(created)},
    }


def message(message_id: int, *, channel_id: int, author: FakeUser, content: str = "",
            embeds: list[dict[str, Any]] | None = None, flags: int = 0, when: dt.datetime,
            guild_id: int | None = None, member: dict[str, Any] | None = None,
            mentions: list[FakeUser] | None = None, mention_roles: list[int] | None = None,
            msg_type: int = 0, webhook_id: int | None = None,
            attachments: list[dict[str, Any]] | None = None,
            components: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(message_id), "channel_id": str(channel_id), "type": msg_type,
        "author": author.payload(), "content": content, "embeds": embeds or [],
        "attachments": attachments or [], "components": components or [],
        "mentions": [u.payload() for u in mentions or []],
        "mention_roles": [str(r) for r in mention_roles or []], "mention_everyone": False,
        "pinned": False, "tts": False, "flags": flags, "timestamp": iso(when),
        "edited_timestamp": None,
    }
    if guild_id is not None:
        data["guild_id"] = str(guild_id)
    if member is not None:
        data["member"] = member
    if webhook_id is not None:
        data["webhook_id"] = str(webhook_id)
        data["application_id"] = str(webhook_id)
    return data


# Team member roles and membership states (the owner is named by owner_user_id, not a role)
TEAM_ADMIN, TEAM_DEVELOPER, TEAM_READ_ONLY = "admin", "developer", "read_only"
TEAM_INVITED, TEAM_ACCEPTED = 1, 2
TEAM_USER_FLAG = 1 << 10


@dataclass
class FakeTeam:
    """A developer team owning the application: (user, role, membership state) each."""

    id: int
    name: str
    owner: FakeUser
    members: list[tuple[FakeUser, str, int]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {"id": str(self.id), "name": self.name, "icon": None,
                "owner_user_id": str(self.owner.id),
                "members": [{"membership_state": state, "permissions": ["*"],
                             "team_id": str(self.id), "user": user.payload(), "role": role}
                            for user, role, state in self.members]}

    def pseudo_user(self) -> dict[str, Any]:
        """A team-owned application's ``owner``: a stand-in user for the team."""
        return {"id": str(self.id), "username": f"team{self.id}", "discriminator": "0000",
                "global_name": None, "avatar": None, "flags": TEAM_USER_FLAG}


def application(app_id: int, *, owner: FakeUser, team: FakeTeam | None) -> dict[str, Any]:
    return {"id": str(app_id), "name": "Trackly", "description": "", "icon": None,
            "bot_public": False, "bot_require_code_grant": False,
            "owner": team.pseudo_user() if team else owner.payload(),
            "team": team.payload() if team else None,
            "verify_key": "00" * 32, "flags": 0, "summary": "",
            "interactions_endpoint_url": None, "redirect_uris": []}
