"""Text a client cannot store (NUL, unpaired surrogates, control characters) is refused
at the edge with the same clear 400 on SQLite and PostgreSQL, on every write path, and
nothing is written. PostgreSQL used to answer 500 (asyncpg CharacterNotInRepertoireError)
where SQLite stored the NUL; an unpaired surrogate was a 500 on both."""

from __future__ import annotations

from typing import Any

import pytest

from core.accounts.models import ApiKey
from core.contacts.models import ListContact, SendingList
from core.creatives.models import MessageCreative
from core.messaging.models import MessageSent
from core.offers.models import Offer
from tests.contacts.helpers import LIST_NUMBER, make_list
from tests.factories import make_tenant

BAD = {"nul": "a\x00b", "surrogate": "a\ud800", "control": "a\x1bb"}
SAID = {"nul": "NUL character", "surrogate": "unpaired surrogate",
        "control": "control character"}
TO = "4155550123"
OFFER = {"name": "Solar", "tracking_url": "https://a.example/"}

# (method, path, body with BAD in one place, the code, where it is)
CASES: list[tuple[str, str, Any, str, str]] = [
    ("POST", "/api/v2/lists", {"name": BAD, "phone_number": "+14155550001",
                               "provider": "simulator"}, "invalid_name", "name"),
    ("POST", "/api/v2/lists", {"phone_number": "+14155550001", "provider": "simulator",
                               "brand_name": BAD}, "invalid_brand_name", "brand_name"),
    ("PATCH", "/api/v2/lists/{list}", {"prepend_text": BAD}, "invalid_prepend_text",
     "prepend_text"),
    ("PATCH", "/api/v2/lists/{list}", {"append_text": BAD}, "invalid_append_text",
     "append_text"),
    ("PATCH", "/api/v2/lists/{list}", {"help_text": BAD}, "invalid_help_text", "help_text"),
    ("PATCH", "/api/v2/lists/{list}", {"provider": "infobip", "credentials": {
        "api_key": BAD}}, "invalid_credentials", "credentials.api_key"),
    ("POST", "/api/v2/contacts", {"phone_number": TO, "list_number": LIST_NUMBER,
                                  "first_name": BAD}, "invalid_first_name", "first_name"),
    ("POST", "/api/v2/contacts", {"phone_number": TO, "list_number": LIST_NUMBER,
                                  "url": BAD}, "invalid_url", "url"),
    ("POST", "/api/v2/contacts", {"phone_number": TO, "list_number": LIST_NUMBER,
                                  "custom_fields": {"color": BAD}},
     "invalid_custom_fields", "custom_fields.color"),
    ("POST", "/api/v2/contacts", {"phone_number": BAD, "list_number": LIST_NUMBER},
     "invalid_phone_number", "phone_number"),
    ("PUT", "/api/v2/contacts", {"phone_number": TO, "list_number": LIST_NUMBER,
                                 "custom_fields": {"color": BAD}},
     "invalid_custom_fields", "custom_fields.color"),
    ("POST", "/api/v2/send", {"to": TO, "list_number": LIST_NUMBER, "body": BAD},
     "invalid_body", "body"),
    ("POST", "/api/v2/offers", {**OFFER, "name": BAD}, "invalid_name", "name"),
    ("POST", "/api/v2/offers", {**OFFER, "tracking_url": BAD}, "invalid_tracking_url",
     "tracking_url"),
    ("PATCH", "/api/v2/offers/{offer}", {"advertiser": BAD}, "invalid_advertiser",
     "advertiser"),
    ("POST", "/api/v2/creatives", {"name": "c", "body": BAD}, "invalid_body", "body"),
    ("POST", "/api/v2/creatives", {"name": BAD, "body": "hi"}, "invalid_name", "name"),
    ("PATCH", "/api/v2/creatives/{creative}", {"link_bindings": {"link1": {
        "offer_id": 0, "params": {"sub1": BAD}}}}, "invalid_link_bindings",
     "link_bindings.link1.params.sub1"),
    ("POST", "/api/v2/api-keys", {"name": BAD}, "invalid_name", "name"),
]


def _fill(template: Any, bad: str, ids: dict[str, int]) -> Any:
    if template is BAD:
        return bad
    if isinstance(template, dict):
        return {k: _fill(v, bad, ids) for k, v in template.items()}
    if template == 0:
        return ids["offer"]
    return template


async def _counts() -> tuple[int, ...]:
    return (await SendingList.all().count(), await ListContact.all().count(),
            await MessageSent.all().count(), await Offer.all().count(),
            await MessageCreative.all().count(), await ApiKey.all().count())


@pytest.mark.parametrize("kind", list(BAD))
async def test_unstorable_text_is_a_clear_400_on_every_write_path(services, http, kind):
    tenant = await make_tenant(services)
    sending_list = await make_list(services, tenant)
    made = await (await http.post("/api/v2/offers", json=OFFER,
                                  headers=tenant.headers())).json()
    creative = await (await http.post("/api/v2/creatives", json={"name": "c", "body": "hi"},
                                      headers=tenant.headers())).json()
    ids = {"list": sending_list.id, "offer": made["id"], "creative": creative["id"]}
    before = await _counts()
    names = ("name", "brand_name", "prepend_text", "append_text", "help_text")
    lists_before = await SendingList.all().values_list(*names)
    failures = []
    for method, path, template, code, where in CASES:
        body = _fill(template, BAD[kind], ids)
        resp = await http.request(method, path.format(**ids), json=body,
                                  headers=tenant.headers())
        got = await resp.json()
        if (resp.status, got.get("code"), got.get("field")) != (400, code, where) or \
                SAID[kind] not in got["error"]:
            failures.append((method, path, resp.status, got))
    assert failures == []
    assert await _counts() == before
    assert await SendingList.all().values_list(*names) == lists_before


@pytest.mark.parametrize("kind", list(BAD))
async def test_bulk_items_with_unstorable_text_are_item_errors(services, http, kind):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    resp = await http.post("/api/v2/send/bulk", headers=tenant.headers(), json={
        "list_number": LIST_NUMBER, "messages": [
            {"to": TO, "body": BAD[kind]}, {"to": "4155550124", "body": "fine"}]})
    got = await resp.json()
    assert resp.status == 201, got
    assert [(e["index"], e["code"]) for e in got["errors"]] == [(0, "invalid_body")]
    assert SAID[kind] in got["errors"][0]["error"]
    assert await MessageSent.all().values_list("to_number", flat=True) == ["+14155550124"]

    resp = await http.post("/api/v2/contacts/bulk", headers=tenant.headers(), json={
        "list_number": LIST_NUMBER, "contacts": [
            {"phone_number": TO, "first_name": BAD[kind]},
            {"phone_number": "4155550124", "custom_fields": {"k": BAD[kind]}},
            {"phone_number": "4155550125", "first_name": "Ann"}]})
    got = await resp.json()
    assert resp.status == 200, got
    assert [(e["index"], e["code"]) for e in got["errors"]] == [
        (0, "invalid_first_name"), (1, "invalid_custom_fields")]
    assert await ListContact.all().values_list("first_name", flat=True) == ["Ann"]


async def test_the_lone_surrogate_of_the_issue_is_refused_not_a_500(services, http):
    """Raw bytes as a client sends them: a JSON escape of an unpaired surrogate."""
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    raw = f'{{"to": "{TO}", "list_number": "{LIST_NUMBER}", "body": "a\\ud800"}}'
    resp = await http.post("/api/v2/send", data=raw, headers={
        **tenant.headers(), "Content-Type": "application/json"})
    got = await resp.json()
    assert (resp.status, got["code"], got["field"]) == (400, "invalid_body", "body")
    raw = '{"name": "a\\u0000b", "tracking_url": "https://a.example/"}'
    resp = await http.post("/api/v2/offers", data=raw, headers={
        **tenant.headers(), "Content-Type": "application/json"})
    assert (resp.status, (await resp.json())["code"]) == (400, "invalid_name")
    assert await Offer.all().count() == 0


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_an_unstorable_custom_field_key_is_a_400_that_names_it_escaped(
        services, http, method):
    """Found by the contract fuzz: the key's path went into pydantic's message, which
    could not render a lone surrogate, and the request answered 500."""
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    raw = (f'{{"phone_number": "{TO}", "list_number": "{LIST_NUMBER}", '
           '"custom_fields": {"\\udfffz": "hi"}}')
    resp = await http.request(method, "/api/v2/contacts", data=raw, headers={
        **tenant.headers(), "Content-Type": "application/json"})
    got = await resp.json()
    assert (resp.status, got["code"]) == (400, "invalid_custom_fields"), got
    assert got["field"] == "custom_fields.\\udfffz" and "unpaired surrogate" in got["error"]
    assert await ListContact.all().count() == 0


def _multipart(filename_param: str, list_number: str) -> tuple[bytes, str]:
    boundary = "b0undary"
    raw = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"list_number\"\r\n\r\n"
           f"{list_number}\r\n"
           f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
           f"{filename_param}\r\nContent-Type: text/csv\r\n\r\n"
           "phone\r\n4155550101\r\n"
           f"--{boundary}--\r\n").encode()
    return raw, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(("filename_param", "list_number", "code"), [
    ("filename*=UTF-8''a%00b.csv", LIST_NUMBER, "invalid_filename"),
    ("filename*=UTF-8''a%1B%5B31m.csv", LIST_NUMBER, "invalid_filename"),
    ('filename="ok.csv"', "+1415555\x010000", "invalid_list_number"),
])
async def test_upload_form_fields_are_text_too(services, http, settings, filename_param,
                                               list_number, code):
    """The upload's form fields and file name are read outside any body model; a NUL in
    the file name was stored with the job (a 500 on PostgreSQL)."""
    from core.contacts.models import ImportJob

    tenant = await make_tenant(services)
    await make_list(services, tenant)
    raw, content_type = _multipart(filename_param, list_number)
    resp = await http.post("/api/v2/imports", data=raw, headers={
        **tenant.headers(), "Content-Type": content_type})
    got = await resp.json()
    assert (resp.status, got["code"]) == (400, code), got
    assert await ImportJob.all().count() == 0
    uploads = settings.data_dir / "imports"
    assert not uploads.exists() or not any(uploads.iterdir())
