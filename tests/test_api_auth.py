"""X-Api-Key authentication, roles, tenancy and the error shape, over real HTTP."""

from __future__ import annotations

import io

from aiohttp import web

from core.accounts.models import AccountStatus, ApiKey
from core.permissions import Role
from tests.factories import make_tenant


async def test_who_am_i_answers_account_and_role(services, http):
    tenant = await make_tenant(services)
    for role in Role:
        resp = await http.get("/api/v2/account", headers=tenant.headers(role))
        assert resp.status == 200
        body = await resp.json()
        assert body["account"]["id"] == tenant.account.id
        assert body["account"]["name"] == "Acme Deals"
        assert body["role"] == role
        assert tenant.keys[role].startswith(body["api_key"]["prefix"])


async def test_missing_malformed_unknown_and_revoked_keys(services, http):
    tenant = await make_tenant(services)
    resp = await http.get("/api/v2/account")
    assert resp.status == 401
    assert await resp.json() == {"error": "An API key is required in the X-Api-Key header.",
                                 "code": "missing_api_key"}

    for bad in ["trk_short", "sk_live_abc", "trk_" + "!" * 32, "x" * 5000]:
        resp = await http.get("/api/v2/account", headers={"X-Api-Key": bad})
        assert resp.status == 401
        assert (await resp.json())["code"] == "invalid_api_key"

    resp = await http.get("/api/v2/account", headers={"X-Api-Key": "trk_" + "A" * 32})
    assert (resp.status, (await resp.json())["code"]) == (401, "invalid_api_key")

    key = await ApiKey.get(key_hash__isnull=False, role=Role.VIEWER)
    resp = await http.delete(f"/api/v2/api-keys/{key.id}", headers=tenant.headers(),
                             json={"confirm": True})
    assert resp.status == 200
    resp = await http.get("/api/v2/account", headers=tenant.headers(Role.VIEWER))
    assert (resp.status, (await resp.json())["code"]) == (401, "invalid_api_key")


async def test_suspended_account_gets_403_everywhere(services, http):
    tenant = await make_tenant(services)
    await services.accounts.set_status(tenant.account.id, AccountStatus.SUSPENDED)
    for path in ("/api/v2/account", "/api/v2/api-keys"):
        resp = await http.get(path, headers=tenant.headers())
        assert resp.status == 403
        assert (await resp.json())["code"] == "account_suspended"


async def test_viewer_and_member_cannot_manage_keys(services, http):
    tenant = await make_tenant(services)
    for role in (Role.VIEWER, Role.MEMBER):
        resp = await http.post("/api/v2/api-keys", headers=tenant.headers(role),
                               json={"name": "sneaky"})
        assert resp.status == 403
        assert (await resp.json())["code"] == "forbidden"
    assert await ApiKey.filter(name="sneaky").count() == 0


async def test_owner_creates_a_key_shown_once(services, http):
    tenant = await make_tenant(services)
    resp = await http.post("/api/v2/api-keys", headers=tenant.headers(),
                           json={"name": "CI", "role": "member"})
    assert resp.status == 201
    created = await resp.json()
    assert created["key"].startswith("trk_") and len(created["key"]) == 36
    assert created["role"] == "member"

    listing = await (await http.get("/api/v2/api-keys", headers=tenant.headers())).json()
    shown = next(k for k in listing["data"] if k["id"] == created["id"])
    assert "key" not in shown and shown["prefix"] == created["key"][:12]

    resp = await http.get("/api/v2/account", headers={"X-Api-Key": created["key"]})
    assert (await resp.json())["role"] == "member"
    stored = await ApiKey.get(id=created["id"])
    assert created["key"] not in (stored.key_hash, stored.prefix)
    assert stored.last_used_at is not None


async def test_api_keys_are_paginated_like_every_list(services, http):
    tenant = await make_tenant(services)  # three keys, one per role
    resp = await http.get("/api/v2/api-keys?page=2&per_page=2", headers=tenant.headers())
    assert resp.status == 200
    body = await resp.json()
    assert body["pagination"] == {"page": 2, "per_page": 2, "total": 3, "total_pages": 2}
    first = await (await http.get("/api/v2/api-keys?per_page=2",
                                  headers=tenant.headers())).json()
    ids = [k["id"] for k in first["data"] + body["data"]]
    assert sorted(ids, reverse=True) == ids and len(set(ids)) == 3  # newest first, no overlap
    bad = await http.get("/api/v2/api-keys?per_page=101", headers=tenant.headers())
    assert (bad.status, (await bad.json())["code"]) == (400, "invalid_per_page")


async def test_bad_bodies_are_refused_and_change_nothing(services, http):
    tenant = await make_tenant(services)
    before = await ApiKey.all().count()
    cases = [
        (b"{not json", 400, "invalid_json"),
        (b"[1, 2]", 400, "invalid_json"),
        (b'{"role": "admin"}', 400, "invalid_role"),
        (b'{"name": "x", "extra": 1}', 400, "unknown_field"),
    ]
    for raw, status, code in cases:
        resp = await http.post("/api/v2/api-keys", headers={**tenant.headers(),
                               "Content-Type": "application/json"}, data=raw)
        assert resp.status == status, raw
        assert (await resp.json())["code"] == code, raw
    assert await ApiKey.all().count() == before


async def test_six_megabyte_body_is_413_and_changes_nothing(services, http):
    tenant = await make_tenant(services)
    before = await ApiKey.all().count()
    big = b'{"name": "' + b"x" * (6 * 1024 * 1024) + b'"}'
    resp = await http.post("/api/v2/api-keys", headers=tenant.headers(), data=io.BytesIO(big))
    assert resp.status == 413
    assert (await resp.json())["code"] == "payload_too_large"

    async def chunks():
        for _ in range(6):
            yield b"x" * (1024 * 1024)

    resp = await http.post("/api/v2/api-keys", headers=tenant.headers(), data=chunks())
    assert resp.status == 413
    assert (await resp.json())["code"] == "payload_too_large"
    assert await ApiKey.all().count() == before


async def test_another_accounts_object_is_404(services, http):
    a = await make_tenant(services, "A", "a@a.test")
    b = await make_tenant(services, "B", "b@b.test")
    b_key = await ApiKey.filter(account_id=b.account.id).first()
    resp = await http.delete(f"/api/v2/api-keys/{b_key.id}", headers=a.headers(),
                             json={"confirm": True})
    assert resp.status == 404
    assert (await resp.json())["code"] == "api_key_not_found"
    assert (await ApiKey.get(id=b_key.id)).revoked_at is None


async def test_destructive_calls_need_confirm(services, http):
    tenant = await make_tenant(services)
    key = await ApiKey.filter(account_id=tenant.account.id, role=Role.VIEWER).first()
    resp = await http.delete(f"/api/v2/api-keys/{key.id}", headers=tenant.headers())
    assert resp.status == 400
    assert (await resp.json())["code"] == "confirm_required"
    assert (await ApiKey.get(id=key.id)).revoked_at is None


async def test_unknown_path_and_method_answer_json(http):
    resp = await http.get("/api/v2/nothing-here")
    assert (resp.status, (await resp.json())["code"]) == (404, "not_found")
    resp = await http.put("/healthz")
    assert (resp.status, (await resp.json())["code"]) == (405, "method_not_allowed")


async def test_internal_errors_hide_internals(services):
    """A handler that crashes answers 500 internal_error with a reference, no traceback."""
    from aiohttp.test_utils import TestClient, TestServer

    from web.app import create_app

    app = create_app(services)

    async def explode(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals: password=hunter2")

    app.router.add_get("/boom", explode)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/boom")
        body = await resp.json()
    assert resp.status == 500
    assert body["code"] == "internal_error"
    assert "hunter2" not in str(body) and "RuntimeError" not in str(body)
    assert body["message"].startswith("reference: ")


async def test_health_and_readiness(http):
    assert (await (await http.get("/healthz")).json()) == {"status": "ok"}
    resp = await http.get("/readyz")
    body = await resp.json()
    assert resp.status == 200 and body["database"]["ok"] is True
