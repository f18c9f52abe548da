"""Sending lists: ``/api/v2/lists``. Credentials are write-only."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from core.contacts.lists import ListChanges
from core.contacts.models import SendingList
from core.permissions import Action, Actor
from core.services import Services
from core.text import Text, TextObject
from web.auth import require_actor
from web.bodies import Body, iso, page_params, paginated, paging, parse_body, path_id
from web.keys import SERVICES
from web.openapi import operation
from web.render import respond

routes = web.RouteTableDef()

CREDENTIALS_DOC = ("Write-only, never returned. twilio: {account_sid, auth_token, "
                   "messaging_service_sid?}; infobip: {api_key, base_url?}; cm: "
                   "{product_token}; simulator: none. Setting them needs the owner role.")


class ListFields(Body):
    name: Text | None = Field(None, max_length=200)
    phone_number: Text | int | None = Field(
        None, description="E.164 long code or toll-free (any common form), or a 5-6 digit "
                          "short code")
    provider: Text | None = Field(None, description="twilio, infobip, cm or simulator")
    credentials: TextObject | None = Field(None, description=CREDENTIALS_DOC)
    brand_name: Text | None = None
    status: Text | None = Field(None, description="active or inactive")
    rate_limit_per_minute: int | None = Field(None, description="Default 17000")
    prepend_text: Text | None = Field(None, description="Overrides the account's prepend")
    append_text: Text | None = Field(None, description="Overrides the account's append")
    help_text: Text | None = Field(None, description="The reply to HELP / INFO")
    allow_landlines: bool | None = None


class ListCreate(ListFields):
    phone_number: Text | int
    provider: Text | None = Field(None, description="twilio, infobip, cm or simulator; "
                                 "defaults to TRACKLY_DEFAULT_PROVIDER")


class ListOut(BaseModel):
    id: int
    name: str
    phone_number: str
    number_type: str
    country_code: str
    provider: str
    brand_name: str
    status: str
    rate_limit_per_minute: int
    prepend_text: str | None
    append_text: str | None
    help_text: str | None
    allow_landlines: bool
    has_credentials: bool
    credential_fields: list[str] = Field(description="Names of the stored credential fields")
    webhook_token: str | None = Field(description="Path secret for provider callbacks "
                                                  "(owners only)")
    created_at: str
    updated_at: str


def list_out(services: Services, actor: Actor, sending_list: SendingList) -> dict[str, Any]:
    owner = actor.can(Action.MANAGE_CREDENTIALS)
    return {
        "id": sending_list.id, "name": sending_list.name,
        "phone_number": sending_list.phone_number, "number_type": sending_list.number_type,
        "country_code": sending_list.country_code, "provider": sending_list.provider,
        "brand_name": sending_list.brand_name, "status": sending_list.status,
        "rate_limit_per_minute": sending_list.rate_limit_per_minute,
        "prepend_text": sending_list.prepend_text, "append_text": sending_list.append_text,
        "help_text": sending_list.help_text, "allow_landlines": sending_list.allow_landlines,
        "has_credentials": bool(sending_list.credentials_sealed),
        "credential_fields": services.lists.credential_fields(sending_list) if owner else [],
        "webhook_token": sending_list.webhook_token if owner else None,
        "created_at": iso(sending_list.created_at), "updated_at": iso(sending_list.updated_at),
    }


def _changes(body: BaseModel) -> ListChanges:
    return ListChanges(**{name: getattr(body, name) for name in body.model_fields_set})


@routes.get("/api/v2/lists")
@operation("List sending lists", tag="lists",
           query=paging())
async def list_lists(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    page, per_page = page_params(request)
    services = request.app[SERVICES]
    rows, total = await services.lists.list_lists(actor, page=page, per_page=per_page)
    return respond(paginated([list_out(services, actor, r) for r in rows], page=page,
                             per_page=per_page, total=total))


@routes.post("/api/v2/lists")
@operation("Create a sending list", tag="lists", request=ListCreate, response=ListOut,
           status=201, errors={409: "The number is already a list (`list_number_taken`)"})
async def create_list(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, ListCreate)
    services = request.app[SERVICES]
    created = await services.lists.create_list(actor, _changes(body))
    return respond(list_out(services, actor, created), status=201)


@routes.get("/api/v2/lists/{list_id:\\d+}")
@operation("One sending list", tag="lists", response=ListOut,
           errors={404: "No such list (`list_not_found`)"})
async def get_list(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    services = request.app[SERVICES]
    found = await services.lists.get_list(actor, path_id(request, "list_id", "list"))
    return respond(list_out(services, actor, found))


@routes.patch("/api/v2/lists/{list_id:\\d+}")
@operation("Change a sending list (credentials need the owner role)", tag="lists",
           request=ListFields, response=ListOut,
           errors={404: "No such list (`list_not_found`)",
                   409: "The number is already a list (`list_number_taken`)"})
async def update_list(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, ListFields)
    services = request.app[SERVICES]
    updated = await services.lists.update_list(actor, path_id(request, "list_id", "list"),
                                               _changes(body))
    return respond(list_out(services, actor, updated))
