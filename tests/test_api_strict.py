"""One strictness for every JSON body (unknown fields refused, JSON types strict), and
error codes from a documented set: snake_case words named by the top-level field, with
the path in the error's ``field``, never the validation library's locations."""

from __future__ import annotations

import re

import pytest

from core.contacts.models import ListContact, SendingList
from core.messaging.models import MessageSent
from core.offers.models import Offer
from tests.contacts.helpers import LIST_NUMBER, make_list
from tests.factories import make_tenant

SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
TO = "4155550123"


@pytest.mark.parametrize(("method", "path", "body", "code", "field"), [
    # These codes were invalid_phone_number.str, invalid_payout.decimal and
    # missing_link_bindings.link1.offer_id.
    ("POST", "/api/v2/contacts", {"phone_number": True, "list_number": LIST_NUMBER},
     "invalid_phone_number", "phone_number"),
    ("POST", "/api/v2/offers", {"name": "o", "tracking_url": "https://a.example/",
                                "payout": [1]}, "invalid_payout", "payout"),
    ("POST", "/api/v2/creatives", {"name": "c", "body": "Go {{link1}}",
                                   "link_bindings": {"link1": {}}},
     "invalid_link_bindings", "link_bindings.link1.offer_id"),
    ("POST", "/api/v2/creatives", {"name": "c", "body": "Go {{link1}}",
                                   "link_bindings": {"link1": {"offer_id": 1,
                                                               "params": {"s": [1]}}}},
     "invalid_link_bindings", "link_bindings.link1.params.s"),
    ("POST", "/api/v2/send", {"to": [TO], "body": "hi", "list_number": LIST_NUMBER},
     "invalid_to", "to"),
    ("POST", "/api/v2/send", {"to": None, "body": "hi", "list_number": LIST_NUMBER},
     "missing_to", "to"),
    # Strict JSON types: a string is not a boolean, nor an integer.
    ("POST", "/api/v2/send", {"to": TO, "body": "hi", "list_number": LIST_NUMBER,
                              "transactional": "yes"}, "invalid_transactional",
     "transactional"),
    ("POST", "/api/v2/send", {"to": TO, "body": "hi", "list_number": LIST_NUMBER,
                              "transactional": 1}, "invalid_transactional", "transactional"),
    ("POST", "/api/v2/send", {"to": TO, "creative_id": "1", "list_number": LIST_NUMBER},
     "invalid_creative_id", "creative_id"),
    ("POST", "/api/v2/lists", {"phone_number": "+14155550001", "provider": "simulator",
                               "allow_landlines": "yes"}, "invalid_allow_landlines",
     "allow_landlines"),
    ("POST", "/api/v2/lists", {"phone_number": "+14155550001", "provider": "simulator",
                               "rate_limit_per_minute": "100"},
     "invalid_rate_limit_per_minute", "rate_limit_per_minute"),
    ("POST", "/api/v2/lists", {"phone_number": "+14155550001", "provider": "simulator",
                               "rate_limit_per_minute": 100.5},
     "invalid_rate_limit_per_minute", "rate_limit_per_minute"),
    ("POST", "/api/v2/contacts", {"phone_number": TO, "list_number": LIST_NUMBER,
                                  "replace_custom_fields": "true"},
     "invalid_replace_custom_fields", "replace_custom_fields"),
    ("PUT", "/api/v2/contacts", {"phone_number": TO, "list_number": LIST_NUMBER,
                                 "custom_fields": {"a": 1}, "merge_fields": "no"},
     "invalid_merge_fields", "merge_fields"),
    ("POST", "/api/v2/offers", {"name": "o", "tracking_url": "https://a.example/",
                                "attribution_window_days": "7"},
     "invalid_attribution_window_days", "attribution_window_days"),
    ("POST", "/api/v2/api-keys", {"name": 5}, "invalid_name", "name"),
    ("POST", "/api/v2/api-keys", {"name": "k", "role": "admin"}, "invalid_role", "role"),
])
async def test_bad_fields_are_named_by_a_documented_code(services, http, method, path, body,
                                                        code, field):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    resp = await http.request(method, path, json=body, headers=tenant.headers())
    got = await resp.json()
    assert (resp.status, got["code"], got.get("field")) == (400, code, field), got
    assert SNAKE.match(got["code"])
    assert await SendingList.all().count() == 1
    assert await Offer.all().count() == 0
    assert await MessageSent.all().count() == 0
    assert await ListContact.all().count() == 0


@pytest.mark.parametrize(("path", "body", "said"), [
    ("/api/v2/send", {"to": [TO], "body": "hi", "list_number": LIST_NUMBER},
     "to should be a valid string or a valid integer."),
    ("/api/v2/api-keys", {"name": "k" * 101}, "name is longer than 100 characters."),
    ("/api/v2/creatives", {"name": "c", "link_bindings": {"link1": {"offer_id": 1, "x": 1}}},
     "Unknown field 'link_bindings.link1.x'."),
    ("/api/v2/creatives", {"name": "c", "link_bindings": {"link1": {"offer_id": "1"}}},
     "link_bindings.link1.offer_id should be a valid integer."),
])
async def test_the_sentence_says_what_is_wrong_in_the_clients_terms(services, http, path,
                                                                    body, said):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    resp = await http.post(path, headers=tenant.headers(), json=body)
    assert (await resp.json())["error"] == said


async def test_bulk_items_are_as_strict_as_the_bodies_they_stand_for(services, http):
    """/send/bulk items accepted unknown fields that every other body refuses."""
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    resp = await http.post("/api/v2/send/bulk", headers=tenant.headers(), json={
        "list_number": LIST_NUMBER, "messages": [
            {"to": TO, "body": "hi", "from": "+14155550999"},
            {"to": "4155550124", "body": "hi", "transactional": "yes"},
            {"to": "4155550125", "body": "ok"},
            {"to": "4155550126"},
            "text"]})
    got = await resp.json()
    assert resp.status == 201, got
    assert [(e["index"], e["code"], e.get("field")) for e in got["errors"]] == [
        (0, "unknown_field", "messages[0].from"),
        (1, "invalid_transactional", "messages[1].transactional"),
        (3, "missing_body", "messages[3].body"),
        (4, "invalid_message", "messages[4]")]
    assert [m["index"] for m in got["messages"]] == [2]
    assert await MessageSent.all().values_list("to_number", flat=True) == ["+14155550125"]

    resp = await http.post("/api/v2/contacts/bulk", headers=tenant.headers(), json={
        "list_number": LIST_NUMBER, "contacts": [
            {"phone_number": TO, "phone": "x"},
            {"phone_number": "4155550124", "replace_custom_fields": "no"},
            {"phone_number": "4155550125"}]})
    got = await resp.json()
    assert [(e["index"], e["code"]) for e in got["errors"]] == [
        (0, "unknown_field"), (1, "invalid_replace_custom_fields")]
    assert await ListContact.all().count() == 1


@pytest.mark.parametrize(("path", "field"), [("/api/v2/send/bulk", "messages"),
                                             ("/api/v2/contacts/bulk", "contacts")])
async def test_a_bulk_body_without_a_list_of_records_is_refused_whole(services, http, path,
                                                                     field):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    for value, code in [(None, f"missing_{field}"), ("x", f"invalid_{field}"),
                        ({}, f"invalid_{field}"), ([], f"missing_{field}")]:
        resp = await http.post(path, headers=tenant.headers(), json={
            "list_number": LIST_NUMBER, field: value})
        got = await resp.json()
        assert (resp.status, got["code"]) == (400, code), (value, got)
