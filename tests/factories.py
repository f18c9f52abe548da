"""Builders for test data, going through the real services."""

from __future__ import annotations

from dataclasses import dataclass

from core.accounts.models import Account
from core.permissions import Actor, ActorKind, Role
from core.services import Services


@dataclass
class Tenant:
    account: Account
    owner: Actor
    keys: dict[Role, str]  # one API key per role

    def headers(self, role: Role = Role.OWNER) -> dict[str, str]:
        return {"X-Api-Key": self.keys[role]}


async def make_tenant(services: Services, name: str = "Acme Deals",
                      email: str = "owner@acme.test") -> Tenant:
    account = await services.accounts.create_account(name, email)
    system = Actor.system(account.id)
    keys = {}
    for role in Role:
        _, raw = await services.accounts.create_api_key(system, role=role, name=f"{role} key")
        keys[role] = raw
    owner = Actor(account_id=account.id, role=Role.OWNER, kind=ActorKind.SYSTEM)
    return Tenant(account=account, owner=owner, keys=keys)
