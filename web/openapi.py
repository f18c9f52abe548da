"""The OpenAPI 3.1 document, assembled from the routes themselves.

Each handler carries its description (``@operation(...)``); ``GET /api/v2/openapi.json``
walks the router, so every endpoint a later change adds shows up without editing here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from core.validation import MAX_ID
from web.bodies import VALIDATION_CODES

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "code"],
    "properties": {
        "error": {"type": "string", "description": "A human sentence."},
        "code": {"type": "string", "pattern": "^[a-z][a-z0-9]*(_[a-z0-9]+)*$",
                 "description": "Stable snake_case identifier: one of the codes in the "
                                "API description or the operation's responses."},
        "message": {"type": "string", "description": "Optional detail."},
        "field": {"type": "string", "description": "The request field at fault, as a path "
                                                   "(`link_bindings.link1.offer_id`, "
                                                   "`messages[3].to`)."},
    },
}
# Codes any operation may answer (operations list their own in their responses).
GENERAL_CODES = {
    "missing_api_key": "401: no X-Api-Key",
    "invalid_api_key": "401: a key we do not know, revoked, or not a key at all",
    "forbidden": "403: the key's role is too low",
    "account_suspended": "403",
    "not_found": "404; an object of another account is `<thing>_not_found` too",
    "method_not_allowed": "405",
    "payload_too_large": "413",
    "rate_limited": "429, with Retry-After",
    "internal_error": "500, with a reference id and nothing else",
    "bad_request": "400: the request could not be read",
    "incomplete_body": "400: the client stopped sending its body",
}
_STANDARD_ERRORS = {
    "400": "Validation error",
    "401": "Missing (`missing_api_key`) or unknown (`invalid_api_key`) key",
    "403": "Role too low (`forbidden`) or account suspended (`account_suspended`)",
    "413": "Body over 5 MB (`payload_too_large`)",
    "500": "Internal error (`internal_error`), with a reference id",
}


@dataclass
class Operation:
    summary: str
    tag: str
    request: type[BaseModel] | dict[str, Any] | None = None
    request_content_type: str = "application/json"
    response: type[BaseModel] | dict[str, Any] | None = None
    response_content_type: str = "application/json"
    status: int = 200
    public: bool = False
    # (name, type, description) or (name, type, description, extra schema keywords)
    query: Sequence[tuple[str, str, str] | tuple[str, str, str, dict[str, Any]]] = ()
    errors: dict[int, str] = field(default_factory=dict)
    description: str = ""


def operation(summary: str, *, tag: str, **kw: Any) -> Callable[[Any], Any]:
    def mark(handler: Any) -> Any:
        handler.__openapi__ = Operation(summary=summary, tag=tag, **kw)
        return handler

    return mark


def _schema(obj: type[BaseModel] | dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    schema = obj.model_json_schema(ref_template="#/components/schemas/{model}")
    defs.update(schema.pop("$defs", {}))
    defs[obj.__name__] = schema
    return {"$ref": f"#/components/schemas/{obj.__name__}"}


def _body_required(request: type[BaseModel] | dict[str, Any]) -> bool:
    """An empty JSON body reads as {}: it is optional when no field is required. A body
    given as a raw schema (multipart uploads) is required."""
    if isinstance(request, dict):
        return True
    return any(field.is_required() for field in request.model_fields.values())


def build_document(app: web.Application, *, version: str, server_url: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for route in app.router.routes():
        op: Operation | None = getattr(route.handler, "__openapi__", None)
        if op is None or route.method == "HEAD":
            continue
        path = route.resource.canonical if route.resource else ""
        item: dict[str, Any] = {"summary": op.summary, "tags": [op.tag],
                                "operationId": f"{route.method.lower()}_{route.handler.__name__}"}
        if op.description:
            item["description"] = op.description
        pattern = route.resource.get_info().get("pattern") if route.resource else None
        params = [
            {"name": name, "in": "path", "required": True,
             "schema": _path_schema(name, pattern.pattern if pattern else "")}
            for name in _path_params(path)
        ]
        params += [
            {"name": q[0], "in": "query", "required": False,
             "schema": {"type": q[1], **(q[3] if len(q) > 3 else {})},
             "description": q[2]}
            for q in op.query
        ]
        if params:
            item["parameters"] = params
        if op.request is not None:
            item["requestBody"] = {
                "required": _body_required(op.request),
                "content": {op.request_content_type: {"schema": _schema(op.request, schemas)}},
            }
        ok: dict[str, Any] = {"description": "Success"}
        if op.response is not None:
            ok["content"] = {op.response_content_type: {"schema": _schema(op.response,
                                                                         schemas)}}
        responses: dict[str, Any] = {str(op.status): ok}
        error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        documented = {**_error_defaults(op), **{str(k): v for k, v in op.errors.items()}}
        if isinstance(op.request, type):
            documented["400"] = _validation_codes(op.request, documented.get("400"))
        for status, text in documented.items():
            responses[status] = {"description": text, "content": error_ref}
        item["responses"] = responses
        if op.public:
            item["security"] = []
        paths.setdefault(path, {})[route.method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Trackly REST API",
            "version": version,
            "description": "SMS marketing for affiliate marketers. Authenticate with the "
                           "`X-Api-Key` header. Errors share one shape: "
                           "`{error, code, message?, field?}`; `code` is a snake_case word "
                           "from a fixed set: these, the body codes below and those each "
                           "operation lists.\n\n" + _code_list(GENERAL_CODES) +
                           "\n\nRequest bodies (JSON types are strict: a boolean is true "
                           "or false, an integer a JSON number; text may not hold NUL, "
                           "unpaired surrogates or control characters other than tab and "
                           "line breaks):\n\n" + _code_list(VALIDATION_CODES),
        },
        "servers": [{"url": server_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}
            },
        },
        "security": [{"ApiKey": []}],
    }


def _code_list(codes: dict[str, str]) -> str:
    return "\n".join(f"- `{code}`: {what}" for code, what in codes.items())


def _validation_codes(model: type[BaseModel], text: str | None) -> str:
    """The 400 description of an operation with a JSON body: its own codes, then those
    its body's validation answers (web.bodies.validate), field by field."""
    fields = list(model.model_fields)
    required = [name for name, f in model.model_fields.items() if f.is_required()]
    codes = ["invalid_json", "unknown_field",
             *(f"missing_{name}" for name in required), *(f"invalid_{name}" for name in fields)]
    body = "Body validation: " + ", ".join(f"`{c}`" for c in codes)
    return f"{text}. {body}" if text else body


def _error_defaults(op: Operation) -> dict[str, str]:
    if op.public:
        return {k: v for k, v in _STANDARD_ERRORS.items() if k in ("400", "413", "500")}
    return dict(_STANDARD_ERRORS)


def _path_schema(name: str, pattern: str) -> dict[str, Any]:
    """A path id the route matches as digits is an integer id; anything else a string."""
    if f"(?P<{name}>\\d+)" in pattern:
        return {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    return {"type": "string"}


def _path_params(path: str) -> list[str]:
    # A parameter may share a segment with text: /pixel/{click_id}.gif
    return [name.split(":")[0] for name in re.findall(r"\{([^{}]+)\}", path)]
