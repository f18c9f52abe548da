"""One landline rule, one error code, whichever way a number arrives: POST /contacts,
/contacts/bulk, /send, /send/bulk and a CSV import."""

from __future__ import annotations

import pytest

from core.contacts.models import ListContact
from core.messaging.models import MessageSent
from tests.contacts.helpers import LIST_NUMBER, make_list
from tests.contacts.test_imports_api import finished, form
from tests.factories import make_tenant

LANDLINE = "+442071838750"  # a London fixed line
OPEN_LIST = "+14155550009"  # allows landlines


@pytest.fixture
async def tenant(services):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    await make_list(services, tenant, OPEN_LIST, allow_landlines=True)
    return tenant


async def _send(http, tenant, list_number):
    resp = await http.post("/api/v2/send", headers=tenant.headers(), json={
        "to": LANDLINE, "body": "Your code is 1234", "list_number": list_number,
        "transactional": True})
    body = await resp.json()
    return resp.status, body.get("code")


async def _send_bulk(http, tenant, list_number):
    resp = await http.post("/api/v2/send/bulk", headers=tenant.headers(), json={
        "list_number": list_number, "messages": [{"to": LANDLINE, "body": "Deal"}]})
    body = await resp.json()
    return resp.status, [e["code"] for e in body["errors"]]


async def _contact(http, tenant, list_number):
    resp = await http.post("/api/v2/contacts", headers=tenant.headers(), json={
        "phone_number": LANDLINE, "list_number": list_number})
    return resp.status, (await resp.json()).get("code")


async def _contact_bulk(http, tenant, list_number):
    resp = await http.post("/api/v2/contacts/bulk", headers=tenant.headers(), json={
        "contacts": [{"phone_number": LANDLINE, "list_number": list_number}]})
    body = await resp.json()
    return resp.status, [e["code"] for e in body["errors"]]


async def _import(http, tenant, list_number, tmp_path):
    csv = tmp_path / "landline.csv"
    csv.write_text(f"phone,first_name\n{LANDLINE},Lin\n")
    resp = await http.post("/api/v2/imports", headers=tenant.headers(),
                           data=form(csv, list_number=list_number, dry_run="false"))
    job = await finished(http, tenant, (await resp.json())["import_id"])
    return job["created_count"], [e["code"] for e in job["errors"]]


async def test_a_list_without_landlines_refuses_them_everywhere_with_one_code(
        http, tenant, tmp_path):
    code = "landline_not_allowed"
    assert await _send(http, tenant, LIST_NUMBER) == (400, code)
    assert await _send_bulk(http, tenant, LIST_NUMBER) == (201, [code])
    assert await _contact(http, tenant, LIST_NUMBER) == (400, code)
    assert await _contact_bulk(http, tenant, LIST_NUMBER) == (200, [code])
    assert await _import(http, tenant, LIST_NUMBER, tmp_path) == (0, [code])
    assert await MessageSent.all().count() == 0
    assert await ListContact.all().count() == 0


async def test_a_list_that_allows_landlines_takes_them_everywhere(http, tenant, tmp_path):
    assert await _send(http, tenant, OPEN_LIST) == (201, None)
    assert await _send_bulk(http, tenant, OPEN_LIST) == (201, [])
    assert await _import(http, tenant, OPEN_LIST, tmp_path) == (1, [])
    assert await _contact(http, tenant, OPEN_LIST) == (200, None)  # already on it
    assert await MessageSent.all().count() == 2


async def test_a_number_known_as_a_landline_is_refused_on_send(http, services, tenant):
    """The stored line type decides (a lookup may have refined it), as for contacts."""
    from core.contacts.models import Contact, LineType

    await Contact.create(phone_number="+14155550123", line_type=LineType.LANDLINE)
    resp = await http.post("/api/v2/send", headers=tenant.headers(), json={
        "to": "4155550123", "body": "hi", "list_number": LIST_NUMBER})
    assert (resp.status, (await resp.json())["code"]) == (400, "landline_not_allowed")
    resp = await http.post("/api/v2/send/bulk", headers=tenant.headers(), json={
        "list_number": LIST_NUMBER, "messages": [{"to": "4155550123", "body": "hi"},
                                                 {"to": "4155550124", "body": "hi"}]})
    body = await resp.json()
    assert (body["queued_count"], [e["code"] for e in body["errors"]]) == (
        1, ["landline_not_allowed"])
