"""The permission table of PRODUCT.md section 1, cell by cell, for every kind of actor."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import Conflict, PermissionDenied
from core.permissions import PERMISSIONS, Action, Actor, ActorKind, Role, allowed
from tests.factories import make_tenant

# The table as PRODUCT.md writes it: action -> (owner, member, viewer).
EXPECTED = {
    Action.READ: (True, True, True),
    Action.SEND: (True, True, False),
    Action.BUILD: (True, True, False),
    Action.IMPORT: (True, True, False),
    Action.MANAGE_KEYS: (True, False, False),
    Action.MANAGE_TEAM: (True, False, False),
    Action.MANAGE_CREDENTIALS: (True, False, False),
    Action.MANAGE_BILLING: (True, False, False),
    Action.READ_AUDIT: (True, False, False),  # the audit trail: owners
}
ROLES = (Role.OWNER, Role.MEMBER, Role.VIEWER)
CELLS = [
    (action, role, kind, EXPECTED[action][i])
    for action in Action
    for i, role in enumerate(ROLES)
    for kind in (ActorKind.USER, ActorKind.API_KEY, ActorKind.DISCORD)
]


def test_every_action_is_in_the_table():
    assert set(PERMISSIONS) == set(Action) == set(EXPECTED)


@pytest.mark.parametrize(("action", "role", "kind", "expected"), CELLS,
                         ids=[f"{a}-{r}-{k}" for a, r, k, _ in CELLS])
def test_cell(action, role, kind, expected):
    actor = Actor(account_id=1, role=role, kind=kind, user_id=7, api_key_id=3)
    assert allowed(role, action) is expected
    assert actor.can(action) is expected
    if expected:
        actor.require(action)
    else:
        with pytest.raises(PermissionDenied) as err:
            actor.require(action)
        assert err.value.code == "forbidden"


@pytest.mark.parametrize("kind", [ActorKind.USER, ActorKind.API_KEY])
@pytest.mark.parametrize("role", ROLES)
async def test_key_and_team_operations_follow_the_table(services, role, kind):
    tenant = await make_tenant(services)
    actor = Actor(account_id=tenant.account.id, role=role, kind=kind)
    may_manage = role == Role.OWNER

    # read: everyone
    account = await services.accounts.get_account(actor)
    assert account.id == tenant.account.id
    assert len(await services.accounts.list_team(actor)) == 1

    # API keys: owner only
    if may_manage:
        key, raw = await services.accounts.create_api_key(actor, role=Role.VIEWER)
        assert raw.startswith("trk_") and key.role == Role.VIEWER
        await services.accounts.revoke_api_key(actor, key.id)
        assert (await services.accounts.list_api_keys(actor)).total == len(Role) + 1
    else:
        with pytest.raises(PermissionDenied):
            await services.accounts.create_api_key(actor, role=Role.VIEWER)
        with pytest.raises(PermissionDenied):
            await services.accounts.list_api_keys(actor)

    # team: owner only
    if may_manage:
        access = await services.accounts.add_user(actor, "new@acme.test", Role.MEMBER)
        assert access.role == Role.MEMBER
    else:
        with pytest.raises(PermissionDenied):
            await services.accounts.add_user(actor, "new@acme.test", Role.MEMBER)


async def test_a_key_never_outranks_its_creator(services):
    tenant = await make_tenant(services)
    member = Actor(account_id=tenant.account.id, role=Role.MEMBER, kind=ActorKind.USER)
    with pytest.raises(PermissionDenied):
        await services.accounts.create_api_key(member, role=Role.OWNER)


async def test_an_account_keeps_one_owner_and_nobody_removes_themselves(services):
    tenant = await make_tenant(services)
    team = await services.accounts.list_team(tenant.owner)
    owner_user = team[0].user
    me = Actor(account_id=tenant.account.id, role=Role.OWNER, kind=ActorKind.USER,
               user_id=owner_user.id)
    with pytest.raises(Conflict) as err:
        await services.accounts.change_role(me, owner_user.id, Role.MEMBER)
    assert err.value.code == "last_owner"
    with pytest.raises(PermissionDenied) as denied:
        await services.accounts.remove_user(me, owner_user.id)
    assert denied.value.code == "cannot_remove_self"
    assert (await services.accounts.list_team(me))[0].role == Role.OWNER


async def test_invitations_expire_after_seven_days(services, clock):
    from core.errors import ValidationError

    tenant = await make_tenant(services)
    await services.accounts.add_user(tenant.owner, "late@acme.test", Role.VIEWER)
    clock.advance(days=7, seconds=1)
    with pytest.raises(ValidationError) as err:
        await services.accounts.accept_invitation("late@acme.test", tenant.account.id)
    assert err.value.code == "invitation_expired"

    await services.accounts.add_user(tenant.owner, "prompt@acme.test", Role.VIEWER)
    clock.advance(days=6)
    access = await services.accounts.accept_invitation("prompt@acme.test", tenant.account.id)
    assert access.accepted_at == clock.now()


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(services):
    tenant = await make_tenant(services)
    await services.accounts.add_user(tenant.owner, "two@acme.test", Role.OWNER)
    await services.accounts.accept_invitation("two@acme.test", tenant.account.id)
    first, second = [a.user for a in await services.accounts.list_team(tenant.owner)]

    def as_owner(user) -> Actor:
        return Actor(account_id=tenant.account.id, role=Role.OWNER, kind=ActorKind.USER,
                     user_id=user.id)

    # Warm the connection pool, so both transactions really run side by side.
    await asyncio.gather(*(services.accounts.list_team(tenant.owner) for _ in range(4)))
    results = await asyncio.gather(
        services.accounts.change_role(as_owner(first), second.id, Role.MEMBER),
        services.accounts.change_role(as_owner(second), first.id, Role.MEMBER),
        return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["AccountAccess", "Conflict"]
    roles = [a.role for a in await services.accounts.list_team(tenant.owner)]
    assert sorted(roles) == [Role.MEMBER, Role.OWNER]
