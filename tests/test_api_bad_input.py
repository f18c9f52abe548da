"""Out-of-range and malformed input that once reached the database driver (found by
schemathesis, see test_api_fuzz.py): each is a clear 4xx and changes nothing."""

from __future__ import annotations

import asyncio

import pytest

from core.contacts.models import ImportJob, ListContact
from core.messaging.models import MessageSent
from core.validation import MAX_ID
from tests.contacts.helpers import LIST_NUMBER, make_list
from tests.factories import make_tenant

TOO_BIG = str(MAX_ID + 1)
HUGE = "9" * 25  # past any 64-bit column too


@pytest.mark.parametrize("raw", [TOO_BIG, HUGE])
@pytest.mark.parametrize(("method", "path", "code"), [
    ("GET", "/api/v2/lists/{}", "list_not_found"),
    ("PATCH", "/api/v2/lists/{}", "list_not_found"),
    ("GET", "/api/v2/offers/{}", "offer_not_found"),
    ("PATCH", "/api/v2/offers/{}", "offer_not_found"),
    ("GET", "/api/v2/creatives/{}", "creative_not_found"),
    ("PATCH", "/api/v2/creatives/{}", "creative_not_found"),
    ("GET", "/api/v2/imports/{}", "import_not_found"),
    ("POST", "/api/v2/imports/{}/commit", "import_not_found"),
    ("DELETE", "/api/v2/api-keys/{}", "api_key_not_found"),
])
async def test_ids_no_table_can_hold_are_not_found(services, http, method, path, code, raw):
    tenant = await make_tenant(services)
    body = {"confirm": True} if method == "DELETE" else {"name": "x"}
    resp = await http.request(method, path.format(raw), headers=tenant.headers(), json=body)
    assert (resp.status, (await resp.json())["code"]) == (404, code)


@pytest.mark.parametrize(("query", "code"), [
    (f"page={HUGE}", "invalid_page"),
    ("page=1000001", "invalid_page"),
    ("per_page=0", "invalid_per_page"),
    (f"schedule_id={TOO_BIG}", "invalid_schedule_id"),
    ("schedule_id=-1", "invalid_schedule_id"),
])
async def test_paging_and_filter_numbers_are_bounded(services, http, query, code):
    tenant = await make_tenant(services)
    resp = await http.get(f"/api/v2/messages?{query}", headers=tenant.headers())
    assert (resp.status, (await resp.json())["code"]) == (400, code)
    if query.startswith("p"):  # contacts page the same way
        resp = await http.get(f"/api/v2/contacts?{query}", headers=tenant.headers())
        assert (resp.status, (await resp.json())["code"]) == (400, code)


@pytest.mark.parametrize("message_id", ["abc", "ü" * 8, "0OIl0OIl", "x" * 300])
async def test_a_message_id_of_the_wrong_shape_is_not_found(services, http, message_id):
    tenant = await make_tenant(services)
    resp = await http.get(f"/api/v2/messages/{message_id}", headers=tenant.headers())
    assert (resp.status, (await resp.json())["code"]) == (404, "message_not_found")


async def test_bodies_with_numbers_no_column_holds_are_refused(services, http):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    headers = tenant.headers()
    cases = [
        ("/api/v2/contacts", f'{{"phone_number": "4155550100", "list_number": "{LIST_NUMBER}", '
                             f'"custom_fields": {{"visits": {HUGE}}}}}', "invalid_custom_fields",
         "custom_fields"),
        ("/api/v2/contacts", f'{{"phone_number": "4155550100", "list_number": "{LIST_NUMBER}", '
                             '"custom_fields": {"score": NaN}}', "invalid_json", None),
        ("/api/v2/send", f'{{"to": "4155550100", "list_number": "{LIST_NUMBER}", '
                         f'"creative_id": {TOO_BIG}}}', "invalid_creative_id", "creative_id"),
        # The code is named by the top-level field; the path is the error's "field" (it
        # was the code: "invalid_link_bindings.link1.offer_id").
        ("/api/v2/creatives", '{"name": "c", "body": "Go {{link1}}", "link_bindings": '
                              f'{{"link1": {{"offer_id": {HUGE}}}}}}}',
         "invalid_link_bindings", "link_bindings.link1.offer_id"),
    ]
    for path, raw, code, field in cases:
        resp = await http.post(path, data=raw, headers={
            **headers, "Content-Type": "application/json"})
        got = await resp.json()
        assert (resp.status, got["code"], got.get("field")) == (400, code, field), path
    assert await ListContact.all().count() == 0
    assert await MessageSent.all().count() == 0


async def test_a_malformed_multipart_upload_is_refused_and_leaves_no_file(services, http,
                                                                         settings):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    boundary = "b0undary"
    raw = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"\x1e\xf2\x90\"\r\n\r\n"
           f"x\r\n--{boundary}--\r\n").encode("latin-1")
    resp = await http.post("/api/v2/imports", data=raw, headers={
        **tenant.headers(), "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert (resp.status, (await resp.json())["code"]) == (400, "invalid_multipart")
    assert await ImportJob.all().count() == 0
    uploads = settings.data_dir / "imports"
    assert await asyncio.to_thread(lambda: not uploads.exists() or not any(uploads.iterdir()))
