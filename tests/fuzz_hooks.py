"""Hooks the contract fuzz (tests/test_api_fuzz.py) loads into the schemathesis CLI with
``SCHEMATHESIS_HOOKS=tests.fuzz_hooks``.

Schemathesis generates strings from the schema, valid UTF-8 and mostly tame. A hostile
client's are not: any string of a body, a query or a path may instead hold a NUL, an
unpaired surrogate or a control character; an upload may carry them in its CSV; a request
may carry a header over the 8 KB aiohttp reads by default (or past any limit), or an API
key with a control character or Latin-1 bytes. The ``trackly_error_shape`` check holds
every refusal to API.md's error shape, with a snake_case code (never a validation path
such as ``invalid_payout.decimal``)."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import schemathesis
from hypothesis import strategies as st

from web.app import MAX_HEADER

HOSTILE = ["a\x00b", "\x00", "a\ud800", "\udfffz", "bell\x07", "\x1b[31mred", "del\x7f",
           "nel\x85", "+1415555\x000000"]
CSV_HOSTILE = [b"phone,first_name\n4155550401,A\x00nn\n4155550402,Bob\n",
               b"phone,note\n4155550403,\x1b[2J\n4155550404,\xed\xa0\x80\n",
               b"\xff\xfep\x00h\x00o\x00n\x00e\x00\n\x004\x001\x00\x00\xd8"]
# Over aiohttp's default 8 KB, over our limit, and far past it.
LONG_HEADERS = [9 * 1024, MAX_HEADER + 1024, 200 * 1024]
SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
Path = tuple[Any, ...]
LIST_NUMBER = "+14155550000"  # the list the fuzz's fixture creates
# A request the server accepts, per operation: a hostile string in one of these reaches
# the database, where most generated bodies stop earlier at a missing field. (NUL in an
# offer's name only answered 500 on PostgreSQL once the rest of the offer was valid.)
_CONTACT = {"phone_number": "4155550100", "list_number": LIST_NUMBER, "first_name": "Ann",
            "last_name": "Lee", "email": "ann@example.com", "url": "https://a.example/",
            "ip_address": "192.0.2.1", "signup_date": "2026-01-02",
            "custom_fields": {"color": "red", "tier": "gold"}}
_TEXTS = {"name": "Deals", "brand_name": "Acme", "prepend_text": "Acme: ",
          "append_text": " Reply STOP to opt out.", "help_text": "Acme help: reply STOP."}
_OFFER = {"name": "Solar", "tracking_url": "https://network.example/c?aff={click_id}",
          "advertiser": "SunCo", "payout": "1.50"}
VALID_BODIES: dict[str, dict[str, Any]] = {
    "POST /api/v2/lists": {**_TEXTS, "phone_number": "+14155550999",
                           "provider": "simulator"},
    "PATCH /api/v2/lists/{list_id}": _TEXTS,
    "POST /api/v2/contacts": _CONTACT,
    "PUT /api/v2/contacts": {"phone_number": "4155550100", "list_number": LIST_NUMBER,
                             "custom_fields": {"color": "blue", "note": "hi"}},
    "DELETE /api/v2/contacts": {"phone_number": "4155550100", "list_number": LIST_NUMBER,
                                "confirm": True},
    "POST /api/v2/contacts/bulk": {"list_number": LIST_NUMBER, "contacts": [
        {**_CONTACT, "phone_number": "4155550101"}, {"phone_number": "4155550102"}]},
    "POST /api/v2/send": {"to": "4155550103", "list_number": LIST_NUMBER,
                          "body": "Hi {{first_name|there}}", "transactional": True},
    "POST /api/v2/send/bulk": {"list_number": LIST_NUMBER, "messages": [
        {"to": "4155550104", "body": "Hi there"}, {"to": "4155550105", "body": "Hello"}]},
    "POST /api/v2/offers": _OFFER,
    "PATCH /api/v2/offers/{offer_id}": _OFFER,
    "POST /api/v2/creatives": {"name": "Quote", "body": "Hi {{first_name}}, see {{link1}}",
                               "link_bindings": {"link1": {"offer_id": 1,
                                                           "params": {"sub1": "spring"}}}},
    "PATCH /api/v2/creatives/{creative_id}": {"name": "Quote", "body": "Go {{link1}}"},
    "POST /api/v2/api-keys": {"name": "reports", "role": "viewer"},
    "POST /api/v2/revenue": {"click_id": "c0ffee", "message_id": "abcdefgh",
                             "txn_id": "T1", "revenue": "1.50", "event_type": "sale"},
    "POST /api/v2/webhooks": {"url": "https://hooks.example/trackly",
                              "events": ["delivery", "click"]},
    "PUT /api/v2/networks/tune": {"network_id": "acme", "api_key": "token",
                                  "timezone": "America/Chicago"},
}


def _leaves(value: Any, path: Path = (), *, keys: bool = True) -> list[Path]:
    """Where the strings of a JSON value are (object keys too, as ``("key", k)``, when
    ``keys``: the names of query and path parameters are not the client's text)."""
    if isinstance(value, str):
        return [path]
    found: list[Path] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if keys and isinstance(key, str):
                found.append((*path, ("key", key)))
            found += _leaves(item, (*path, key), keys=keys)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _leaves(item, (*path, index), keys=keys)
    return found


def _replaced(value: Any, path: Path, new: str) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(head, tuple):  # an object key
        key = head[1]
        return {(new if k == key else k): v for k, v in value.items()}
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replaced(copy[head], rest, new)
    return copy


# A URL is percent-encoded UTF-8, which cannot hold an unpaired surrogate.
URL_HOSTILE = [bad for bad in HOSTILE if not re.search("[\ud800-\udfff]", bad)]


def _poisoned(value: Any, hostile: list[str] = HOSTILE, *, keys: bool = True
              ) -> st.SearchStrategy[Any]:
    """``value`` as generated, or with one of its strings made hostile."""
    leaves = _leaves(value, keys=keys)
    if not leaves:
        return st.just(value)
    return st.one_of(st.just(value), st.builds(
        lambda path, bad: _replaced(value, path, bad), st.sampled_from(leaves),
        st.sampled_from(hostile)))


def _is_upload(context: Any) -> bool:
    operation = context.operation
    types = operation.schema.get_request_payload_content_types(operation)
    return any(t.startswith("multipart/") for t in types)


@schemathesis.hook
def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
    if not _is_upload(context):
        operation = context.operation
        valid = VALID_BODIES.get(f"{operation.method.upper()} {operation.path}")
        if valid is None:
            return _poisoned(body)
        return st.one_of(_poisoned(body), _poisoned(valid))
    if not isinstance(body, dict):
        return st.just(body)
    # Form fields travel as UTF-8, which cannot hold an unpaired surrogate.
    fields = {k: v for k, v in body.items() if k != "file"}
    return st.one_of(
        _poisoned(fields, URL_HOSTILE, keys=False).map(lambda f: {**body, **f}),
        st.sampled_from(CSV_HOSTILE).map(lambda csv: {**body, "file": csv}))


@schemathesis.hook
def flatmap_query(context: Any, query: Any) -> st.SearchStrategy[Any]:
    return _poisoned(query, URL_HOSTILE, keys=False) if query else st.just(query)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Never revoke the key the fuzz authenticates with (DELETE /api-keys/{its id} with
    confirm): every later request would be a 401 and test nothing. (Every phase calls
    through here; the generation hooks do not run in all of them.)"""
    own = os.environ.get("TRACKLY_FUZZ_KEY_ID")
    params = case.path_parameters or {}
    if own and case.method.upper() == "DELETE" and str(params.get("key_id")) == own:
        case.path_parameters = {**params, "key_id": int(own) + 1}


@schemathesis.hook
def flatmap_path_parameters(context: Any, path_parameters: Any) -> st.SearchStrategy[Any]:
    return _poisoned(path_parameters, URL_HOSTILE, keys=False) if path_parameters else \
        st.just(path_parameters)


@schemathesis.hook
def flatmap_headers(context: Any, headers: Any) -> st.SearchStrategy[Any]:
    """One request in eight carries an over-long header, a hostile API key (it replaces
    the real key, so most requests keep theirs and reach the handlers) or a hostile
    Idempotency-Key."""
    headers = headers or {}
    hostile = st.one_of(
        st.sampled_from(LONG_HEADERS).map(lambda n: {**headers, "X-Padding": "p" * n}),
        st.sampled_from(["trk_" + "a" * (9 * 1024), "x" * MAX_HEADER * 2, "trk_\x00",
                         "trk_\x1b[0m", "trk_\xff\xfe"]).map(
            lambda key: {**headers, "X-Api-Key": key}),
        # Idempotency-Key on any operation (only creating writes read it): bytes that
        # are not UTF-8, one past the 200 characters allowed, a plain one.
        st.sampled_from(["k\xff\xfe", "k" * 201, "fuzz-1"]).map(
            lambda key: {**headers, "Idempotency-Key": key}))
    return st.integers(0, 7).flatmap(lambda n: hostile if n == 0 else st.just(headers))


_HEADER_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


def _refused_by_aiohttp(case: Any) -> bool:
    """A header past what the server reads, or with a control character, which HTTP
    forbids: aiohttp's parser refuses the request before any of our code runs."""
    return any(len(str(v)) > MAX_HEADER - 100 or _HEADER_CONTROL.search(str(v))
               for v in (case.headers or {}).values())


@schemathesis.check
def trackly_error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """A refusal is API.md's JSON error with a snake_case code from the documented set.
    The one exception is a request aiohttp refuses before our code runs (a header past
    what the server reads, a control character in a header): its plain 400 is all the
    server can say, and the server's log shows one line for it, no traceback."""
    if response.status_code < 400:
        return None
    content_type = " ".join(response.headers.get("content-type", []))
    if "application/json" not in content_type:
        if response.status_code == 400 and _refused_by_aiohttp(case):
            return None
        if content_type.startswith(("image/gif", "text/html")):
            # The conversion pixel is an <img>: it answers a GIF whatever happened; a
            # short link is opened by a person's browser: its 404 is a page. The status
            # and X-Trackly-Error (a snake_case code) say what.
            code = " ".join(response.headers.get("x-trackly-error", []))
            assert SNAKE.match(code), f"a pixel refusal without a code: {code!r}"
            return None
        raise AssertionError(f"a {response.status_code} that is not JSON: "
                             f"{response.content[:200]!r}")
    body = json.loads(response.content)
    if not isinstance(body, dict) or not isinstance(body.get("error"), str) or \
            not isinstance(body.get("code"), str):
        raise AssertionError(f"not the error shape {{error, code}}: {body!r}"[:300])
    if not SNAKE.match(body["code"]):
        raise AssertionError(f"code {body['code']!r} is not a snake_case word")
    return None
