"""The error shape of API.md and the middleware that maps core errors onto it."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from core import errors
from core.db import database_unreachable
from core.ids import reference_id

log = logging.getLogger(__name__)

MAX_BODY = 5 * 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_STATUS: list[tuple[type[errors.TracklyError], int]] = [
    (errors.NotFound, 404),
    (errors.AuthenticationFailed, 401),
    (errors.PermissionDenied, 403),  # includes AccountSuspended
    (errors.ValidationError, 400),
    (errors.Conflict, 409),
    (errors.QuotaExceeded, 429),
]


def json_error(status: int, code: str, error: str, message: str | None = None,
               headers: dict[str, str] | None = None, field: str | None = None
               ) -> web.Response:
    body: dict[str, str] = {"error": error, "code": code}
    if message:
        body["message"] = message
    if field:
        body["field"] = field
    return web.json_response(body, status=status, headers=headers)


def error_for(exc: errors.TracklyError) -> web.Response:
    status = next((s for cls, s in _STATUS if isinstance(exc, cls)), 400)
    message = exc.detail
    if exc.field and not message:
        message = f"field: {exc.field}"
    headers = None
    if isinstance(exc, errors.QuotaExceeded) and exc.retry_after is not None:
        headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
    return json_error(status, exc.code, exc.message, message, headers, exc.field)


def body_limit(limit: int) -> Callable[[Handler], Handler]:
    """Let one route accept bodies larger than 5 MB (file uploads stream to disk)."""

    def mark(handler: Handler) -> Handler:
        handler.__body_limit__ = limit  # type: ignore[attr-defined]
        return handler

    return mark


_HTTP_CODES = {
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "This method is not allowed here."),
    413: ("payload_too_large", "The request body is larger than 5 MB."),
    400: ("bad_request", "The request could not be read."),
}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    limit = getattr(request.match_info.handler, "__body_limit__", MAX_BODY)
    if request.content_length is not None and request.content_length > limit:
        return json_error(413, "payload_too_large",
                          f"The request body is larger than {limit // (1024 * 1024)} MB.")
    try:
        return await handler(request)
    except errors.TracklyError as exc:
        return error_for(exc)
    except web.HTTPRequestEntityTooLarge:
        return json_error(413, *_HTTP_CODES[413])
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        code, text = _HTTP_CODES.get(exc.status, ("http_error", exc.reason))
        return json_error(exc.status, code, text, headers=_keep_headers(exc))
    except json.JSONDecodeError:
        return json_error(400, "invalid_json", "The request body is not valid JSON.")
    except Exception as exc:
        if isinstance(exc, ConnectionResetError) and _client_gone(request):
            # The client hung up while we read its body: nobody waits for an answer and
            # nothing of ours went wrong. (A reset of one of our own connections, the
            # database's, is a real error below.)
            log.info("client closed the connection during %s %s", request.method,
                     request.path)
            return json_error(400, "incomplete_body",
                              "The request body did not arrive in full.")
        if database_unreachable(exc):
            log.warning("database unreachable during %s %s: %s", request.method,
                        request.path, exc)
            return json_error(503, "database_unavailable", "The database is not reachable "
                              "right now; nothing was changed. Try again shortly.",
                              headers={"Retry-After": "5"})
        ref = reference_id()
        log.exception("unhandled error on %s %s (ref %s)", request.method, request.path, ref)
        return json_error(500, "internal_error",
                          "Something went wrong on our side.", f"reference: {ref}")


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _keep_headers(exc: web.HTTPException) -> dict[str, str] | None:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else None
