"""An in-process SMS provider: the default for ``trackly run`` and the benchmark.

Nothing leaves the process. Each batch costs one simulated round trip (``latency_ms``);
accepted messages get a delivery receipt later (``receipt_rate`` of them), and delivered
messages sometimes get a reply (``reply_rate``), both through the sinks the composition
root wires (``on_receipt``, ``on_inbound``). With a ``seed`` every outcome, id, receipt
and reply is the same on every run.

``failure_rate`` of messages fail: half are refused at send time (REJECTED, Twilio code
21612 "cannot route"), half are accepted and then reported undelivered (30003).

Magic recipients behave the same way every time (Twilio's test numbers)::

    +15005550001  REJECTED 21211  invalid number
    +15005550004  REJECTED 21610  recipient replied STOP
    +15005550009  REJECTED 21614  not a mobile number
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from core.providers.base import (
    DeliveryState,
    InboundSink,
    InboundSms,
    Lookup,
    OutboundSms,
    Outcome,
    Receipt,
    ReceiptSink,
    SendOutcome,
    SentSms,
)

log = logging.getLogger(__name__)

NAME = "simulator"
MAGIC: dict[str, tuple[str, str]] = {
    "+15005550001": ("21211", "The 'To' number is not a valid phone number."),
    "+15005550004": ("21610", "Attempt to send to unsubscribed recipient"),
    "+15005550009": ("21614", "'To' number is not a valid mobile number"),
}
REPLIES = ("Thanks!", "STOP", "Who is this?", "yes", "Info please", "stop texting me",
           "Liked \u201cthat\u201d", "\U0001f44d")


# After a failed hand-over, as a provider retries a webhook our side failed (the database
# restarting, say): about five minutes in all, then it gives up.
RETRY_DELAYS: tuple[float, ...] = (1, 2, 4, 8, 15, 30, 30, 30, 30, 30, 30, 30, 30, 30)


class SimulatorProvider:
    name = NAME

    def __init__(self, *, on_receipt: ReceiptSink | None = None,
                 on_inbound: InboundSink | None = None, latency_ms: int = 20,
                 failure_rate: float = 0.0, receipt_rate: float = 1.0,
                 reply_rate: float = 0.0, receipt_delay_ms: int | None = None,
                 seed: int | None = None,
                 retry_delays: Sequence[float] = RETRY_DELAYS) -> None:
        for name, rate in (("failure_rate", failure_rate), ("receipt_rate", receipt_rate),
                           ("reply_rate", reply_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        self._on_receipt = on_receipt
        self._on_inbound = on_inbound
        self._retry_delays = tuple(retry_delays)
        self._latency = max(latency_ms, 0) / 1000
        self._receipt_delay = (self._latency if receipt_delay_ms is None
                               else max(receipt_delay_ms, 0) / 1000)
        self._failure_rate = failure_rate
        self._receipt_rate = receipt_rate
        self._reply_rate = reply_rate
        self._rng = random.Random(seed)
        self._pending: set[asyncio.Task[None]] = set()
        self.sent = 0  # accepted messages, for tests and the benchmark

    async def send(self, batch: Sequence[OutboundSms]) -> list[SendOutcome]:
        if not batch:
            return []
        if self._latency:
            await asyncio.sleep(self._latency)
        outcomes: list[SendOutcome] = []
        receipts: list[Receipt] = []
        replies: list[InboundSms] = []
        rng = self._rng
        for sms in batch:
            magic = MAGIC.get(sms.to)
            if magic is not None:
                outcomes.append(SendOutcome(sms.message_id, Outcome.REJECTED,
                                            error_code=magic[0], error_message=magic[1]))
                continue
            fails = rng.random() < self._failure_rate
            if fails and rng.random() < 0.5:
                outcomes.append(SendOutcome(sms.message_id, Outcome.REJECTED,
                                            error_code="21612",
                                            error_message="Simulated: cannot route"))
                continue
            sid = f"SM{rng.getrandbits(128):032x}"
            outcomes.append(SendOutcome(sms.message_id, Outcome.ACCEPTED,
                                        provider_message_id=sid, segments=None))
            self.sent += 1
            if rng.random() >= self._receipt_rate:
                continue
            if fails:
                receipts.append(Receipt(NAME, sid, DeliveryState.UNDELIVERED, sms.message_id,
                                        error_code="30003",
                                        error_message="Simulated: unreachable handset",
                                        raw_status="undelivered"))
                continue
            receipts.append(Receipt(NAME, sid, DeliveryState.DELIVERED, sms.message_id,
                                    raw_status="delivered"))
            if rng.random() < self._reply_rate:
                replies.append(InboundSms(NAME, f"SM{rng.getrandbits(128):032x}",
                                          from_number=sms.to, to_number=sms.from_,
                                          body=rng.choice(REPLIES)))
        if receipts or replies:
            self._spawn(self._emit(receipts, replies))
        return outcomes

    async def lookup(self, messages: Sequence[SentSms]) -> Lookup:
        """Nothing to ask: the simulator answers every send at once."""
        return {}

    async def inject_inbound(self, from_number: str, to_number: str, body: str) -> InboundSms:
        """A reply as if a recipient had texted one of our numbers (demos, tests)."""
        message = InboundSms(NAME, f"SM{self._rng.getrandbits(128):032x}",
                             from_number=from_number, to_number=to_number, body=body)
        if self._on_inbound is not None:
            await self._on_inbound(message)
        return message

    async def drain(self) -> None:
        """Wait until every scheduled receipt and reply has been handed over."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._pending):
            task.cancel()
        for task in list(self._pending):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _emit(self, receipts: list[Receipt], replies: list[InboundSms]) -> None:
        if self._receipt_delay:
            await asyncio.sleep(self._receipt_delay)
        for receipt in receipts:
            if self._on_receipt is not None:
                await self._hand_over(self._on_receipt, receipt,
                                      f"receipt for {receipt.message_id}")
        for reply in replies:
            if self._on_inbound is not None:
                await self._hand_over(self._on_inbound, reply,
                                      f"reply {reply.provider_message_id}")

    async def _hand_over(self, sink: Callable[[Any], Awaitable[Any]], item: Any,
                         what: str) -> None:
        """Hand one item over; if that fails, retry it on its own (the rest of the batch
        goes on) after each of ``retry_delays``, then give up."""
        try:
            await sink(item)
        except Exception as exc:  # one bad item must not lose the rest of the batch
            if not self._retry_delays:
                log.exception("simulator %s failed", what)
                return
            log.warning("simulator %s failed (%s); retrying", what, exc)
            self._spawn(self._retry(sink, item, what))

    async def _retry(self, sink: Callable[[Any], Awaitable[Any]], item: Any,
                     what: str) -> None:
        for attempt, delay in enumerate(self._retry_delays, start=1):
            await asyncio.sleep(delay)
            try:
                await sink(item)
                return
            except Exception as exc:
                if attempt == len(self._retry_delays):
                    log.exception("simulator %s failed %d times; giving up", what,
                                  attempt + 1)
                    return
                log.warning("simulator %s failed again (%s)", what, exc)
