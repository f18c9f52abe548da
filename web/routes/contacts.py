"""Contacts on lists: ``/api/v2/contacts`` (upsert, bulk, custom fields, list, unsubscribe)."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, Field

from core.contacts.models import ListContact
from core.contacts.service import ContactInput, UpsertResult
from core.text import Text, TextObject
from core.validation import MAX_BULK
from web.auth import require_actor
from web.bodies import (
    Body,
    BulkItems,
    confirmed,
    flag,
    iso,
    page_params,
    paginated,
    paging,
    parse_body,
    read_json,
    validate,
    validate_items,
)
from web.idempotency import idempotent
from web.keys import SERVICES
from web.openapi import operation
from web.render import amount, respond

routes = web.RouteTableDef()


class ContactIn(Body):
    phone_number: Text | int = Field(description="Any common form; stored as E.164")
    list_number: Text | int = Field(description="The sending list's number")
    signup_date: Text | None = Field(None, description="YYYY-MM-DD, MM/DD/YYYY or ISO 8601; "
                                                       "never in the future. Default: now")
    ip_address: Text | None = Field(None, description="Consent evidence: signup IP")
    url: Text | None = Field(None, description="Consent evidence: signup page URL")
    custom_fields: TextObject | None = Field(
        None, description="Keys [a-z_][a-z0-9_]*; values string, number or boolean; "
                          "null removes a key")
    replace_custom_fields: bool = Field(False, description="Replace instead of merge")
    first_name: Text | None = Field(None, max_length=100)
    last_name: Text | None = Field(None, max_length=100)
    email: Text | None = None
    use_journeys: bool = Field(True, description="A new subscription enters the active "
                                                 "journeys of its list whose trigger it "
                                                 "matches")
    skip_journey_if_exists: bool = Field(False, description="Not if the contact is in a "
                                                            "journey of the account already")


class ContactUpserted(BaseModel):
    success: bool
    contact_id: int
    list_contact_id: int
    is_new_contact: bool
    is_new_list_contact: bool
    status: str = Field(description="active, or unsubscribed for someone who opted out")
    journeys_enrolled: list[int]


class BulkIn(Body):
    contacts: Annotated[list[Any], BulkItems.of(ContactIn, optional=["list_number"])] = Field(
        description=f"Up to {MAX_BULK} contacts as for POST /contacts, each on its own")
    list_number: Text | int | None = Field(None, description="Default for entries without "
                                                             "one")


class BulkOut(BaseModel):
    success: bool
    upserted_count: int
    error_count: int
    errors: list[dict[str, Any]] = Field(description="[{index, code, error, field?}]")
    results: list[dict[str, Any]]


class FieldsIn(Body):
    phone_number: Text | int
    list_number: Text | int
    custom_fields: TextObject | None = None
    merge_fields: bool = Field(True, description="false replaces all custom fields")


class ContactDelete(Body):
    phone_number: Text | int
    list_number: Text | int
    confirm: bool


class ContactOut(BaseModel):
    id: int
    contact_id: int
    phone_number: str
    list_number: str
    status: str
    signup_date: str
    signup_method: str
    consent_date: str | None
    consent_ip: str | None
    consent_url: str | None
    first_name: str
    last_name: str
    email: str
    custom_fields: dict[str, Any]
    unsubscribe_reason: str | None
    unsubscribed_at: str | None
    in_workflow: bool
    carrier: str
    line_type: str
    timezone: str | None
    state: str | None
    last_sent_at: str | None
    last_clicked_at: str | None
    send_count: int
    click_count: int
    revenue_total: str
    conversion_count: int
    last_revenue_at: str | None


def contact_out(lc: ListContact) -> dict[str, Any]:
    contact = lc.contact
    return {
        "id": lc.id, "contact_id": lc.contact_id, "phone_number": contact.phone_number,
        "list_number": lc.sending_list.phone_number, "status": lc.status,
        "signup_date": iso(lc.signup_date), "signup_method": lc.signup_method,
        "consent_date": iso(lc.consent_date), "consent_ip": lc.consent_ip,
        "consent_url": lc.consent_url, "first_name": lc.first_name,
        "last_name": lc.last_name, "email": lc.email, "custom_fields": lc.custom_fields or {},
        "unsubscribe_reason": lc.unsubscribe_reason, "unsubscribed_at": iso(lc.unsubscribed_at),
        "in_workflow": lc.in_workflow, "carrier": contact.carrier,
        "line_type": contact.line_type, "timezone": contact.timezone, "state": contact.state,
        "last_sent_at": iso(lc.last_sent_at), "last_clicked_at": iso(lc.last_clicked_at),
        "send_count": lc.send_count, "click_count": lc.click_count,
        "revenue_total": amount(lc.revenue_total), "conversion_count": lc.conversion_count,
        "last_revenue_at": iso(lc.last_revenue_at),
    }


def _entry(body: ContactIn) -> ContactInput:
    return ContactInput(
        phone_number=body.phone_number, list_number=body.list_number,
        signup_date=body.signup_date, ip_address=body.ip_address, url=body.url,
        custom_fields=body.custom_fields, replace_custom_fields=body.replace_custom_fields,
        first_name=body.first_name, last_name=body.last_name, email=body.email,
        use_journeys=body.use_journeys, skip_journey_if_exists=body.skip_journey_if_exists)


def _upserted(result: UpsertResult) -> dict[str, Any]:
    return {"success": True, "contact_id": result.contact.id,
            "list_contact_id": result.list_contact.id, "is_new_contact": result.is_new_contact,
            "is_new_list_contact": result.is_new_list_contact,
            "status": result.list_contact.status,
            "journeys_enrolled": list(result.journeys_enrolled)}


@routes.post("/api/v2/contacts")
@operation("Put a contact on a list, or update it (custom fields merge)", tag="contacts",
           request=ContactIn, response=ContactUpserted, status=201,
           description="201 when the contact joined the list, 200 when it was already on "
                       "it. Someone who opted out stays unsubscribed. Accepts "
                       "`Idempotency-Key`.",
           errors={404: "`list_not_found`", 409: "`idempotency_conflict`"})
@idempotent
async def upsert_contact(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, ContactIn)
    result = await request.app[SERVICES].contacts.upsert_contact(actor, _entry(body))
    return respond(_upserted(result), status=201 if result.is_new_list_contact else 200)


@routes.post("/api/v2/contacts/bulk")
@operation(f"Up to {MAX_BULK} contacts, each on its own", tag="contacts", request=BulkIn,
           response=BulkOut)
async def upsert_bulk(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, BulkIn)
    items = validate_items(ContactIn, body.contacts, field="contacts", noun="contact",
                           defaults={"list_number": body.list_number})
    outcome = await request.app[SERVICES].contacts.upsert_many(
        actor, [_entry(item) for item in items.models])
    results = [{"index": items.index_of(p), **_upserted(r)} for p, r in outcome.results]
    for result in results:
        result.pop("success")
    errors = items.all_errors(outcome.errors)
    return respond({"success": True, "upserted_count": len(results),
                    "error_count": len(errors), "errors": errors, "results": results})


@routes.put("/api/v2/contacts")
@operation("Set a contact's custom fields on a list (merged by default)", tag="contacts",
           request=FieldsIn,
           errors={400: "`missing_custom_fields`, `invalid_custom_fields`",
                   404: "`contact_not_on_list`, `list_not_found`"})
async def update_fields(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, FieldsIn)
    lc = await request.app[SERVICES].contacts.update_custom_fields(
        actor, phone_number=body.phone_number, list_number=body.list_number,
        custom_fields=body.custom_fields, merge=body.merge_fields)
    return respond({"success": True, "contact_id": lc.contact_id, "list_contact_id": lc.id,
                    "custom_fields": lc.custom_fields})


@routes.get("/api/v2/contacts")
@operation("Contacts, newest signup first", tag="contacts",
           query=[("list_number", "string", "Only this list"),
                  ("active", "boolean", "true: subscribed; false: unsubscribed"),
                  *paging(1000)])
async def list_contacts(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    page, per_page = page_params(request, max_per_page=1000)
    active = flag(request.query.get("active"), "active")
    rows, total = await request.app[SERVICES].contacts.list_contacts(
        actor, list_number=request.query.get("list_number"), active=active, page=page,
        per_page=per_page)
    return respond(paginated([contact_out(r) for r in rows], page=page, per_page=per_page,
                             total=total))


@routes.delete("/api/v2/contacts")
@operation("Unsubscribe a contact from a list (reason manual); needs confirm",
           tag="contacts", request=ContactDelete,
           errors={404: "`contact_not_on_list`, `list_not_found`"})
async def unsubscribe(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    raw = await read_json(request)
    confirmed(request, raw if isinstance(raw, dict) else None)
    body = validate(ContactDelete, {"confirm": True, **raw} if isinstance(raw, dict) else {})
    lc = await request.app[SERVICES].contacts.unsubscribe(
        actor, phone_number=body.phone_number, list_number=body.list_number)
    return respond({"success": True, "contact_id": lc.contact_id, "list_contact_id": lc.id,
                    "status": lc.status, "unsubscribed_at": iso(lc.unsubscribed_at)})

