"""Provider callbacks: delivery receipts and inbound messages. Verified each provider's
way; a bad signature is 403 and nothing is stored.

The route's path is defined here once: :func:`callback_url` builds the URL each message
tells its provider to call back (the composition root hands it to the executor)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from aiohttp import web

from core.contacts.models import SendingList
from core.errors import ValidationError
from core.inbound.callbacks import callback_query
from core.providers.base import WebhookRequest
from web.bodies import positive_int
from web.keys import SERVICES
from web.openapi import operation
from web.render import respond

routes = web.RouteTableDef()

CALLBACK_PATH = "/api/webhook-feedbacks/{provider}"


def callback_url(public_url: str, sending_list: SendingList) -> str | None:
    """Where this list's provider should post receipts and inbound messages; None for a
    provider that calls nobody back (the simulator)."""
    query = callback_query(sending_list)
    if query is None:
        return None
    path = CALLBACK_PATH.format(provider=sending_list.provider)
    return f"{public_url}{path}?{urlencode(query)}"


@routes.post(CALLBACK_PATH)
@operation("Provider delivery reports and inbound messages", tag="webhooks", public=True,
           query=[("account", "integer", "The account the sending list belongs to"),
                  ("token", "string", "Infobip and CM: the list's webhook token"),
                  ("message_id", "string", "Twilio: our message id (status callbacks)")],
           description="Twilio requests are verified with X-Twilio-Signature against "
                       "TRACKLY_PUBLIC_URL; Infobip and CM by the list's secret token.",
           errors={403: "invalid_signature", 404: "not_found"})
async def provider_callback(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        account = positive_int(request, "account")  # an id a table can hold
    except ValidationError:
        account = None
    if account is None:  # providers are configured once: one code for a wrong URL
        raise ValidationError("account is required in the webhook URL.",
                              code="missing_account", field="account")
    raw = await request.read()
    form: dict[str, str] = {}
    if request.content_type == "application/x-www-form-urlencoded":
        try:
            form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        except UnicodeDecodeError:
            # Twilio sends UTF-8: bytes that are not cannot be its signed request. Read
            # with replacement characters, the form verifies against nothing (403).
            form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    hook = WebhookRequest(
        url=services.settings.public_url + request.path_qs, method=request.method,
        headers=dict(request.headers), query=dict(request.query), form=form, body=raw)
    provider = request.match_info["provider"]
    result = await services.callbacks.handle(provider, account, hook)
    if provider == "twilio":  # Twilio wants TwiML; replies go through our outbox instead
        return web.Response(text="<Response/>", content_type="text/xml")
    return respond({"success": True, "receipts": result.receipts_applied,
                    "inbound": len(result.inbound)})
