"""Who am I, and the account's API keys."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, Field

from core.accounts.models import Account, ApiKey
from core.permissions import Role
from core.text import Text
from web.auth import require_actor
from web.bodies import (
    Body,
    Lenient,
    confirmed,
    iso,
    page_params,
    paginated,
    paging,
    parse_body,
    path_id,
    read_json,
)
from web.keys import API_KEY, SERVICES
from web.openapi import operation
from web.render import respond

routes = web.RouteTableDef()


class ApiKeyCreate(Body):
    name: Text = Field("", max_length=100)
    # A JSON string names the role (strict mode would want the Python enum itself).
    role: Annotated[Role, Lenient] | None = Field(
        None, description="Defaults to the caller's role; never above it.")


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The visible start of the key")
    role: Role
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The whole key. Shown once; store it now.")


def key_out(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "name": key.name, "prefix": key.prefix, "role": key.role,
            "created_at": iso(key.created_at), "last_used_at": iso(key.last_used_at),
            "revoked_at": iso(key.revoked_at)}


def account_out(account: Account) -> dict[str, Any]:
    return {"id": account.id, "name": account.name, "owner_email": account.owner_email,
            "status": account.status, "default_timezone": account.default_timezone,
            "brand_name": account.brand_name, "created_at": iso(account.created_at)}


@routes.get("/api/v2/account")
@operation("The account and role behind this API key", tag="account")
async def who_am_i(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    account = await request.app[SERVICES].accounts.get_account(actor)
    key: ApiKey = request[API_KEY]
    return respond({"account": account_out(account), "role": actor.role,
                    "api_key": {"id": key.id, "prefix": key.prefix, "name": key.name}})


@routes.get("/api/v2/api-keys")
@operation("List API keys, newest first (owner only)", tag="api-keys", query=paging())
async def list_keys(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    page, per_page = page_params(request)
    found = await request.app[SERVICES].accounts.list_api_keys(actor, page=page,
                                                               per_page=per_page)
    return respond(paginated([key_out(k) for k in found.items], page=page,
                             per_page=per_page, total=found.total))


@routes.post("/api/v2/api-keys")
@operation("Create an API key (owner only); the key is shown once", tag="api-keys",
           request=ApiKeyCreate, response=ApiKeyCreated, status=201)
async def create_key(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, ApiKeyCreate)
    key, raw = await request.app[SERVICES].accounts.create_api_key(
        actor, role=body.role, name=body.name)
    return respond({**key_out(key), "key": raw}, status=201)


@routes.delete("/api/v2/api-keys/{key_id:\\d+}")
@operation("Revoke an API key (owner only); needs confirm", tag="api-keys",
           request={"type": "object", "properties": {"confirm": {"const": True}}},
           query=[("confirm", "boolean", "Alternative to the body's confirm")],
           errors={404: "No such key (`api_key_not_found`)"})
async def revoke_key(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await read_json(request)
    confirmed(request, body if isinstance(body, dict) else None)
    key = await request.app[SERVICES].accounts.revoke_api_key(
        actor, path_id(request, "key_id", "api_key"))
    return respond({"success": True, **key_out(key)})
