"""Discord links in core: a Discord user acting with the role of the key they linked."""

from __future__ import annotations

import asyncio

import pytest

from core.accounts.models import DiscordLink
from core.errors import AuthenticationFailed, NotFound, PermissionDenied
from core.permissions import Action, ActorKind, Role
from core.support.service import Participant
from tests.factories import make_tenant

DISCORD_ID = 4242


async def test_link_gives_an_actor_with_the_keys_role(services):
    tenant = await make_tenant(services)
    result = await services.discord_links.link(DISCORD_ID, "alice", tenant.keys[Role.VIEWER])
    assert (result.account.id, result.link.role, result.relinked) == (
        tenant.account.id, Role.VIEWER, False)
    actor = await services.discord_links.actor_for(DISCORD_ID)
    assert (actor.account_id, actor.role, actor.kind, actor.discord_user_id) == (
        tenant.account.id, Role.VIEWER, ActorKind.DISCORD, DISCORD_ID)
    assert actor.api_key_id == result.link.api_key_id
    assert actor.label == f"discord:{DISCORD_ID}"
    assert actor.can(Action.READ) and not actor.can(Action.SEND)
    with pytest.raises(PermissionDenied):
        actor.require(Action.SEND)


async def test_concurrent_links_by_one_user_leave_one_link(services):
    tenant = await make_tenant(services)
    results = await asyncio.gather(
        services.discord_links.link(DISCORD_ID, "alice", tenant.keys[Role.MEMBER]),
        services.discord_links.link(DISCORD_ID, "alice", tenant.keys[Role.OWNER]))
    assert await DiscordLink.filter(discord_user_id=DISCORD_ID).count() == 1
    assert sorted(r.relinked for r in results) == [False, True]


async def test_unlinked_users_get_a_code_and_no_face_wording(services):
    """Core says what is wrong; how to link is the bot's to say (tests/bot/test_sms.py)."""
    with pytest.raises(AuthenticationFailed) as err:
        await services.discord_links.actor_for(DISCORD_ID)
    assert (err.value.code, err.value.message) == (
        "discord_not_linked", "You are not linked to a Trackly account.")
    with pytest.raises(NotFound):
        await services.discord_links.unlink(DISCORD_ID)


async def test_a_linked_user_opening_a_ticket_files_it_under_their_account(services):
    tenant = await make_tenant(services)
    await services.discord_links.link(DISCORD_ID, "alice", tenant.keys[Role.MEMBER])
    linked = await services.support.open_ticket(Participant(DISCORD_ID, "alice"),
                                                subject="Help")
    stranger = await services.support.open_ticket(Participant(1, "visitor"), subject="Hi")
    assert (linked.ticket.account_id, stranger.ticket.account_id) == (tenant.account.id, None)
