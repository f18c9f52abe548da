"""Provider callbacks: what Twilio, Infobip and CM post to us (delivery receipts and
inbound SMS), verified each provider's way before anything is stored.

A callback acts for one sending list only: the one whose secret verified it (Infobip and
CM: the token in the URL; Twilio: the auth token of the list the request is about). An
inbound message to another number is refused, and receipts move that list's messages
only. Anything that cannot be verified is ``invalid_signature`` and stores nothing.

(Not to be confused with core.webhooks: the endpoints our customers register to hear
from us.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from core.contacts.models import Provider, SendingList
from core.contacts.phones import mask, normalize_sender
from core.errors import NotFound, PermissionDenied
from core.inbound.service import InboundOutcome, InboundService
from core.inbound.verify import ListSecrets
from core.messaging.service import MessageService
from core.providers import cm, infobip, twilio
from core.providers.base import Receipt, WebhookEvents, WebhookRequest

log = logging.getLogger(__name__)

CALLBACK_PROVIDERS = (Provider.TWILIO, Provider.INFOBIP, Provider.CM)
# Providers that prove a callback with the list's token in the URL (they sign nothing).
TOKEN_PROVIDERS = (Provider.INFOBIP, Provider.CM)


@dataclass(frozen=True)
class CallbackResult:
    receipts_applied: int
    receipts_ignored: int
    inbound: list[InboundOutcome]


class ProviderCallbacks:
    def __init__(self, *, messages: MessageService, inbound: InboundService,
                 secrets: ListSecrets) -> None:
        self.messages = messages
        self.inbound = inbound
        self.secrets = secrets

    async def handle(self, provider: str, account_id: int, request: WebhookRequest
                     ) -> CallbackResult:
        """Verify, parse, apply. What cannot be verified raises PermissionDenied
        (``invalid_signature``) and stores nothing; a payload the parser cannot read
        raises ValidationError (``invalid_webhook_payload``) and stores nothing."""
        if provider not in CALLBACK_PROVIDERS:
            raise NotFound(f"No webhook for provider {provider!r}.", code="not_found")
        list_id, number = await self.secrets.verified_list(provider, account_id, request)
        events: WebhookEvents = _PARSERS[provider](request)
        for sms in events.inbound:
            if normalize_sender(sms.to_number) != number:
                log.warning("rejected a %s webhook for account %s: inbound to %s with the "
                            "secret of another list", provider, account_id,
                            mask(sms.to_number))
                raise PermissionDenied("Webhook signature does not match.",
                                       code="invalid_signature")
        summary = await self.messages.apply_receipts(
            account_id, events.receipts, source=f"webhook:{provider}",
            sending_list_id=list_id)
        outcomes = []
        if events.inbound:
            # The list and its account in one read (the inbound handling needs both).
            sending_list = await SendingList.get(id=list_id).select_related("account")
            for sms in events.inbound:
                outcomes.append(await self.inbound.receive(
                    sms, sending_list=sending_list, account=sending_list.account))
        return CallbackResult(summary.applied, summary.ignored, outcomes)

    async def simulator_receipt(self, receipt: Receipt) -> None:
        await self.messages.apply_receipts(None, [receipt], source="simulator")


_PARSERS: dict[str, Callable[[WebhookRequest], WebhookEvents]] = {
    Provider.TWILIO: twilio.parse,
    Provider.INFOBIP: infobip.parse,
    Provider.CM: cm.parse,
}


def callback_query(sending_list: SendingList) -> dict[str, str] | None:
    """What the callback URL of this list must carry (the face builds the URL around
    it): the account, and for token providers the list's token. None: the list's
    provider calls nobody back (the simulator)."""
    if sending_list.provider == Provider.TWILIO:
        return {"account": str(sending_list.account_id)}
    if sending_list.provider in TOKEN_PROVIDERS:
        return {"account": str(sending_list.account_id), "token": sending_list.webhook_token}
    return None
