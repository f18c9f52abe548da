"""Builds, caches and closes the adapter of each sending list.

One aiohttp session serves every HTTP adapter (created on first use, inside the running
loop). An adapter is rebuilt when its list's provider or sealed credentials change.
Simulator receipts and replies go to the sinks bound with :meth:`ProviderRegistry.bind`
(the composition root wires them to the provider callbacks and the inbound service).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import aiohttp

from core.clock import Clock, SystemClock
from core.contacts.models import Provider
from core.crypto import SecretBox
from core.errors import ValidationError
from core.providers.base import (
    InboundSink,
    InboundSms,
    Lookup,
    OutboundSms,
    Receipt,
    ReceiptSink,
    SendOutcome,
    SentSms,
    SmsProvider,
)
from core.providers.cm import CmProvider
from core.providers.common import Timeouts
from core.providers.credentials import (
    CREDENTIAL_SHAPES,
    open_credentials,
    validate_credentials,
)
from core.providers.infobip import InfobipProvider
from core.providers.simulator import SimulatorProvider
from core.providers.twilio import TwilioProvider
from core.settings import Settings
from core.tally import Tally

if TYPE_CHECKING:
    from core.contacts.models import SendingList

log = logging.getLogger(__name__)

_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,32}")


def error_label(code: str | None) -> str:
    """A provider's error code as a metrics label: its own text when it looks like a
    code, ``""`` for none, ``invalid`` for anything else (it comes from outside)."""
    if not code:
        return ""
    return code if _CODE.fullmatch(code) else "invalid"


class CountedProvider:
    """An adapter whose every send outcome is counted by (provider, outcome, error code)
    for ``GET /metrics``: one dict update per message, no lock."""

    def __init__(self, inner: SmsProvider, sends: Tally) -> None:
        self.inner = inner
        self.name = inner.name
        self._sends = sends

    async def send(self, batch: Sequence[OutboundSms]) -> list[SendOutcome]:
        outcomes = await self.inner.send(batch)
        add, name = self._sends.add, self.name
        for outcome in outcomes:
            add((name, outcome.outcome.value, error_label(outcome.error_code)))
        return outcomes

    async def lookup(self, messages: Sequence[SentSms]) -> Lookup:
        return await self.inner.lookup(messages)

    async def close(self) -> None:
        await self.inner.close()

class ProviderRegistry:
    def __init__(self, *, settings: Settings, box: SecretBox, clock: Clock | None = None,
                 timeouts: Timeouts | None = None, simulator_seed: int | None = None) -> None:
        self._settings = settings
        self._box = box
        self._clock = clock or SystemClock()
        self._timeouts = timeouts or Timeouts()
        self._simulator_seed = simulator_seed
        self._session: aiohttp.ClientSession | None = None
        self._adapters: dict[int, tuple[tuple[str, str | None], SmsProvider]] = {}
        self._retired: list[SmsProvider] = []
        self._on_receipt: ReceiptSink | None = None
        self._on_inbound: InboundSink | None = None
        # Send outcomes of this process by (provider, outcome, error code), for /metrics.
        self.sends = Tally(max_keys=500, overflow=("other", "other", "other"))

    def bind(self, *, on_receipt: ReceiptSink | None = None,
             on_inbound: InboundSink | None = None) -> None:
        """Where simulator receipts and replies go (until bound they are dropped)."""
        if on_receipt is not None:
            self._on_receipt = on_receipt
        if on_inbound is not None:
            self._on_inbound = on_inbound

    def get(self, sending_list: SendingList) -> SmsProvider:
        """The adapter for this list, built on first use and cached. Call it from inside
        the running event loop (it may create the shared HTTP session)."""
        key = (str(sending_list.provider), sending_list.credentials_sealed)
        cached = self._adapters.get(sending_list.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        adapter: SmsProvider = CountedProvider(self._build(sending_list), self.sends)
        if cached is not None:
            self._retired.append(cached[1])
        self._adapters[sending_list.id] = (key, adapter)
        return adapter

    async def close(self) -> None:
        adapters = [a for _, a in self._adapters.values()] + self._retired
        self._adapters.clear()
        self._retired.clear()
        for adapter in adapters:
            await adapter.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # Many lists and a fast executor share it; per-host limit keeps one slow
            # provider from starving the others.
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=200)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    def _build(self, sending_list: SendingList) -> SmsProvider:
        provider = str(sending_list.provider)
        if CREDENTIAL_SHAPES[Provider(provider)][0] and not sending_list.credentials_sealed:
            raise ValidationError(f"This sending list has no {provider} credentials.",
                                  code="invalid_credentials", field="credentials")
        creds = validate_credentials(provider, open_credentials(self._box, sending_list))
        settings = self._settings
        if provider == "twilio":
            return TwilioProvider(account_sid=creds["account_sid"],
                                  auth_token=creds["auth_token"], session=self._http(),
                                  base_url=settings.twilio_base_url, timeouts=self._timeouts,
                                  clock=self._clock)
        if provider == "infobip":
            # Infobip gives each account its own base URL; the settings hold the default.
            return InfobipProvider(api_key=creds["api_key"], session=self._http(),
                                   base_url=creds.get("base_url") or settings.infobip_base_url,
                                   timeouts=self._timeouts, clock=self._clock)
        if provider == "cm":
            return CmProvider(product_token=creds["product_token"], session=self._http(),
                              base_url=settings.cm_base_url, timeouts=self._timeouts,
                              clock=self._clock)
        return SimulatorProvider(
            on_receipt=self._receipt, on_inbound=self._inbound,
            latency_ms=settings.simulator_latency_ms,
            failure_rate=settings.simulator_failure_rate,
            receipt_rate=settings.simulator_receipt_rate,
            reply_rate=settings.simulator_reply_rate,
            seed=self._simulator_seed,
        )

    async def _receipt(self, receipt: Receipt) -> None:
        if self._on_receipt is not None:
            await self._on_receipt(receipt)

    async def _inbound(self, message: InboundSms) -> None:
        if self._on_inbound is not None:
            await self._on_inbound(message)
