"""Who may do what: the permission table of PRODUCT.md section 1, enforced once, in core.

Every service call takes an :class:`Actor`. The REST API builds one from an API key, the
bot from a Discord link, the command line as the installation operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.errors import PermissionDenied


class Role(StrEnum):
    OWNER = "owner"
    MEMBER = "member"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return {Role.VIEWER: 0, Role.MEMBER: 1, Role.OWNER: 2}[self]


class ActorKind(StrEnum):
    USER = "user"
    API_KEY = "api_key"
    DISCORD = "discord"
    SYSTEM = "system"  # the command line and internal jobs


class Action(StrEnum):
    READ = "read"  # read everything, reports
    SEND = "send"  # send, launch/pause campaigns
    BUILD = "build"  # lists, audiences, creatives, offers, journeys
    IMPORT = "import"
    MANAGE_KEYS = "manage_keys"
    MANAGE_TEAM = "manage_team"
    MANAGE_CREDENTIALS = "manage_credentials"  # sending-list provider credentials
    MANAGE_BILLING = "manage_billing"
    READ_AUDIT = "read_audit"


_ALL = frozenset(Role)
_WRITERS = frozenset({Role.OWNER, Role.MEMBER})
_OWNERS = frozenset({Role.OWNER})

PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.READ: _ALL,
    Action.SEND: _WRITERS,
    Action.BUILD: _WRITERS,
    Action.IMPORT: _WRITERS,
    Action.MANAGE_KEYS: _OWNERS,
    Action.MANAGE_TEAM: _OWNERS,
    Action.MANAGE_CREDENTIALS: _OWNERS,
    Action.MANAGE_BILLING: _OWNERS,
    Action.READ_AUDIT: _OWNERS,
}


def allowed(role: Role, action: Action) -> bool:
    return role in PERMISSIONS[action]


@dataclass(frozen=True, slots=True)
class Actor:
    account_id: int
    role: Role
    kind: ActorKind
    user_id: int | None = None
    api_key_id: int | None = None
    discord_user_id: int | None = None

    def can(self, action: Action) -> bool:
        return allowed(self.role, action)

    def require(self, action: Action) -> None:
        if not self.can(action):
            raise PermissionDenied(
                f"Your role ({self.role}) does not allow this ({action}).",
                detail=f"needs one of: {', '.join(sorted(PERMISSIONS[action]))}",
            )

    @property
    def label(self) -> str:
        """Short who-did-it text for audit fields (``launched_by`` and the like)."""
        match self.kind:
            case ActorKind.API_KEY:
                return f"api_key:{self.api_key_id}"
            case ActorKind.DISCORD:
                return f"discord:{self.discord_user_id}"
            case ActorKind.USER:
                return f"user:{self.user_id}"
            case _:
                return "system"

    @classmethod
    def system(cls, account_id: int) -> Actor:
        return cls(account_id=account_id, role=Role.OWNER, kind=ActorKind.SYSTEM)
