"""Which sending list a provider callback comes for, proven by that list's secret.

Infobip and CM sign nothing: the list's webhook token rides in the callback URL, and the
list is the one whose token it is. Twilio signs each request with the auth token of the
account that owns the number: the list is the one whose number the request is about (To
on an inbound message, From on a status callback), verified with that list's token only.
A list without a secret (no credentials yet, or unreadable ones) can verify nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from core.clock import Clock
from core.contacts.models import Provider, SendingList
from core.contacts.phones import normalize_sender
from core.crypto import SecretBox
from core.errors import PermissionDenied, TracklyError
from core.providers import cm, infobip, twilio
from core.providers.base import WebhookRequest
from core.providers.common import query_token
from core.providers.credentials import open_credentials

log = logging.getLogger(__name__)

# Callbacks come thousands a second; the secrets of an account's lists are read once per
# this long. A miss reloads at once, so a new list or a rotated secret works at once.
CACHE_FOR = dt.timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class ListSecret:
    list_id: int
    number: str  # the list's from-number, normalised
    secret: str  # Twilio: the auth token; Infobip and CM: the webhook token


class ListSecrets:
    def __init__(self, *, clock: Clock, box: SecretBox) -> None:
        self.clock = clock
        self.box = box
        self._cache: dict[tuple[str, int], tuple[dt.datetime, list[ListSecret]]] = {}

    async def verified_list(self, provider: str, account_id: int, request: WebhookRequest
                            ) -> tuple[int, str]:
        """(list id, list number) of the account's list whose secret proves this request;
        PermissionDenied ``invalid_signature`` when there is none."""
        for fresh in (False, True):
            found = _match(provider, await self._secrets(provider, account_id, fresh=fresh),
                           request)
            if found is not None:
                return found.list_id, found.number
        log.warning("rejected a %s webhook for account %s: no list's secret verifies it",
                    provider, account_id)
        raise PermissionDenied("Webhook signature does not match.", code="invalid_signature")

    async def _secrets(self, provider: str, account_id: int, *, fresh: bool
                       ) -> list[ListSecret]:
        key = (provider, account_id)
        now = self.clock.now()
        cached = self._cache.get(key)
        if cached is not None and not fresh and now - cached[0] < CACHE_FOR:
            return cached[1]
        entries = []
        for sending_list in await SendingList.filter(account_id=account_id, provider=provider):
            secret = self._secret(sending_list)
            if secret:
                entries.append(ListSecret(sending_list.id, sending_list.phone_number, secret))
        self._cache[key] = (now, entries)
        return entries

    def _secret(self, sending_list: SendingList) -> str | None:
        if sending_list.provider != Provider.TWILIO:
            return sending_list.webhook_token
        try:
            return open_credentials(self.box, sending_list).get("auth_token")
        except TracklyError:  # sealed with another installation key: cannot verify
            log.warning("sending list %s: credentials unreadable; its webhooks are refused",
                        sending_list.id)
            return None


def _match(provider: str, entries: list[ListSecret], request: WebhookRequest
           ) -> ListSecret | None:
    if provider == Provider.TWILIO:
        number = normalize_sender(twilio.our_number(request.form))
        return next((e for e in entries
                     if e.number == number and twilio.verify(request, e.secret)), None)
    if not query_token(request.query):
        return None
    verify = infobip.verify if provider == Provider.INFOBIP else cm.verify
    return next((e for e in entries if verify(request, e.secret)), None)
