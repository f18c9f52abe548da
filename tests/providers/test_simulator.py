"""The in-process simulator: outcomes, receipts, replies, determinism."""

from __future__ import annotations

import pytest

from core.providers.base import DeliveryState, InboundSms, OutboundSms, Outcome, Receipt
from core.providers.simulator import SimulatorProvider


def batch(n: int, start: int = 0) -> list[OutboundSms]:
    return [OutboundSms(f"s{i:07d}", f"+1555{i:07d}", "+15550009999", "Hi")
            for i in range(start, start + n)]


class Sinks:
    def __init__(self) -> None:
        self.receipts: list[Receipt] = []
        self.inbound: list[InboundSms] = []

    async def receipt(self, receipt: Receipt) -> None:
        self.receipts.append(receipt)

    async def reply(self, message: InboundSms) -> None:
        self.inbound.append(message)


def simulator(sinks: Sinks, **kw) -> SimulatorProvider:
    kw.setdefault("latency_ms", 0)
    return SimulatorProvider(on_receipt=sinks.receipt, on_inbound=sinks.reply, **kw)


async def test_accepts_and_delivers_every_message_by_default() -> None:
    sinks = Sinks()
    sim = simulator(sinks, latency_ms=5)
    outcomes = await sim.send(batch(20))
    assert {o.outcome for o in outcomes} == {Outcome.ACCEPTED}
    assert sinks.receipts == []  # receipts come later, asynchronously
    await sim.drain()
    assert [r.message_id for r in sinks.receipts] == [o.message_id for o in outcomes]
    assert {r.state for r in sinks.receipts} == {DeliveryState.DELIVERED}
    assert [r.provider_message_id for r in sinks.receipts] == [
        o.provider_message_id for o in outcomes]


async def test_same_seed_same_everything() -> None:
    async def run() -> tuple[list, list, list]:
        sinks = Sinks()
        sim = simulator(sinks, failure_rate=0.3, receipt_rate=0.7, reply_rate=0.2, seed=42)
        outcomes = await sim.send(batch(300))
        await sim.drain()
        return outcomes, sinks.receipts, sinks.inbound

    assert await run() == await run()


async def test_rates_shape_the_outcomes() -> None:
    sinks = Sinks()
    sim = simulator(sinks, failure_rate=0.2, receipt_rate=0.5, reply_rate=0.5, seed=7)
    outcomes = await sim.send(batch(4000))
    await sim.drain()
    rejected = sum(o.outcome is Outcome.REJECTED for o in outcomes)
    assert 250 < rejected < 550  # about 10% refused at send
    accepted = len(outcomes) - rejected
    assert 0.4 * accepted < len(sinks.receipts) < 0.6 * accepted
    undelivered = sum(r.state is DeliveryState.UNDELIVERED for r in sinks.receipts)
    assert undelivered > 0 and all(r.error_code == "30003" for r in sinks.receipts
                                   if r.state is DeliveryState.UNDELIVERED)
    assert sinks.inbound and all(m.to_number == "+15550009999" for m in sinks.inbound)


@pytest.mark.parametrize(("to", "code"), [("+15005550001", "21211"),
                                          ("+15005550004", "21610"),
                                          ("+15005550009", "21614")])
async def test_magic_numbers(to: str, code: str) -> None:
    sim = simulator(Sinks())
    [outcome] = await sim.send([OutboundSms("m1", to, "+15550009999", "Hi")])
    assert (outcome.outcome, outcome.error_code) == (Outcome.REJECTED, code)


async def test_inject_inbound_reaches_the_sink() -> None:
    sinks = Sinks()
    sim = simulator(sinks)
    message = await sim.inject_inbound("+15551230000", "+15550009999", "STOP")
    assert sinks.inbound == [message]


async def test_a_failing_sink_loses_no_other_receipt_and_is_retried(caplog) -> None:
    """As a provider retries a webhook our side failed: the failed receipt comes again
    later, and the rest of the batch does not wait for it."""
    seen: list[str] = []
    failures = {"s0000001": 2, "s0000002": 99}

    async def flaky(receipt: Receipt) -> None:
        left = failures.get(receipt.message_id or "", 0)
        if left:
            failures[receipt.message_id or ""] = left - 1
            raise RuntimeError("database is down")
        seen.append(receipt.message_id or "")

    sim = SimulatorProvider(on_receipt=flaky, latency_ms=0, retry_delays=(0.01, 0.01, 0.01))
    await sim.send(batch(4))
    await sim.drain()  # retries included
    assert seen == ["s0000000", "s0000003", "s0000001"]  # s0000002 gave up after 4 tries
    assert "giving up" in caplog.text


async def test_close_cancels_pending_receipts() -> None:
    sinks = Sinks()
    sim = simulator(sinks, receipt_delay_ms=60_000)
    await sim.send(batch(5))
    await sim.close()
    assert sinks.receipts == []


def test_rates_are_checked() -> None:
    with pytest.raises(ValueError, match="failure_rate"):
        SimulatorProvider(failure_rate=1.5)


async def test_many_batches_every_receipt_once() -> None:
    sinks = Sinks()
    sim = simulator(sinks, receipt_delay_ms=0)
    for i in range(20):
        await sim.send(batch(500, start=i * 500))
    await sim.drain()
    assert len({r.message_id for r in sinks.receipts}) == len(sinks.receipts) == 10_000
