"""What providers tell us about messages we sent, applied the one way: delivery reports
(webhooks, the simulator) and the answers the reconciler gets when it asks a provider
about a message whose send outcome we never learned."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import TransactionalDBClient
from tortoise.transactions import in_transaction

from core.events import EventItem, EventSink, EventType
from core.messaging import queries
from core.providers.base import DeliveryState, Receipt
from core.sql import conn, is_postgres

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReceiptSummary:
    applied: int
    ignored: int  # duplicates, late receipts that would move backwards, unknown ids


async def apply_receipts(account_id: int | None, receipts: Sequence[Receipt], *,
                         source: str, now: dt.datetime, sending_list_id: int | None = None,
                         sink: EventSink | None = None,
                         writer: ReceiptWriter | None = None) -> ReceiptSummary:
    """Move messages forward; duplicates and late receipts change nothing.
    ``sending_list_id``: only that list's messages (a callback acts for its list).

    A receipt for a message whose send outcome was unknown (never marked sent) says the
    provider took it after all: it is billed then, as an accepted send would have been.

    With a ``writer``, the receipts are written together with those of other requests
    arriving meanwhile (one transaction, one commit); either way they are durable when
    this returns."""
    if not receipts:  # an inbound-only callback: no transaction to open
        return ReceiptSummary(0, 0)
    job = _Job(account_id, receipts, source, now, sending_list_id)
    if writer is not None and not _in_transaction():
        applied = await writer.submit(job)
    else:
        applied = (await _write([job]))[0]
    delivered = [d for d in applied.delivered if d is not None]
    if sink is not None:  # outbound webhooks: one call per batch (core.webhooks)
        await sink.emit(EventType.DELIVERY, delivered)
    if applied.ignored:
        log.info("%d receipt(s) for account %s changed nothing (duplicate, late or "
                 "unknown)", applied.ignored, account_id)
    return ReceiptSummary(applied.applied, applied.ignored)


@dataclass(frozen=True)
class _Job:
    account_id: int | None
    receipts: Sequence[Receipt]
    source: str
    now: dt.datetime
    sending_list_id: int | None


@dataclass
class _Applied:
    applied: int = 0
    ignored: int = 0
    delivered: list[EventItem | None] = field(default_factory=list)


class ReceiptWriter:
    """Writes the receipts of concurrent requests together: while one transaction is
    being written and committed, the requests arriving wait for the next, which takes
    them all. An idle writer starts at once, so a lone receipt waits for nothing; under
    load a commit (a WAL flush) serves many requests. Each caller returns only after the
    transaction holding its receipts has committed. A failing batch is written again job
    by job, so one bad request never fails the others."""

    def __init__(self) -> None:
        self._pending: list[tuple[_Job, asyncio.Future[_Applied]]] = []
        self._running: asyncio.Task[None] | None = None

    async def submit(self, job: _Job) -> _Applied:
        future: asyncio.Future[_Applied] = asyncio.get_running_loop().create_future()
        self._pending.append((job, future))
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._drain(), name="receipt-writer")
        # The batch runs on its own task: a caller that goes away does not stop it.
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            await self._flush(batch)

    async def _flush(self, batch: list[tuple[_Job, asyncio.Future[_Applied]]]) -> None:
        try:
            results = await _write([job for job, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                if not batch[0][1].done():
                    batch[0][1].set_exception(exc)
                return
            for one in batch:
                await self._flush([one])
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


def _in_transaction() -> bool:
    return isinstance(conn(), TransactionalDBClient)


def _match_key(receipt: Receipt) -> str:
    return receipt.message_id or f"{receipt.provider}:{receipt.provider_message_id}"


async def _write(jobs: Sequence[_Job]) -> list[_Applied]:
    """Apply every job's receipts, durable when this returns (inside the caller's
    transaction when there is one).

    PostgreSQL: one statement per round (update, history and usage together, see
    ``queries.apply_receipts_pg``), and a round takes each message once; a lone
    statement needs no transaction of its own, so a flush is one round trip and one
    commit. SQLite: the receipts one by one, in one transaction."""
    results = [_Applied() for _ in jobs]
    # One order by message across the batch (stable: one message's receipts keep theirs),
    # so two processes writing at once lock rows in the same order.
    work = sorted(((i, r) for i, job in enumerate(jobs) for r in job.receipts),
                  key=lambda item: _match_key(item[1]))
    if not is_postgres():
        async with in_transaction():
            await _write_one_by_one(jobs, work, results)
        return results
    for i, receipt in work:
        if receipt.message_id is None and receipt.provider_message_id is None:
            results[i].ignored += 1
    statements = _rounds(jobs, work)
    if len(statements) == 1 or _in_transaction():
        for rows, by_public_id in statements:
            _collect(work, rows, await queries.apply_receipts_pg(
                rows, by_public_id=by_public_id), results)
    else:
        async with in_transaction():
            for rows, by_public_id in statements:
                _collect(work, rows, await queries.apply_receipts_pg(
                    rows, by_public_id=by_public_id), results)
    return results


def _rounds(jobs: Sequence[_Job], work: Sequence[tuple[int, Receipt]]
            ) -> list[tuple[list[queries.ReceiptRow], bool]]:
    """The statements of a flush, in order: receipts naming our message id, then those
    naming only the provider's; a message named twice waits for the next round, so its
    receipts apply in the order they came."""
    rounds: list[tuple[dict[str, queries.ReceiptRow], dict[str, queries.ReceiptRow]]] = []
    for n, (i, receipt) in enumerate(work):
        if receipt.message_id is None and receipt.provider_message_id is None:
            continue  # names no message: ignored, as before
        job = jobs[i]
        detail = " ".join(p for p in (receipt.error_code, receipt.error_message) if p)
        row = queries.ReceiptRow(
            ord=n, message_id=receipt.message_id, provider=receipt.provider,
            provider_message_id=receipt.provider_message_id, state=receipt.state.value,
            when=receipt.occurred_at or job.now, error_code=receipt.error_code,
            error_message=receipt.error_message, segments=receipt.segments,
            account_id=job.account_id, sending_list_id=job.sending_list_id,
            detail=detail or None, source=job.source, raw_status=receipt.raw_status,
            billed_at=job.now)
        key = _match_key(receipt)
        side = 0 if receipt.message_id is not None else 1
        for r in rounds:
            if key not in r[0] and key not in r[1]:
                r[side][key] = row
                break
        else:
            rounds.append(({}, {}))
            rounds[-1][side][key] = row
    statements = []
    for by_id, by_provider in rounds:
        if by_id:
            statements.append((list(by_id.values()), True))
        if by_provider:
            statements.append((list(by_provider.values()), False))
    return statements


def _collect(work: Sequence[tuple[int, Receipt]], rows: Sequence[queries.ReceiptRow],
             moved: Sequence[dict[str, Any]], results: list[_Applied]) -> None:
    """Credit each job with the receipts of its that moved a message, and the rest as
    ignored."""
    owner = {row.ord: row for row in rows}
    done = set()
    for found in moved:
        row = owner[found["ord"]]
        done.add(row.ord)
        result = results[work[row.ord][0]]
        result.applied += 1
        result.delivered.append(_delivery_event(found, row.error_code, row.when))
    for row in rows:
        if row.ord not in done:
            results[work[row.ord][0]].ignored += 1


async def _write_one_by_one(jobs: Sequence[_Job], work: Sequence[tuple[int, Receipt]],
                            results: list[_Applied]) -> None:
    events: list[queries.ProviderEvent] = []
    usage: dict[dt.datetime, list[tuple[int, int, int, Decimal]]] = {}
    for i, receipt in work:
        job, result = jobs[i], results[i]
        when = receipt.occurred_at or job.now
        row = await queries.apply_receipt(
            account_id=job.account_id, sending_list_id=job.sending_list_id,
            provider=receipt.provider, state=receipt.state.value, message_id=receipt.message_id,
            provider_message_id=receipt.provider_message_id,
            error_code=receipt.error_code, error_message=receipt.error_message,
            when=when, segments=receipt.segments)
        if row is None:
            result.ignored += 1
            continue
        result.applied += 1
        detail = " ".join(p for p in (receipt.error_code, receipt.error_message) if p)
        result.delivered.append(_delivery_event(row, receipt.error_code, when))
        events.append((row["id"], row["status"], detail or None, job.source, when,
                       receipt.raw_status))
        # 'sent' moves only unknown messages; any other state leaves sent_at as it was,
        # so an empty one means the executor never saw this message accepted. (A
        # receipt that raced ahead of the executor's own record bills nothing twice:
        # one usage row per message.)
        if receipt.state is DeliveryState.SENT or row["sent_at"] is None:
            usage.setdefault(job.now, []).append(
                (row["account_id"], row["id"], row["segments"], Decimal(str(row["price"]))))
    await queries.record_events(events)
    for now, rows in usage.items():
        await queries.record_usage(rows, now=now)


def _delivery_event(row: dict[str, Any], error_code: str | None, when: dt.datetime
                    ) -> EventItem | None:
    """The outbound webhook ``delivery`` event of a final receipt (None for 'sent')."""
    if row["status"] not in ("delivered", "undelivered", "failed"):
        return None
    return (row["account_id"], {"message_id": row["public_id"], "status": row["status"],
                                "error_code": error_code,
                                "occurred_at": when.isoformat()})
