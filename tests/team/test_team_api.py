"""Team rules over the REST API (issue 15, must-show 4), each in the audit trail."""

from __future__ import annotations

from core.accounts.models import AccountAccess, User
from core.permissions import Role
from tests.factories import make_tenant


async def audit(http, tenant, **query):
    resp = await http.get("/api/v2/audit", params=query, headers=tenant.headers())
    assert resp.status == 200
    return (await resp.json())["data"]


async def make_tenant_key_for(services, tenant, user_id: int) -> dict[str, str]:
    """A key the user made themselves (keys act for their creator)."""
    actor = tenant.owner.__class__(account_id=tenant.account.id, role=Role.OWNER,
                                   kind=tenant.owner.kind, user_id=user_id)
    _, raw = await services.accounts.create_api_key(actor, name="own", role=Role.VIEWER)
    return {"X-Api-Key": raw}


async def owner_user_id(tenant) -> int:
    user = await User.get(email="owner@acme.test")
    return user.id


async def test_the_last_owner_cannot_be_demoted_or_removed(services, http):
    tenant = await make_tenant(services)
    owner = await owner_user_id(tenant)
    resp = await http.patch(f"/api/v2/team/{owner}", json={"role": "member"},
                            headers=tenant.headers())
    assert resp.status == 409 and (await resp.json())["code"] == "last_owner"
    resp = await http.delete(f"/api/v2/team/{owner}", json={"confirm": True},
                             headers=tenant.headers())
    assert resp.status == 409 and (await resp.json())["code"] == "last_owner"
    assert (await AccountAccess.get(user_id=owner)).role == Role.OWNER
    events = await audit(http, tenant, action="team")
    assert [(e["action"], e["outcome"], e["changes"].get("code"), e["face"])
            for e in events] == [
        ("team.remove", "refused", "last_owner", "api"),
        ("team.role", "refused", "last_owner", "api")]


async def test_an_invitation_is_accepted_with_its_token_and_expires_after_7_days(
        services, http, clock):
    tenant = await make_tenant(services)
    resp = await http.post("/api/v2/team", json={"email": "Late@Acme.test", "role": "member"},
                           headers=tenant.headers())
    assert resp.status == 201
    late = await resp.json()
    assert (late["status"], late["role"], late["email"]) == ("invited", "member",
                                                            "late@acme.test")
    resp = await http.post("/api/v2/team", json={"email": "prompt@acme.test",
                                                 "role": "owner"}, headers=tenant.headers())
    prompt = await resp.json()

    clock.advance(days=6, hours=23)
    resp = await http.post("/api/v2/team/accept", json={"token": prompt["token"]})
    assert resp.status == 201
    joined = await resp.json()
    assert joined["role"] == "owner"
    me = await http.get("/api/v2/account", headers={"X-Api-Key": joined["api_key"]})
    assert (await me.json())["role"] == "owner"
    resp = await http.post("/api/v2/team/accept", json={"token": prompt["token"]})
    assert resp.status == 404  # used once

    clock.advance(hours=1)  # 7 days since the invitation
    resp = await http.post("/api/v2/team/accept", json={"token": late["token"]})
    assert resp.status == 400 and (await resp.json())["code"] == "invitation_expired"
    access = await AccountAccess.get(user__email="late@acme.test")
    assert access.accepted_at is None

    # Resent: a new token, 7 more days; the old token no longer works.
    resp = await http.post(f"/api/v2/team/{late['user_id']}/resend", headers=tenant.headers())
    fresh = (await resp.json())["token"]
    resp = await http.post("/api/v2/team/accept", json={"token": late["token"]})
    assert resp.status == 404
    resp = await http.post("/api/v2/team/accept", json={"token": fresh})
    assert resp.status == 201 and (await resp.json())["role"] == "member"

    events = await audit(http, tenant, action="team.accept")
    assert [(e["outcome"], e["changes"]["email"], e["changes"].get("code"))
            for e in events] == [("ok", "late@acme.test", None),
                                 ("refused", "late@acme.test", "invitation_expired"),
                                 ("ok", "prompt@acme.test", None)]
    resp = await http.get("/api/v2/team", headers=tenant.headers())
    team = {m["email"]: (m["role"], m["status"]) for m in (await resp.json())["data"]}
    assert team == {"owner@acme.test": ("owner", "active"),
                    "late@acme.test": ("member", "active"),
                    "prompt@acme.test": ("owner", "active")}


async def test_a_member_cannot_invite_and_nobody_removes_themselves(services, http):
    tenant = await make_tenant(services)
    resp = await http.post("/api/v2/team", json={"email": "x@acme.test", "role": "viewer"},
                           headers=tenant.headers(Role.MEMBER))
    assert resp.status == 403 and (await resp.json())["code"] == "forbidden"
    assert not await User.filter(email="x@acme.test").exists()
    resp = await http.get("/api/v2/audit", headers=tenant.headers(Role.MEMBER))
    assert resp.status == 403  # the trail is the owners'

    # A second owner joins, then tries to remove themselves.
    resp = await http.post("/api/v2/team", json={"email": "two@acme.test", "role": "owner"},
                           headers=tenant.headers())
    invitation = await resp.json()
    resp = await http.post("/api/v2/team/accept", json={"token": invitation["token"]})
    second = {"X-Api-Key": (await resp.json())["api_key"]}
    resp = await http.delete(f"/api/v2/team/{invitation['user_id']}",
                             json={"confirm": True}, headers=second)
    assert resp.status == 403 and (await resp.json())["code"] == "cannot_remove_self"
    # A role change takes effect on the next request of the user's own keys.
    resp = await http.patch(f"/api/v2/team/{invitation['user_id']}", json={"role": "viewer"},
                            headers=tenant.headers())
    assert resp.status == 200
    resp = await http.post("/api/v2/team", json={"email": "y@acme.test", "role": "viewer"},
                           headers=second)
    assert resp.status == 403
    resp = await http.patch(f"/api/v2/team/{invitation['user_id']}", json={"role": "owner"},
                            headers=tenant.headers())
    resp = await http.get("/api/v2/account", headers=second)
    assert (await resp.json())["role"] == "viewer"  # a key never rises with its user
    second = {"X-Api-Key": (await services.accounts.create_api_key(
        tenant.owner.__class__(account_id=tenant.account.id, role=Role.OWNER,
                               kind=tenant.owner.kind, user_id=invitation["user_id"]),
        name="second owner"))[1]}
    # Two owners: one may now step down, and the other remove them.
    owner = await owner_user_id(tenant)
    resp = await http.patch(f"/api/v2/team/{owner}", json={"role": "viewer"}, headers=second)
    assert resp.status == 200 and (await resp.json())["role"] == "viewer"
    resp = await http.delete(f"/api/v2/team/{invitation['user_id']}", json={"confirm": True},
                             headers={"X-Api-Key": tenant.keys[Role.OWNER]})
    assert resp.status == 409  # the last owner stays
    removed = await make_tenant_key_for(services, tenant, owner)
    resp = await http.delete(f"/api/v2/team/{owner}", json={"confirm": True}, headers=second)
    assert resp.status == 200
    resp = await http.get("/api/v2/account", headers=removed)
    assert resp.status == 401  # a removed user's keys stop working

    events = await audit(http, tenant, action="team")
    member_key = tenant.keys[Role.MEMBER]
    assert [(e["action"], e["outcome"], e["changes"].get("code")) for e in events] == [
        ("team.remove", "ok", None), ("team.remove", "refused", "last_owner"),
        ("team.role", "ok", None), ("team.role", "ok", None),
        ("team.invite", "refused", "forbidden"), ("team.role", "ok", None),
        ("team.remove", "refused", "cannot_remove_self"), ("team.accept", "ok", None),
        ("team.invite", "ok", None), ("team.invite", "refused", "forbidden")]
    refused = events[-1]
    assert refused["actor"].startswith("api_key:") and refused["face"] == "api"
    assert member_key not in str(events)  # no secret in the trail
    assert "token" not in events[-2]["changes"]


async def test_joining_from_discord_links_the_user_with_the_invited_role(services, http):
    tenant = await make_tenant(services)
    invitation = await services.team.invite(tenant.owner, "dee@acme.test", "member")
    joined, link = await services.team.join_from_discord(
        invitation.token, discord_user_id=4242, discord_username="dee",
        links=services.discord_links)
    assert (link.link.role, link.account.id) == (Role.MEMBER, tenant.account.id)
    actor = await services.discord_links.actor_for(4242)
    assert (actor.role, actor.account_id) == (Role.MEMBER, tenant.account.id)
    [event] = (await services.audit.list(tenant.owner, action="team.accept")).items
    assert (event.face, event.actor) == ("discord", f"user:{joined.access.user_id}")
