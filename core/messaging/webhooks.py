"""What providers tell us: delivery receipts and inbound messages, verified each
provider's way before anything is stored. Inbound messages go to compliance; the reply
it decides on (a STOP confirmation, HELP text) goes out through the outbox, once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from core.billing.pricing import estimate
from core.clock import Clock
from core.compliance.inbound import InboundOutcome
from core.contacts.models import Provider, SendingList
from core.contacts.phones import mask, normalize_sender
from core.errors import NotFound, PermissionDenied
from core.messaging.outbox import NewMessage, enqueue
from core.messaging.segments import count
from core.messaging.service import MessageQueries
from core.providers import cm, infobip, twilio
from core.providers.base import InboundSms, Receipt, WebhookEvents, WebhookRequest
from core.providers.common import query_token
from core.providers.registry import ProviderRegistry

log = logging.getLogger(__name__)

WEBHOOK_PROVIDERS = (Provider.TWILIO, Provider.INFOBIP, Provider.CM)
KEY_CACHE_SECONDS = 30.0


class InboundPort(Protocol):
    async def handle_inbound(self, sms: InboundSms) -> InboundOutcome: ...


@dataclass(frozen=True)
class WebhookResult:
    receipts_applied: int
    receipts_ignored: int
    inbound: list[InboundOutcome]


class WebhookService:
    def __init__(self, *, clock: Clock, providers: ProviderRegistry, messages: MessageQueries,
                 compliance: InboundPort) -> None:
        self.clock = clock
        self.providers = providers
        self.messages = messages
        self.compliance = compliance
        self._key_cache: dict[tuple[str, int], tuple[float, list[tuple[str, str]]]] = {}

    async def handle(self, provider: str, account_id: int, request: WebhookRequest
                     ) -> WebhookResult:
        """Verify, parse, apply. A bad signature raises PermissionDenied and stores
        nothing; a payload the parser cannot read raises ValidationError
        (``invalid_webhook_payload``) and stores nothing."""
        if provider not in WEBHOOK_PROVIDERS:
            raise NotFound(f"No webhook for provider {provider!r}.", code="not_found")
        await self._verify(provider, account_id, request)
        events: WebhookEvents = _PARSERS[provider](request)
        summary = await self.messages.apply_receipts(account_id, events.receipts,
                                                     source=f"webhook:{provider}")
        outcomes = []
        ours = set(await SendingList.filter(account_id=account_id).values_list(
            "phone_number", flat=True)) if events.inbound else set()
        for sms in events.inbound:
            if normalize_sender(sms.to_number) not in ours:
                log.warning("inbound to %s is for no list of account %s; ignored",
                            mask(sms.to_number), account_id)
                continue
            outcomes.append(await self.receive(sms))
        return WebhookResult(summary.applied, summary.ignored, outcomes)

    async def receive(self, sms: InboundSms) -> InboundOutcome:
        """One inbound message (from a webhook or the simulator): compliance decides,
        and its reply, if any, is queued once."""
        outcome = await self.compliance.handle_inbound(sms)
        if outcome.reply_text and outcome.sending_list_id and not outcome.duplicate:
            if sms.provider == Provider.TWILIO and twilio.answers_itself(sms.body):
                log.info("inbound %s: Twilio sent its own confirmation", outcome.inbound_id)
            else:
                await self._queue_reply(outcome)
        return outcome

    async def simulator_receipt(self, receipt: Receipt) -> None:
        await self.messages.apply_receipts(None, [receipt], source="simulator")

    async def _verify(self, provider: str, account_id: int, request: WebhookRequest) -> None:
        """Twilio: X-Twilio-Signature with the auth token of the list the callback names
        (From on receipts, To on inbound), else of any of the account's Twilio lists.
        Infobip and CM: the list's secret token in the URL, compared in constant time.
        Secrets are cached briefly (webhooks come thousands a second); a miss reloads
        once, so a rotated credential works at once."""
        for fresh in (False, True):
            keys = await self._keys(provider, account_id, fresh=fresh)
            if provider == Provider.TWILIO:
                numbers = {normalize_sender(request.form.get(k, "")) for k in ("From", "To")}
                tokens = dict.fromkeys(t for n, t in keys if n in numbers)
                tokens.update(dict.fromkeys(t for _, t in keys))
                if any(twilio.verify(request, token) for token in tokens):
                    return
            else:
                verify = infobip.verify if provider == Provider.INFOBIP else cm.verify
                if query_token(request.query) and any(verify(request, t) for _, t in keys):
                    return
        log.warning("rejected a %s webhook for account %s: signature or token mismatch",
                    provider, account_id)
        raise PermissionDenied("Webhook signature does not match.", code="invalid_signature")

    async def _keys(self, provider: str, account_id: int, *, fresh: bool
                    ) -> list[tuple[str, str]]:
        """(list number, secret) of the account's lists on this provider."""
        key = (provider, account_id)
        cached = self._key_cache.get(key)
        if cached is not None and not fresh and time.monotonic() - cached[0] < KEY_CACHE_SECONDS:
            return cached[1]
        entries = []
        for sending_list in await SendingList.filter(account_id=account_id, provider=provider):
            if provider == Provider.TWILIO:
                secret = self.providers.credentials(sending_list).get("auth_token")
            else:
                secret = sending_list.webhook_token
            if secret:
                entries.append((sending_list.phone_number, secret))
        self._key_cache[key] = (time.monotonic(), entries)
        return entries

    async def _queue_reply(self, outcome: InboundOutcome) -> None:
        if outcome.contact_id is None or not outcome.reply_to:
            log.warning("reply for inbound %s has no recipient; not sent", outcome.inbound_id)
            return
        sending_list = await SendingList.get(id=outcome.sending_list_id)
        text = outcome.reply_text or ""
        info = count(text)
        await enqueue([NewMessage(
            account_id=sending_list.account_id, sending_list_id=sending_list.id,
            contact_id=outcome.contact_id, to_number=outcome.reply_to,
            from_number=sending_list.phone_number, body=text, segments=info.segments,
            encoding=info.encoding, price=estimate(info.segments),
            provider=sending_list.provider, transactional=True, is_reply=True)],
            now=self.clock.now())


_PARSERS: dict[str, Callable[[WebhookRequest], WebhookEvents]] = {
    Provider.TWILIO: twilio.parse,
    Provider.INFOBIP: infobip.parse,
    Provider.CM: cm.parse,
}


def callback_url(public_url: str, sending_list: SendingList) -> str | None:
    """Where this list's provider should post receipts for a message."""
    base = f"{public_url}/api/webhook-feedbacks/{sending_list.provider}"
    if sending_list.provider == Provider.TWILIO:
        return f"{base}?account={sending_list.account_id}"
    if sending_list.provider in (Provider.INFOBIP, Provider.CM):
        return f"{base}?account={sending_list.account_id}&token={sending_list.webhook_token}"
    return None

