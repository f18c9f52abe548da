"""A provider whose answers a test scripts: an outside system, faked at the port.

(The wire-level fakes in tests/fakes/ cover the real adapters; this one lets executor tests
say "the provider answers 429 for this message" without HTTP.)"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from core.providers.base import Lookup, OutboundSms, Outcome, SendOutcome, SentSms

Script = Callable[[OutboundSms, int], SendOutcome]


def accept(sms: OutboundSms, attempt: int) -> SendOutcome:
    return SendOutcome(sms.message_id, Outcome.ACCEPTED, provider_message_id=f"P{sms.message_id}")


class ScriptedProvider:
    name = "scripted"

    def __init__(self, script: Script = accept) -> None:
        self.script = script
        self.requests: list[OutboundSms] = []
        self.attempts: Counter[str] = Counter()

    async def send(self, batch: Sequence[OutboundSms]) -> list[SendOutcome]:
        out = []
        for sms in batch:
            self.attempts[sms.message_id] += 1
            self.requests.append(sms)
            out.append(self.script(sms, self.attempts[sms.message_id]))
        return out

    async def lookup(self, messages: Sequence[SentSms]) -> Lookup:
        return {}  # a provider that cannot be asked

    async def close(self) -> None:
        return None

    def get(self, sending_list) -> ScriptedProvider:
        return self
