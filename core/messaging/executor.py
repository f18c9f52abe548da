"""The outbox executor: claims queued messages, re-checks them, sends them at each list's
rate, and records every outcome. A message is never sent twice: once a row is marked
``sending`` it is never sent again; a row whose outcome is unknown waits for a receipt and
is otherwise reconciled to ``orphaned`` with a reason."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import random
import secrets
import socket
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from core.accounts.models import Account, AccountStatus
from core.billing.gate import hold_expired
from core.clock import Clock
from core.compliance.suppression import Decision
from core.contacts.models import SendingList
from core.contacts.rules import is_sending
from core.messaging import queries
from core.messaging.content import blocked_reason
from core.messaging.ports import BillingGate, ProviderLookup, SendPolicy
from core.messaging.queries import ClaimedMessage, Event
from core.messaging.ratelimit import TokenBucket
from core.messaging.reconcile import reconcile
from core.providers.base import OutboundSms, Outcome, SendOutcome
from core.reasons import DropReason, StatusDetail
from core.system.models import Heartbeat
from core.system.service import record_beat

log = logging.getLogger(__name__)

SOURCE = "executor"
WORKER_BEAT = "worker:"  # + instance: one heartbeat per running executor


@dataclass
class ExecutorConfig:
    batch_size: int = 500
    lanes: int = 2  # batches processed side by side in one process
    lease: dt.timedelta = dt.timedelta(seconds=60)
    # A claimed message the rate limit kept waiting longer than this goes back to the
    # queue, so quiet hours, opt-outs, billing and staleness are checked again before it
    # leaves (a list at 1/s takes minutes for a batch).
    recheck_after: dt.timedelta = dt.timedelta(seconds=10)
    unknown_grace: dt.timedelta = dt.timedelta(minutes=10)
    stale_after: dt.timedelta = dt.timedelta(minutes=30)
    # Longest a quiet-hours deferral may wait: a Saturday evening in a state without
    # Sunday marketing waits ~36 h for Monday 08:00, and deferrals delay, never drop.
    quiet_hours_limit: dt.timedelta = dt.timedelta(hours=72)
    billing_retry: dt.timedelta = dt.timedelta(seconds=60)
    max_attempts: int = 6
    backoff_base: float = 2.0  # seconds, doubled per attempt
    backoff_cap: float = 300.0
    poll_interval: float = 0.25
    reconcile_every: float = 15.0
    list_cache_seconds: float = 5.0  # lists and account statuses: changes apply within it
    presence_every: float = 5.0  # seconds between heartbeats; 3 missed and a worker is gone


@dataclass
class BatchReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0
    unknown: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    deferred: int = 0


class Executor:
    def __init__(
        self,
        *,
        clock: Clock,
        providers: ProviderLookup,
        policy: SendPolicy,
        billing: BillingGate,
        callback_url: Callable[[SendingList, str], str | None],
        config: ExecutorConfig | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.clock = clock
        self.providers = providers
        self.policy = policy
        self.billing = billing
        self.callback_url = callback_url
        self.config = config or ExecutorConfig()
        self.rng = rng or random.Random()
        self._buckets: dict[int, tuple[int, TokenBucket]] = {}
        self._lists: dict[int, tuple[float, SendingList]] = {}
        self._accounts: dict[int, tuple[float, str]] = {}
        self._stopping = False
        self.instance = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._share = 1.0  # of each list's rate limit: 1 / the live workers

    # -- running ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Drain the outbox until ``stop`` is set; finishes the chunk in flight."""
        try:
            await self.announce_presence()  # take our share before the first send
        except Exception:
            log.exception("worker heartbeat failed; sending at the full rate for now")
        lanes = [asyncio.create_task(self._lane(stop), name=f"executor-lane-{i}")
                 for i in range(self.config.lanes)]
        lanes.append(asyncio.create_task(self._presence_loop(stop), name="executor-presence"))
        lanes.append(asyncio.create_task(self._reconcile_loop(stop), name="executor-reconcile"))
        try:
            await stop.wait()
        finally:
            self._stopping = True
            for task in lanes:
                if task.get_name() == "executor-reconcile":
                    task.cancel()
            results = await asyncio.gather(*lanes, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException) and not isinstance(
                        result, asyncio.CancelledError):
                    log.error("executor lane ended with %r", result)

    async def _lane(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                report = await self.drain_once()
            except Exception:
                log.exception("executor batch failed; retrying shortly")
                report = None
            if report is None or report.claimed == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.config.poll_interval)

    async def _reconcile_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.reconcile()
            except Exception:
                log.exception("reconcile failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.reconcile_every)

    async def _presence_loop(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.config.presence_every)
                if stop.is_set():
                    break
                try:
                    await self.announce_presence()
                except Exception:
                    log.exception("worker heartbeat failed")
        finally:
            # Leaving now hands our share back at the others' next beat.
            with contextlib.suppress(Exception):
                await Heartbeat.filter(component=WORKER_BEAT + self.instance).delete()

    async def announce_presence(self) -> int:
        """Beat, count the live workers (a beat within three intervals), and take an
        equal share of every list's rate limit, so N workers together keep to it.
        Returns how many workers are live."""
        now = self.clock.now()
        await record_beat(WORKER_BEAT + self.instance, now, {"lanes": self.config.lanes})
        live = await Heartbeat.filter(
            component__startswith=WORKER_BEAT,
            beat_at__gte=now - dt.timedelta(seconds=3 * self.config.presence_every)).count()
        share = 1.0 / max(1, live)
        if share != self._share:
            log.info("%d live send workers: this one takes 1/%d of each list's rate limit",
                     live, max(1, live))
            self._share = share
            for _, bucket in self._buckets.values():
                bucket.set_share(share)
        return live

    async def drain_once(self) -> BatchReport:
        """Claim one batch and take it to its outcomes."""
        token = secrets.token_hex(8)
        now = self.clock.now()
        claimed = await queries.claim_queued(token=token, now=now,
                                             lease_until=now + self.config.lease,
                                             limit=self.config.batch_size)
        report = BatchReport(claimed=len(claimed))
        if claimed:
            await self._process(claimed, token, report)
        return report

    async def drain(self, *, max_batches: int = 1_000_000) -> BatchReport:
        """Process batches until nothing is due (tests and benchmarks)."""
        total = BatchReport()
        for _ in range(max_batches):
            report = await self.drain_once()
            if report.claimed == 0:
                break
            total.claimed += report.claimed
            total.sent += report.sent
            total.failed += report.failed
            total.retried += report.retried
            total.unknown += report.unknown
            total.deferred += report.deferred
            for reason, n in report.dropped.items():
                total.dropped[reason] = total.dropped.get(reason, 0) + n
        return total

    async def reconcile(self) -> int:
        """Messages whose outcome stayed unknown past their lease: their provider is
        asked, and what it cannot account for ends ``orphaned``; never resent.
        Returns how many were orphaned (see core.messaging.reconcile)."""
        return await reconcile(now=self.clock.now(), lease=self.config.lease,
                               providers=self.providers, load_lists=self._load_lists)

    # -- one batch ---------------------------------------------------------------------------

    async def _process(self, claimed: list[ClaimedMessage], token: str,
                       report: BatchReport) -> None:
        now = self.clock.now()
        lists = await self._load_lists({m.sending_list_id for m in claimed})
        account_ids = {m.account_id for m in claimed}
        statuses = await self._account_statuses(account_ids)
        holds = await self.billing.holds(list(account_ids))

        drops: list[tuple[int, DropReason]] = []
        # (id, when, why): the message stays queued and shows why and until when.
        defers: list[tuple[int, dt.datetime, StatusDetail | None]] = []
        events: list[Event] = []
        # Verdicts are per contact, so compliance replies (which reach a contact who just
        # opted out) are asked about apart from marketing to the same contact.
        candidates: dict[tuple[int, bool], list[ClaimedMessage]] = defaultdict(list)
        blocked: dict[str, str | None] = {}  # a campaign's batch is one body many times
        for m in claimed:
            sending_list = lists.get(m.sending_list_id)
            if m.body not in blocked:
                blocked[m.body] = blocked_reason(m.body)
            reason = self._precheck(m, sending_list, statuses.get(m.account_id), now,
                                    blocked=blocked[m.body])
            if reason is None and m.account_id in holds:
                if hold_expired(holds[m.account_id], now):
                    reason = DropReason.BILLING_EXPIRED
                else:
                    defers.append((m.id, now + self.config.billing_retry,
                                   StatusDetail.BILLING_HOLD))
                    events.append((m.id, "queued", "billing hold", SOURCE, now))
                    continue
            if reason is not None:
                drops.append((m.id, reason))
            else:
                candidates[(m.sending_list_id, m.is_reply)].append(m)

        sendable: dict[int, list[ClaimedMessage]] = {}
        for (list_id, replies), messages in candidates.items():
            contact_ids = [m.contact_id for m in messages]
            verdicts = await self.policy.check_batch(
                sending_list=lists[list_id], contact_ids=contact_ids, now=now,
                transactional_ids={m.contact_id for m in messages if m.transactional},
                # No subscription row: a one-off API send (opt-outs and blocks still apply).
                subscription_optional_ids={m.contact_id for m in messages
                                           if m.list_contact_id is None},
                reply_ids=set(contact_ids) if replies else set())
            keep = []
            for m in messages:
                verdict = verdicts.get(m.contact_id)
                if verdict is None or verdict.decision == Decision.DROP:
                    why = verdict.reason if verdict else DropReason.NOT_SUBSCRIBED
                    assert isinstance(why, DropReason)  # drop() always names one
                    drops.append((m.id, why))
                elif verdict.decision == Decision.DEFER:
                    assert verdict.until is not None
                    if verdict.until - m.queued_at > self.config.quiet_hours_limit:
                        drops.append((m.id, DropReason.QUIET_HOURS_EXPIRED))
                    else:
                        defers.append((m.id, verdict.until, StatusDetail.QUIET_HOURS))
                        events.append((m.id, "queued", f"deferred: {verdict.reason}",
                                       SOURCE, now))
                else:
                    keep.append(m)
            if keep:
                sendable[list_id] = sendable.get(list_id, []) + keep

        if drops:
            await queries.drop(drops, token=token, now=now)
            events += [(mid, "dropped", reason, SOURCE, now) for mid, reason in drops]
            for _, reason in drops:
                report.dropped[reason] = report.dropped.get(reason, 0) + 1
        if defers:
            await queries.release(defers, token=token)
            report.deferred += len(defers)
        if events:
            await queries.record_events(events)

        if sendable:
            await asyncio.gather(*(self._send_list(lists[list_id], messages, token, report,
                                                   checked_at=now)
                                   for list_id, messages in sendable.items()))

    def _precheck(self, m: ClaimedMessage, sending_list: SendingList | None,
                  account_status: str | None, now: dt.datetime, *, blocked: str | None
                  ) -> DropReason | None:
        if account_status != AccountStatus.ACTIVE:
            return DropReason.ACCOUNT_SUSPENDED
        if not is_sending(sending_list):
            return DropReason.INACTIVE_LIST
        baseline = max(m.queued_at, m.not_before or m.queued_at)
        if now - baseline > self.config.stale_after:
            return DropReason.STALE
        if blocked is not None:
            return DropReason.BLOCKED_CONTENT
        return None

    async def _send_list(self, sending_list: SendingList, messages: list[ClaimedMessage],
                         token: str, report: BatchReport, *, checked_at: dt.datetime
                         ) -> None:
        provider = self.providers.get(sending_list)
        bucket = self._bucket(sending_list)
        pending = messages
        while pending:
            if self._stopping:
                await queries.release([(m.id, m.not_before, None) for m in pending],
                                      token=token)
                return
            take = await bucket.take(len(pending))
            now = self.clock.now()
            if now - checked_at > self.config.recheck_after:
                # The verdicts are out of date (it may be 21:00 by now): check again.
                bucket.give_back(take)
                await queries.release([(m.id, m.not_before, None) for m in pending],
                                      token=token)
                return
            chunk, pending = pending[:take], pending[take:]
            ours = await queries.mark_sending([m.id for m in chunk], token=token,
                                              lease_until=now + self.config.lease)
            chunk = [m for m in chunk if m.id in ours]  # the rest were dropped meanwhile
            if not chunk:
                continue
            outbound = [OutboundSms(m.public_id, m.to_number, m.from_number, m.body,
                                    self.callback_url(sending_list, m.public_id))
                        for m in chunk]
            try:
                outcomes = await provider.send(outbound)
            except Exception as exc:  # an adapter bug: the request may have left
                log.exception("provider %s raised; outcomes unknown", provider.name)
                outcomes = [SendOutcome(o.message_id, Outcome.UNKNOWN,
                                        error_message=f"adapter error: {type(exc).__name__}")
                            for o in outbound]
            await self._finish(chunk, outcomes, report)

    async def _finish(self, chunk: Sequence[ClaimedMessage], outcomes: Sequence[SendOutcome],
                      report: BatchReport) -> None:
        now = self.clock.now()
        by_id = {o.message_id: o for o in outcomes}
        sent: list[tuple[int, str | None, int | None]] = []
        failed: list[tuple[int, str | None, str | None, StatusDetail]] = []
        retry: list[tuple[int, dt.datetime, str | None]] = []
        unknown: list[int] = []
        events: list[Event] = []
        usage: list[tuple[int, int, int, object]] = []
        stats: list[int] = []
        unknown_reason = ""
        for m in chunk:
            outcome = by_id.get(m.public_id) or SendOutcome(
                m.public_id, Outcome.UNKNOWN, error_message="no outcome from adapter")
            attempt = m.attempts + 1
            match outcome.outcome:
                case Outcome.ACCEPTED:
                    sent.append((m.id, outcome.provider_message_id, outcome.segments))
                    usage.append((m.account_id, m.id, m.segments, m.price))
                    if m.list_contact_id is not None:
                        stats.append(m.list_contact_id)
                case Outcome.REJECTED:
                    failed.append((m.id, outcome.error_code, outcome.error_message,
                                   StatusDetail.PROVIDER_REJECTED))
                    events.append((m.id, "failed", _detail(outcome), SOURCE, now))
                case Outcome.RETRY if attempt >= self.config.max_attempts:
                    failed.append((m.id, outcome.error_code, outcome.error_message,
                                   StatusDetail.RETRIES_EXHAUSTED))
                    events.append((m.id, "failed", f"retries exhausted: {_detail(outcome)}",
                                   SOURCE, now))
                case Outcome.RETRY:
                    when = now + dt.timedelta(seconds=self._backoff(attempt,
                                                                    outcome.retry_after))
                    retry.append((m.id, when, outcome.error_code))
                    events.append((m.id, "queued", f"retry {attempt}: {_detail(outcome)}",
                                   SOURCE, now))
                case _:
                    unknown.append(m.id)
                    unknown_reason = _detail(outcome)
                    events.append((m.id, "sending", f"outcome unknown: {_detail(outcome)}",
                                   SOURCE, now))
        # No event row for the happy path: sent_at is the history line (see
        # MessageService.history); at thousands a second the insert is not free.
        # One transaction: the outcomes, their usage and stats commit together, once (a
        # commit is a WAL flush; these were up to seven).
        async with in_transaction():
            await queries.mark_sent(sent, now=now)
            await queries.mark_failed(failed, now=now)
            await queries.requeue(retry)
            await queries.mark_unknown(unknown, until=now + self.config.unknown_grace,
                                       reason=unknown_reason)
            await queries.record_usage(usage, now=now)  # type: ignore[arg-type]
            await queries.bump_send_stats(stats, now=now)
            await queries.record_events(events)
        report.sent += len(sent)
        report.failed += len(failed)
        report.retried += len(retry)
        report.unknown += len(unknown)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after + self.rng.uniform(0, 1)
        delay = min(self.config.backoff_cap, self.config.backoff_base * 2 ** (attempt - 1))
        return delay * (0.5 + self.rng.random() / 2)  # "equal jitter"

    # -- caches --------------------------------------------------------------------------------

    async def _load_lists(self, ids: set[int]) -> dict[int, SendingList]:
        now = asyncio.get_running_loop().time()
        fresh = {i: lst for i, (at, lst) in self._lists.items()
                 if i in ids and now - at < self.config.list_cache_seconds}
        missing = ids - set(fresh)
        if missing:
            for lst in await SendingList.filter(id__in=list(missing)):
                self._lists[lst.id] = (now, lst)
                fresh[lst.id] = lst
        return fresh

    async def _account_statuses(self, ids: set[int]) -> dict[int, str]:
        now = asyncio.get_running_loop().time()
        stale = [i for i in ids if i not in self._accounts
                 or now - self._accounts[i][0] >= self.config.list_cache_seconds]
        if stale:
            for account_id, status in await Account.filter(id__in=stale).values_list(
                    "id", "status"):
                self._accounts[account_id] = (now, status)
        return {i: self._accounts[i][1] for i in ids if i in self._accounts}

    def _bucket(self, sending_list: SendingList) -> TokenBucket:
        limit = sending_list.rate_limit_per_minute
        cached = self._buckets.get(sending_list.id)
        if cached is None or cached[0] != limit:
            cached = (limit, TokenBucket(limit, clock=self.clock, share=self._share))
            self._buckets[sending_list.id] = cached
        return cached[1]


def _detail(outcome: SendOutcome) -> str:
    parts = [p for p in (outcome.error_code, outcome.error_message) if p]
    return " ".join(parts)[:200] or outcome.outcome.value
