"""/api/v2/team: members and invitations (owner only); accepting an invitation (public:
the token is the credential)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field

from core.accounts.models import AccountAccess
from core.text import Text
from web.auth import require_actor
from web.bodies import Body, confirmed, iso, parse_body, path_id, read_json
from web.keys import SERVICES
from web.openapi import operation
from web.render import respond

routes = web.RouteTableDef()


def member_out(access: AccountAccess) -> dict[str, Any]:
    return {"user_id": access.user_id, "email": access.user.email, "role": access.role,
            "status": "active" if access.accepted_at else "invited",
            "invited_at": iso(access.invited_at),
            "invite_expires_at": None if access.accepted_at else iso(access.invite_expires_at),
            "joined_at": iso(access.accepted_at)}


class InviteIn(Body):
    email: Text = Field(description="Who to invite")
    role: Text = Field(description="owner, member or viewer")


class RoleIn(Body):
    role: Text = Field(description="owner, member or viewer")


class AcceptIn(Body):
    token: Text = Field(description="The invitation's token (inv_...)")


@routes.get("/api/v2/team")
@operation("Members and open invitations", tag="team")
async def list_team(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    members = await request.app[SERVICES].team.list(actor)
    return respond({"data": [member_out(a) for a in members]})


@routes.post("/api/v2/team")
@operation("Invite someone with a role (owner only); the token is shown once and "
           "expires in 7 days", tag="team", request=InviteIn, status=201,
           errors={400: "invalid_email, invalid_role", 409: "user_exists"})
async def invite(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, InviteIn)
    inv = await request.app[SERVICES].team.invite(actor, body.email, body.role)
    await inv.access.fetch_related("user")
    return respond({**member_out(inv.access), "token": inv.token}, status=201)


@routes.post("/api/v2/team/{user_id:\\d+}/resend")
@operation("A new token and 7 more days for an open invitation (owner only)", tag="team",
           errors={404: "invitation_not_found"})
async def resend(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    inv = await request.app[SERVICES].team.resend(actor, path_id(request, "user_id", "user"))
    return respond({**member_out(inv.access), "token": inv.token})


@routes.patch("/api/v2/team/{user_id:\\d+}")
@operation("Change a member's role (owner only); an account keeps one owner",
           tag="team", request=RoleIn, errors={404: "user_not_found", 409: "last_owner"})
async def change_role(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, RoleIn)
    access = await request.app[SERVICES].team.change_role(
        actor, path_id(request, "user_id", "user"), body.role)
    await access.fetch_related("user")
    return respond(member_out(access))


@routes.delete("/api/v2/team/{user_id:\\d+}")
@operation("Remove a member or revoke an open invitation (owner only); needs confirm",
           tag="team", request={"type": "object", "properties": {"confirm": {"const": True}}},
           errors={403: "cannot_remove_self", 404: "user_not_found", 409: "last_owner"})
async def remove(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await read_json(request)
    confirmed(request, body if isinstance(body, dict) else None)
    await request.app[SERVICES].team.remove(actor, path_id(request, "user_id", "user"))
    return respond({"success": True})


@routes.post("/api/v2/team/accept")
@operation("Accept an invitation with its token; answers the new member's API key, "
           "shown once", tag="team", public=True, request=AcceptIn, status=201,
           errors={400: "invitation_expired", 404: "invitation_not_found"})
async def accept(request: web.Request) -> web.Response:
    body = await parse_body(request, AcceptIn)
    joined = await request.app[SERVICES].team.accept(body.token, face="api")
    return respond({"account_id": joined.account.id, "role": joined.access.role,
                    "api_key": joined.raw_key, "api_key_prefix": joined.api_key.prefix},
                   status=201)
