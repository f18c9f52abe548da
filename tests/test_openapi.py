"""The OpenAPI document is valid 3.1 and covers every route the app serves."""

from __future__ import annotations

from urllib.parse import urlsplit

from openapi_spec_validator import validate

from web.app import create_app


async def test_the_server_url_and_paths_make_the_real_addresses(http, settings):
    """A generated client joins servers[0].url and a path: that must be our address."""
    doc = await (await http.get("/api/v2/openapi.json")).json()
    [server] = doc["servers"]
    base = urlsplit(server["url"])
    assert f"{base.scheme}://{base.netloc}" == settings.public_url
    for path, status in (("/api/v2/account", 401), ("/healthz", 200)):
        assert path in doc["paths"]
        assert (await http.get(base.path.rstrip("/") + path)).status == status


async def test_openapi_document_is_valid_and_complete(services, http):
    resp = await http.get("/api/v2/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    validate(doc)
    assert doc["openapi"] == "3.1.0"

    app = create_app(services)
    undocumented = []
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        path = route.resource.canonical
        if not hasattr(route.handler, "__openapi__"):
            undocumented.append(f"{route.method} {path}")
            continue
        assert route.method.lower() in doc["paths"][path], path
    assert undocumented == [], "every route must carry @operation(...)"

    keys = doc["paths"]["/api/v2/api-keys"]
    assert set(keys) == {"get", "post"}
    assert "201" in keys["post"]["responses"]
    assert doc["paths"]["/healthz"]["get"]["security"] == []


async def test_bounds_the_server_enforces_are_in_the_document(http):
    doc = await (await http.get("/api/v2/openapi.json")).json()

    def param(path: str, name: str) -> dict:
        [found] = [p for p in doc["paths"][path]["get"]["parameters"] if p["name"] == name]
        return found["schema"]

    assert param("/api/v2/contacts", "per_page")["maximum"] == 1000
    assert param("/api/v2/lists", "per_page")["maximum"] == 100
    assert param("/api/v2/lists", "page") == {"type": "integer", "minimum": 1,
                                              "maximum": 1_000_000, "default": 1}
    assert param("/api/v2/lists/{list_id}", "list_id") == {
        "type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    assert param("/api/v2/messages/{message_id}", "message_id") == {"type": "string"}


async def test_error_codes_are_a_documented_set(http):
    """Codes once leaked validation paths (invalid_payout.decimal): the document now says
    which codes exist, the body codes of each operation included, and where the path goes."""
    doc = await (await http.get("/api/v2/openapi.json")).json()
    error = doc["components"]["schemas"]["Error"]["properties"]
    assert "field" in error and error["code"]["pattern"].startswith("^[a-z]")
    for code in ("missing_api_key", "invalid_api_key", "unknown_field", "invalid_json",
                 "missing_<field>", "invalid_<field>"):
        assert f"`{code}`" in doc["info"]["description"]
    send = doc["paths"]["/api/v2/send"]["post"]["responses"]["400"]["description"]
    assert send.startswith("missing_to, missing_body")
    for code in ("invalid_transactional", "invalid_creative_id", "unknown_field"):
        assert f"`{code}`" in send
    lists = doc["paths"]["/api/v2/lists"]["post"]["responses"]["400"]["description"]
    assert "`missing_phone_number`" in lists and "`invalid_rate_limit_per_minute`" in lists
