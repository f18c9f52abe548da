"""What every provider fake shares: an aiohttp server on an ephemeral port, the record of
every message it accepted, programmable faults, webhook delivery, an HTTP control API and
a standalone mode.

Test API (in process)::

    fake = await TwilioFake(account_sid=..., auth_token=...).start()
    fake.url                       # base URL to give the adapter
    fake.inject(Fault.RATE_LIMIT, retry_after="3")   # next request answers 429
    fake.inject(Fault.TIMEOUT, times=1)   # accept, then hold the answer until release()
    fake.holding                          # answers held back right now
    fake.release()                        # let the held answers go
    fake.stop_numbers.add("+15550000001")            # Twilio: 21610 for this number
    fake.receipt_mode = ReceiptMode.OUT_OF_ORDER     # delivered before sent
    fake.accepted                                     # list[Accepted], in order
    fake.received_twice()                             # {to: count} for any to > 1
    await fake.send_inbound("+1555...", "+1444...", "STOP")
    await fake.drain()                                # every queued webhook posted
    fake.webhook_calls                                # [(url, status), ...] our answers
    await fake.close()

Control API (standalone, same operations over HTTP under ``/_fake/``)::

    GET  /_fake/messages     {"count": n, "messages": [...], "received_twice": {...}}
    GET  /_fake/stats        {"accepted": n, "requests": n, "statuses": {...}, ...}
    POST /_fake/faults       {"kind": "rate_limit", "times": 1, "retry_after": "2", ...}
    POST /_fake/stop-numbers {"numbers": ["+1555..."]}
    POST /_fake/receipts     {"mode": "normal|none|duplicate|out_of_order"}
    POST /_fake/inbound      {"from": "+1555...", "to": "+1444...", "body": "STOP"}
    POST /_fake/unknown-receipt {"url": "..."}   a receipt for an id nobody sent
    POST /_fake/drain        waits until every queued webhook is posted
    POST /_fake/reset        forget messages, faults, stop numbers
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import aiohttp
from aiohttp import web


class Fault(StrEnum):
    RATE_LIMIT = "rate_limit"  # 429, with Retry-After when retry_after is set
    SERVER_ERROR = "server_error"  # 500, nothing recorded
    ACCEPT_THEN_ERROR = "accept_then_error"  # recorded as sent, answers 500
    TIMEOUT = "timeout"  # (recorded when accept=True) answers once released (or `hold` s)


class ReceiptMode(StrEnum):
    NORMAL = "normal"  # sent, then the final state
    NONE = "none"  # no receipts at all
    DUPLICATE = "duplicate"  # every receipt twice
    OUT_OF_ORDER = "out_of_order"  # final state first, then sent


@dataclass
class FaultRule:
    kind: Fault
    times: int = 1  # requests it applies to; -1 forever
    to: str | None = None  # only requests for this recipient
    retry_after: str | None = None
    hold: float | None = None  # seconds at most; None: until release() (or close())
    accept: bool = True


@dataclass
class Accepted:
    provider_id: str
    to: str  # E.164
    from_: str
    body: str
    reference: str | None  # our message id, where the provider carries one
    callback_url: str | None
    segments: int
    at: float = field(default_factory=time.time)


@dataclass
class ReceiptJob:
    message: Accepted
    status: str  # the provider's own status word
    error_code: str | None = None
    url: str | None = None


def new_rng() -> random.Random:
    return random.Random()


class FakeServer:
    """Subclasses add the provider's routes and webhook formats."""

    name = "fake"
    receipt_batch = 1  # receipts per webhook call (Infobip batches)

    def __init__(self, *, inbound_url: str | None = None, receipt_url: str | None = None,
                 receipt_mode: ReceiptMode = ReceiptMode.NORMAL,
                 receipt_workers: int = 4) -> None:
        self.inbound_url = inbound_url
        self.receipt_url = receipt_url  # account-level receipt URL (CM, Infobip default)
        self.receipt_mode = receipt_mode
        self.accepted: list[Accepted] = []
        self.stop_numbers: set[str] = set()
        self.undeliverable: dict[str, str] = {}  # to -> error code of the final receipt
        self.faults: list[FaultRule] = []
        self.requests = 0
        self.statuses: Counter[int] = Counter()
        self.webhook_calls: list[tuple[str, int]] = []
        self._counts: Counter[str] = Counter()
        self._rng = new_rng()
        self._queue: asyncio.Queue[ReceiptJob] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._receipt_workers = receipt_workers
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""
        self.port = 0
        # The provider's clock, for the times its API shows (a test may hand it its
        # FakeClock's ``now`` so those times agree with ours).
        self.now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
        self.holding = 0  # answers a TIMEOUT fault holds back right now
        self._released = asyncio.Event()

    # --- lifecycle -----------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeServer:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        self.routes(app)
        self._control_routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5,
                                     handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.url = f"http://{host}:{self.port}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._workers = [asyncio.create_task(self._deliver_loop())
                         for _ in range(self._receipt_workers)]
        return self

    def release(self) -> None:
        """Let every answer a TIMEOUT fault holds back go (and those to come)."""
        self._released.set()

    async def hold_then(self, rule: FaultRule,
                        respond: Callable[[], Awaitable[web.Response]]) -> web.Response:
        """Hold the answer back until release() (at most ``rule.hold`` seconds), so a
        test can see its client give up first without timing anything itself."""
        self.holding += 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), rule.hold)
        finally:
            self.holding -= 1
        return await respond()

    async def close(self) -> None:
        self.release()
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- record and faults ---------------------------------------------------------------

    def record(self, message: Accepted) -> None:
        self.accepted.append(message)
        self._counts[message.to] += 1
        if self.receipt_mode is not ReceiptMode.NONE:
            self._queue_receipts(message)

    def received_twice(self) -> dict[str, int]:
        return {to: n for to, n in self._counts.items() if n > 1}

    def inject(self, kind: Fault | str, *, times: int = 1, to: str | None = None,
               retry_after: str | None = None, hold: float | None = None,
               accept: bool = True) -> FaultRule:
        rule = FaultRule(Fault(kind), times, to, retry_after, hold, accept)
        self.faults.append(rule)
        return rule

    def take_fault(self, recipients: list[str]) -> FaultRule | None:
        """The first rule for this request, consumed (one use per request)."""
        for rule in self.faults:
            if rule.to is None or rule.to in recipients:
                if rule.times > 0:
                    rule.times -= 1
                    if rule.times == 0:
                        self.faults.remove(rule)
                return rule
        return None

    def reset(self) -> None:
        self.accepted.clear()
        self._counts.clear()
        self.faults.clear()
        self.stop_numbers.clear()
        self.undeliverable.clear()
        self.statuses.clear()
        self.requests = 0

    def new_hex(self, length: int) -> str:
        return f"{self._rng.getrandbits(length * 4):0{length}x}"

    def new_digits(self, length: int) -> str:
        return "".join(self._rng.choice("0123456789") for _ in range(length))

    # --- webhooks ------------------------------------------------------------------------

    def final_status(self, message: Accepted) -> tuple[str, str | None]:
        """(provider status word, error code) of the last receipt for this message."""
        raise NotImplementedError

    def sent_status(self) -> str:
        raise NotImplementedError

    def _queue_receipts(self, message: Accepted) -> None:
        final, code = self.final_status(message)
        jobs = [ReceiptJob(message, self.sent_status()), ReceiptJob(message, final, code)]
        if self.receipt_mode is ReceiptMode.OUT_OF_ORDER:
            jobs.reverse()
        if self.receipt_mode is ReceiptMode.DUPLICATE:
            jobs = [job for job in jobs for _ in (0, 1)]
        for job in jobs:
            self._queue.put_nowait(job)

    async def post_receipts(self, jobs: list[ReceiptJob]) -> None:
        raise NotImplementedError

    async def send_inbound(self, from_: str, to: str, body: str) -> int:
        raise NotImplementedError

    async def send_unknown_receipt(self, url: str | None = None) -> int:
        raise NotImplementedError

    async def post(self, url: str, *, data: Any = None, json_body: Any = None,
                   headers: dict[str, str] | None = None) -> int:
        """Call one of our webhooks; record (url, status). Network errors count as 599."""
        assert self._session is not None, "start() the fake first"
        try:
            if json_body is not None:
                async with self._session.post(url, json=json_body, headers=headers) as resp:
                    status = resp.status
            else:
                async with self._session.post(url, data=data, headers=headers) as resp:
                    status = resp.status
        except (TimeoutError, aiohttp.ClientError):
            status = 599
        self.webhook_calls.append((url, status))
        return status

    async def drain(self, within: float = 10.0) -> None:
        await asyncio.wait_for(self._queue.join(), within)

    async def _deliver_loop(self) -> None:
        while True:
            jobs = [await self._queue.get()]
            while len(jobs) < self.receipt_batch and not self._queue.empty():
                jobs.append(self._queue.get_nowait())
            try:
                by_url: dict[str | None, list[ReceiptJob]] = {}
                for job in jobs:
                    by_url.setdefault(job.url or job.message.callback_url or self.receipt_url,
                                      []).append(job)
                for url, group in by_url.items():
                    if url:
                        for job in group:
                            job.url = url
                        await self.post_receipts(group)
            except Exception:  # a fake must keep delivering; the test sees webhook_calls
                self.webhook_calls.append(("<error>", 0))
            finally:
                for _ in jobs:
                    self._queue.task_done()

    # --- control API ---------------------------------------------------------------------

    def _control_routes(self, app: web.Application) -> None:
        app.router.add_get("/_fake/messages", self._ctl_messages)
        app.router.add_get("/_fake/stats", self._ctl_stats)
        app.router.add_post("/_fake/faults", self._ctl_faults)
        app.router.add_post("/_fake/stop-numbers", self._ctl_stop_numbers)
        app.router.add_post("/_fake/receipts", self._ctl_receipts)
        app.router.add_post("/_fake/inbound", self._ctl_inbound)
        app.router.add_post("/_fake/unknown-receipt", self._ctl_unknown)
        app.router.add_post("/_fake/drain", self._ctl_drain)
        app.router.add_post("/_fake/reset", self._ctl_reset)

    async def _ctl_messages(self, request: web.Request) -> web.Response:
        return web.json_response({
            "count": len(self.accepted),
            "messages": [asdict(m) for m in self.accepted],
            "received_twice": self.received_twice(),
        })

    async def _ctl_stats(self, request: web.Request) -> web.Response:
        return web.json_response({
            "accepted": len(self.accepted), "requests": self.requests,
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "recipients": len(self._counts), "received_twice": len(self.received_twice()),
            "pending_webhooks": self._queue.qsize(),
        })

    async def _ctl_faults(self, request: web.Request) -> web.Response:
        data = await request.json()
        rule = self.inject(data.pop("kind"), **data)
        return web.json_response(asdict(rule), status=201)

    async def _ctl_stop_numbers(self, request: web.Request) -> web.Response:
        self.stop_numbers.update((await request.json())["numbers"])
        return web.json_response({"stop_numbers": sorted(self.stop_numbers)})

    async def _ctl_receipts(self, request: web.Request) -> web.Response:
        self.receipt_mode = ReceiptMode((await request.json())["mode"])
        return web.json_response({"mode": self.receipt_mode})

    async def _ctl_inbound(self, request: web.Request) -> web.Response:
        data = await request.json()
        status = await self.send_inbound(data["from"], data["to"], data["body"])
        return web.json_response({"webhook_status": status})

    async def _ctl_unknown(self, request: web.Request) -> web.Response:
        data = await request.json() if request.can_read_body else {}
        status = await self.send_unknown_receipt(data.get("url"))
        return web.json_response({"webhook_status": status})

    async def _ctl_drain(self, request: web.Request) -> web.Response:
        await self.drain()
        return web.json_response({"pending_webhooks": 0})

    async def _ctl_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"reset": True})


def json_error(status: int, body: dict[str, Any],
               headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), headers=headers,
                        content_type="application/json")


def run_standalone(build: Callable[[argparse.Namespace], FakeServer],
                   add_arguments: Callable[[argparse.ArgumentParser], None]) -> None:
    """``python -m tests.fakes.<provider>_fake --port 0 ...``: prints one JSON line
    ``{"port": N, "url": "http://127.0.0.1:N"}`` once listening, runs until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--inbound-url", default=None)
    parser.add_argument("--receipt-url", default=None)
    parser.add_argument("--receipts", default=ReceiptMode.NORMAL.value,
                        choices=[m.value for m in ReceiptMode])
    add_arguments(parser)
    args = parser.parse_args()

    async def main() -> None:
        fake = build(args)
        fake.receipt_mode = ReceiptMode(args.receipts)
        await fake.start(args.host, args.port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        sys.stdout.write(json.dumps({"port": fake.port, "url": fake.url}) + "\n")
        sys.stdout.flush()
        await stop.wait()
        await fake.close()

    asyncio.run(main())
