"""Named SQL for the send pipeline's hot paths (claiming, finishing, receipts).

Every state change is a conditional UPDATE (``WHERE status = ...``) so that two actors
racing (an executor and an opt-out, a receipt and a retry) can never both win."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.reasons import DropReason, StatusDetail
from core.sql import Params, execute, execute_many, fetch, placeholders, read_ts, ts

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # "due at any time" for a NULL not_before
CLAIM_COLUMNS = (
    "id, public_id, account_id, sending_list_id, contact_id, list_contact_id, creative_id, "
    "to_number, from_number, body, segments, price, attempts, queued_at, not_before, "
    "transactional, is_reply"
)


@dataclass(slots=True)
class ClaimedMessage:
    id: int
    public_id: str
    account_id: int
    sending_list_id: int
    contact_id: int
    list_contact_id: int | None
    creative_id: int | None
    to_number: str
    from_number: str
    body: str
    segments: int
    price: Decimal
    attempts: int
    queued_at: dt.datetime
    not_before: dt.datetime | None
    transactional: bool
    is_reply: bool

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ClaimedMessage:
        return cls(
            id=row["id"], public_id=row["public_id"], account_id=row["account_id"],
            sending_list_id=row["sending_list_id"], contact_id=row["contact_id"],
            list_contact_id=row["list_contact_id"], creative_id=row["creative_id"],
            to_number=row["to_number"], from_number=row["from_number"], body=row["body"],
            segments=row["segments"], price=_decimal(row["price"]),
            attempts=row["attempts"], queued_at=read_ts(row["queued_at"]),  # type: ignore[arg-type]
            not_before=read_ts(row["not_before"]), transactional=bool(row["transactional"]),
            is_reply=bool(row["is_reply"]),
        )


def _decimal(value: Any) -> Decimal:
    """NUMERIC as asyncpg gives it (a Decimal already) or as SQLite does."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


async def claim_queued(*, token: str, now: dt.datetime, lease_until: dt.datetime,
                       limit: int) -> list[ClaimedMessage]:
    """Take up to ``limit`` due messages for this executor: they stay ``queued`` but carry
    our claim token and a lease, so nobody else takes them and a crash before sending
    merely lets the lease run out. PostgreSQL: SKIP LOCKED lets many executors claim
    side by side. SQLite: one writer at a time, so the UPDATE itself is the lock."""
    p = Params()
    lock = " FOR UPDATE SKIP LOCKED" if p.pg else ""
    # COALESCE, not "not_before IS NULL OR not_before <= now": the planner has no
    # statistics for the expression, so it assumes a third of the queued rows are due
    # and walks the partial queued index in id order. With the plain column it trusted
    # statistics taken while the rows were held for later (quiet hours, a campaign
    # parked ahead), estimated none due and read and sorted the whole partition at
    # every claim (issue 17; 1,400-2,100 buffers per claim of 500 on 20,000 rows).
    sql = (
        f"UPDATE message_sent SET claim_token = {p(token)}, lease_expires_at = "
        f"{p(ts(lease_until))} WHERE id IN (SELECT id FROM message_sent "
        f"WHERE status = 'queued' AND COALESCE(not_before, {p(ts(EPOCH))}) <= {p(ts(now))} "
        f"AND (lease_expires_at IS NULL OR lease_expires_at < {p(ts(now))}) "
        f"ORDER BY id LIMIT {p(limit)}{lock}) RETURNING {CLAIM_COLUMNS}"
    )
    rows = await fetch(sql, p)
    rows.sort(key=lambda r: r["id"])
    return [ClaimedMessage.from_row(r) for r in rows]


async def mark_sending(ids: Sequence[int], *, token: str, lease_until: dt.datetime
                       ) -> set[int]:
    """The point of no return. Only rows still queued under our claim move to
    ``sending``; a message an opt-out dropped a moment ago is not among them."""
    if not ids:
        return set()
    p = Params()
    sql = (
        f"UPDATE message_sent SET status = 'sending', status_detail = NULL, "
        f"attempts = attempts + 1, "
        f"lease_expires_at = {p(ts(lease_until))} WHERE {p.isin('id', ids)} "
        f"AND claim_token = {p(token)} AND status = 'queued' RETURNING id"
    )
    return {r["id"] for r in await fetch(sql, p)}


async def release(rows: Sequence[tuple[int, dt.datetime | None, StatusDetail | None]], *,
                  token: str) -> None:
    """Give claimed-but-unsent messages back to the queue, due at ``not_before``, with
    why they wait (quiet hours, a billing hold; None when merely not sent yet), so the
    message itself says so until it leaves."""
    ph = placeholders(4)
    await execute_many(
        f"UPDATE message_sent SET claim_token = NULL, lease_expires_at = NULL, "
        f"not_before = {ph[0]}, status_detail = {ph[1]} WHERE id = {ph[2]} "
        f"AND claim_token = {ph[3]} AND status = 'queued'",
        [(ts(when), why.value if why else None, mid, token) for mid, when, why in rows],
    )


async def drop(rows: Sequence[tuple[int, DropReason]], *, token: str, now: dt.datetime
               ) -> None:
    """Drop claimed queued messages with a reason."""
    ph = placeholders(4)
    await execute_many(
        f"UPDATE message_sent SET status = 'dropped', status_detail = {ph[0]}, "
        f"dropped_at = {ph[1]}, claim_token = NULL, lease_expires_at = NULL "
        f"WHERE id = {ph[2]} AND claim_token = {ph[3]} AND status = 'queued'",
        [(reason.value, stamp, mid, token) for stamp in [ts(now)] for mid, reason in rows],
    )


async def drop_queued_for_contact(*, contact_id: int, list_ids: Sequence[int], detail: DropReason,
                                  source: str, now: dt.datetime) -> int:
    """A contact's queued messages from these lists become unsendable (an unsubscribe, a
    block): core.contacts.ports.DropQueued, which contacts and compliance are given.

    Status 'queued' includes messages an executor has claimed but not yet marked
    'sending': its own conditional update then finds them gone, so they never leave.
    Compliance replies stay: an opt-out confirmation must survive the opt-out it
    confirms, and a repeated STOP. Each dropped message gets an event. Runs in the
    caller's transaction when there is one."""
    if not list_ids:
        return 0
    p = Params()
    rows = await fetch(
        f"UPDATE message_sent SET status = 'dropped', status_detail = {p(detail)}, "
        f"dropped_at = {p(ts(now))}, updated_at = {p(ts(now))} "
        f"WHERE contact_id = {p(contact_id)} "
        f"AND status = 'queued' AND NOT is_reply AND "
        f"{p.isin('sending_list_id', list_ids, 'int')} RETURNING id", p)
    await record_events([(r["id"], "dropped", detail, source, now) for r in rows])
    return len(rows)


_SENT_SET = (
    "provider_message_id = COALESCE(m.provider_message_id, {pid}), "
    "provider_segments = COALESCE({parts}, m.provider_segments), "
    "sent_at = COALESCE(m.sent_at, {now}), "
    "status = CASE WHEN m.status IN ('sending', 'orphaned') THEN 'sent' ELSE m.status END, "
    "status_detail = CASE WHEN m.status IN ('sending', 'orphaned') THEN NULL "
    "ELSE m.status_detail END, claim_token = NULL, lease_expires_at = NULL"
)


async def mark_sent(rows: Sequence[tuple[int, str | None, int | None]], *,
                    now: dt.datetime) -> None:
    """Accepted by the provider: (id, provider message id, the provider's segment
    count). A receipt that raced ahead keeps its later status (SET expressions all read
    the old row)."""
    if not rows:
        return
    p = Params()
    if p.pg:  # one statement for the whole batch
        ids, pids, counts = (list(c) for c in zip(*rows, strict=True))
        sets = _SENT_SET.format(pid="v.pid", parts="v.parts", now=p(now))
        await execute(
            f"UPDATE message_sent AS m SET {sets} FROM unnest({p(ids)}::bigint[], "
            f"{p(pids)}::varchar[], {p(counts)}::int[]) AS v(id, pid, parts) "
            "WHERE m.id = v.id", p)
        return
    await execute_many(  # SQLite is in-process: a statement per row is cheap
        f"UPDATE message_sent AS m SET {_SENT_SET.format(pid='?', parts='?', now='?')} "
        "WHERE m.id = ?",
        [(pid, parts, stamp, mid) for stamp in [ts(now)] for mid, pid, parts in rows])


async def mark_failed(rows: Sequence[tuple[int, str | None, str | None, StatusDetail]], *,
                      now: dt.datetime) -> None:
    """Permanent failures: (id, provider error code, message, status_detail)."""
    ph = placeholders(5)
    await execute_many(
        f"UPDATE message_sent SET status = 'failed', error_code = {ph[0]}, "
        f"error_message = {ph[1]}, status_detail = {ph[2]}, failed_at = {ph[3]}, "
        f"claim_token = NULL, lease_expires_at = NULL "
        f"WHERE id = {ph[4]} AND status = 'sending'",
        [(code, (msg or "")[:300] or None, detail.value, stamp, mid)
         for stamp in [ts(now)] for mid, code, msg, detail in rows],
    )


async def requeue(rows: Sequence[tuple[int, dt.datetime, str | None]]) -> None:
    """The provider said it did not take these and sending again is safe."""
    ph = placeholders(4)
    await execute_many(
        f"UPDATE message_sent SET status = 'queued', not_before = {ph[0]}, "
        f"error_code = {ph[1]}, status_detail = {ph[2]}, claim_token = NULL, "
        f"lease_expires_at = NULL WHERE id = {ph[3]} AND status = 'sending'",
        [(ts(when), code, StatusDetail.RETRY.value, mid) for mid, when, code in rows],
    )


async def mark_unknown(ids: Sequence[int], *, until: dt.datetime, reason: str) -> None:
    """The request may have left. Never re-sent: wait for a receipt until ``until``,
    then the reconciler decides (orphaned with a reason)."""
    if not ids:
        return
    p = Params()
    await execute(
        f"UPDATE message_sent SET status_detail = {p(StatusDetail.OUTCOME_UNKNOWN.value)}, "
        f"error_message = {p(reason[:300])}, lease_expires_at = {p(ts(until))} "
        f"WHERE {p.isin('id', ids)} AND status = 'sending'", p)


@dataclass(slots=True)
class Unsettled:
    """A message whose send outcome stayed unknown past its lease."""

    id: int
    public_id: str
    account_id: int
    sending_list_id: int
    provider: str
    provider_message_id: str | None
    to_number: str
    from_number: str
    body: str
    queued_at: dt.datetime


async def claim_unsettled(*, token: str, now: dt.datetime, lease_until: dt.datetime,
                          limit: int = 1000) -> list[Unsettled]:
    """Messages still ``sending`` past their lease, taken by one reconciler (our token,
    a fresh lease) while it asks their provider about them: a second reconciler skips
    them, and a crash merely lets the lease run out again."""
    p = Params()
    lock = " FOR UPDATE SKIP LOCKED" if p.pg else ""
    sql = (
        f"UPDATE message_sent SET claim_token = {p(token)}, "
        f"lease_expires_at = {p(ts(lease_until))} WHERE id IN (SELECT id FROM message_sent "
        f"WHERE status = 'sending' AND lease_expires_at < {p(ts(now))} ORDER BY id "
        f"LIMIT {p(limit)}{lock}) RETURNING id, public_id, account_id, sending_list_id, "
        f"provider, provider_message_id, to_number, from_number, body, queued_at"
    )
    rows = sorted(await fetch(sql, p), key=lambda r: r["id"])
    return [Unsettled(r["id"], r["public_id"], r["account_id"], r["sending_list_id"],
                      r["provider"], r["provider_message_id"], r["to_number"],
                      r["from_number"], r["body"], read_ts(r["queued_at"]))  # type: ignore[arg-type]
            for r in rows]


async def orphan(ids: Sequence[int], *, token: str) -> list[int]:
    """Claimed unsettled messages nobody could account for end ``orphaned``: never
    resent. One a receipt settled meanwhile is left as it is."""
    if not ids:
        return []
    p = Params()
    sql = (
        f"UPDATE message_sent SET status = 'orphaned', "
        f"status_detail = {p(StatusDetail.ORPHAN.value)}, "
        f"error_message = COALESCE(error_message, 'executor stopped mid-send; "
        f"outcome unknown, not resent'), claim_token = NULL, lease_expires_at = NULL "
        f"WHERE {p.isin('id', ids)} AND claim_token = {p(token)} AND status = 'sending' "
        f"RETURNING id"
    )
    return [r["id"] for r in await fetch(sql, p)]


def _stamper() -> Callable[[dt.datetime], Any]:
    """ts() with memory: a batch's rows mostly share one timestamp."""
    seen: dict[dt.datetime, Any] = {}

    def stamp(when: dt.datetime) -> Any:
        if when not in seen:
            seen[when] = ts(when)
        return seen[when]

    return stamp


Event = tuple[int, str, str | None, str, dt.datetime]  # id, status, detail, source, when
# ... and the provider's own status word, for events a provider's answer caused
ProviderEvent = tuple[int, str, str | None, str, dt.datetime, str | None]


async def record_events(rows: Sequence[Event | ProviderEvent]) -> None:
    """Status history: (message id, status, detail, source, when[, provider status])."""
    if not rows:
        return
    clipped = [(row[0], row[1], (row[2] or None) and row[2][:200], row[3], row[4],
                row[5] if len(row) > 5 else None) for row in rows]
    p = Params()
    if p.pg:
        cols = [list(c) for c in zip(*clipped, strict=True)]
        await execute(
            "INSERT INTO message_event (message_id, status, detail, source, occurred_at, "
            f"provider_status) SELECT * FROM unnest({p(cols[0])}::bigint[], "
            f"{p(cols[1])}::varchar[], {p(cols[2])}::varchar[], {p(cols[3])}::varchar[], "
            f"{p(cols[4])}::timestamptz[], {p(cols[5])}::varchar[])", p)
        return
    stamps = _stamper()
    await execute_many(
        "INSERT INTO message_event (message_id, status, detail, source, occurred_at, "
        "provider_status) VALUES (?, ?, ?, ?, ?, ?)",
        [(mid, status, detail, source, stamps(when), raw)
         for mid, status, detail, source, when, raw in clipped],
    )


async def record_usage(rows: Sequence[tuple[int, int, int, Decimal]], *, now: dt.datetime
                       ) -> None:
    """One usage record per message that left: (account, message, segments, price)."""
    if not rows:
        return
    p = Params()
    if p.pg:
        cols = [list(c) for c in zip(*rows, strict=True)]
        await execute(
            "INSERT INTO usage_record (account_id, message_id, segments, price, occurred_at) "
            f"SELECT a, m, s, pr, {p(now)} FROM unnest({p(cols[0])}::int[], "
            f"{p(cols[1])}::bigint[], {p(cols[2])}::int[], {p(cols[3])}::numeric[]) "
            "AS v(a, m, s, pr) ON CONFLICT (message_id) DO NOTHING", p)
        return
    stamp = ts(now)
    await execute_many(
        "INSERT INTO usage_record (account_id, message_id, segments, price, occurred_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING",
        [(acc, mid, seg, str(price), stamp) for acc, mid, seg, price in rows],
    )


async def bump_send_stats(list_contact_ids: Sequence[int], *, now: dt.datetime) -> None:
    ids = [i for i in list_contact_ids if i is not None]
    if not ids:
        return
    p = Params()
    await execute(
        f"UPDATE list_contact SET send_count = send_count + 1, last_sent_at = {p(ts(now))} "
        f"WHERE {p.isin('id', ids)}", p)


_RECEIPT_FROM = "('sending', 'sent', 'orphaned')"
_RECEIPT_SET = {
    "sent": ("sent", "sent_at", "('sending', 'orphaned')"),
    "delivered": ("delivered", "delivered_at", _RECEIPT_FROM),
    "undelivered": ("undelivered", "failed_at", _RECEIPT_FROM),
    "failed": ("failed", "failed_at", _RECEIPT_FROM),
}


async def apply_receipt(*, account_id: int | None, provider: str, state: str,
                        sending_list_id: int | None = None,
                        message_id: str | None, provider_message_id: str | None,
                        error_code: str | None, error_message: str | None,
                        when: dt.datetime, segments: int | None = None
                        ) -> dict[str, Any] | None:
    """Move one message forward by a delivery report; None when it matched nothing or
    would have moved backwards (a late ``sent`` after ``delivered``, a duplicate).
    ``account_id`` scopes webhook receipts to the account in their URL, and
    ``sending_list_id`` to the list whose secret verified them; in-process sources (the
    simulator) pass None."""
    status, stamp, allowed = _RECEIPT_SET[state]
    p = Params()
    sets = [f"status = {p(status)}", f"{stamp} = COALESCE({stamp}, {p(ts(when))})",
            "claim_token = NULL", "lease_expires_at = NULL"]
    if status in ("undelivered", "failed"):
        sets += [f"error_code = COALESCE({p(error_code)}, error_code)",
                 f"error_message = COALESCE({p((error_message or '')[:300] or None)}, "
                 "error_message)",
                 f"status_detail = {p(StatusDetail.RECEIPT.value)}"]
    else:
        sets.append("status_detail = NULL")
    if segments is not None:
        sets.append(f"provider_segments = COALESCE(provider_segments, {p(segments)})")
    if message_id is not None:
        if provider_message_id is not None:
            sets.append(f"provider_message_id = COALESCE(provider_message_id, "
                        f"{p(provider_message_id)})")
        match = f"public_id = {p(message_id)}"
    elif provider_message_id is not None:
        match = f"provider = {p(provider)} AND provider_message_id = {p(provider_message_id)}"
    else:
        return None
    scope = f"account_id = {p(account_id)} AND " if account_id is not None else ""
    if sending_list_id is not None:
        scope += f"sending_list_id = {p(sending_list_id)} AND "
    sql = (f"UPDATE message_sent SET {', '.join(sets)} WHERE {match} AND {scope}"
           f"status IN {allowed} "
           # sent_at itself, not "sent_at IS NULL": SQLite 3.40 answers 0 for that
           # in this RETURNING although the column is NULL.
           f"RETURNING id, public_id, sending_list_id, status, account_id, segments, price, "
           f"sent_at")
    rows = await fetch(sql, p)
    return rows[0] if rows else None


# One UPDATE for many receipts (PostgreSQL), joined to the receipts as arrays: each
# receipt's own target state, time and error, and the scope its request was verified
# for. The history row and (for a message never marked sent) the usage row go in the
# same statement, as data-modifying CTEs: one round trip and, outside a transaction, one
# commit for a whole flush. A message appears at most once per statement (callers split
# repeats into later rounds: an UPDATE ... FROM changes a row once).
_BATCH_FAILING = "v.status IN ('undelivered', 'failed')"
_BATCH_SQL = """
WITH v AS (
  SELECT * FROM unnest($1::int[], $2::varchar[], $3::varchar[], $4::varchar[],
                       $5::varchar[], $6::timestamptz[], $7::varchar[], $8::varchar[],
                       $9::int[], $10::int[], $11::int[], $12::varchar[], $13::varchar[],
                       $14::varchar[], $15::timestamptz[])
    AS v(ord, public_id, provider, pmid, status, at, error_code, error_message, segments,
         account_id, list_id, detail, source, raw_status, billed_at)
), u AS (
  UPDATE message_sent m SET
    status = v.status,
    sent_at = CASE WHEN v.status = 'sent' THEN COALESCE(m.sent_at, v.at) ELSE m.sent_at END,
    delivered_at = CASE WHEN v.status = 'delivered' THEN COALESCE(m.delivered_at, v.at)
                   ELSE m.delivered_at END,
    failed_at = CASE WHEN %(failing)s THEN COALESCE(m.failed_at, v.at) ELSE m.failed_at END,
    claim_token = NULL, lease_expires_at = NULL,
    error_code = CASE WHEN %(failing)s THEN COALESCE(v.error_code, m.error_code)
                 ELSE m.error_code END,
    error_message = CASE WHEN %(failing)s THEN COALESCE(v.error_message, m.error_message)
                    ELSE m.error_message END,
    status_detail = CASE WHEN %(failing)s THEN '%(receipt)s' END,
    provider_segments = COALESCE(m.provider_segments, v.segments),
    provider_message_id = CASE WHEN v.public_id IS NOT NULL
                          THEN COALESCE(m.provider_message_id, v.pmid)
                          ELSE m.provider_message_id END
  FROM v
  WHERE %(match)s
    AND (v.account_id IS NULL OR m.account_id = v.account_id)
    AND (v.list_id IS NULL OR m.sending_list_id = v.list_id)
    AND m.status IN ('sending', 'sent', 'orphaned')
    AND NOT (v.status = 'sent' AND m.status = 'sent')
  RETURNING v.ord, v.status AS receipt_status, v.at, v.detail, v.source, v.raw_status,
            v.billed_at, m.id, m.public_id, m.sending_list_id, m.status, m.account_id,
            m.segments, m.price, m.sent_at
), e AS (
  INSERT INTO message_event (message_id, status, detail, source, occurred_at,
                             provider_status)
  SELECT id, status, detail, source, at, raw_status FROM u
), b AS (
  INSERT INTO usage_record (account_id, message_id, segments, price, occurred_at)
  SELECT account_id, id, segments, price, billed_at FROM u
  WHERE receipt_status = 'sent' OR sent_at IS NULL
  ON CONFLICT (message_id) DO NOTHING
)
SELECT ord, id, public_id, sending_list_id, status, account_id, segments, price, sent_at
FROM u ORDER BY ord"""
_BATCH_BY_PUBLIC_ID = _BATCH_SQL % {
    "failing": _BATCH_FAILING, "receipt": StatusDetail.RECEIPT.value,
    "match": "m.public_id = v.public_id"}
_BATCH_BY_PROVIDER_ID = _BATCH_SQL % {
    "failing": _BATCH_FAILING, "receipt": StatusDetail.RECEIPT.value,
    # IS NOT NULL spelled out: the index on the provider's id is partial (0019).
    "match": "v.public_id IS NULL AND m.provider = v.provider "
             "AND m.provider_message_id = v.pmid AND m.provider_message_id IS NOT NULL"}


@dataclass(frozen=True, slots=True)
class ReceiptRow:
    """One receipt for :func:`apply_receipts_pg`: what it says, the scope its request was
    verified for, its history row's detail and source, and when its usage is billed."""
    ord: int
    message_id: str | None
    provider: str
    provider_message_id: str | None
    state: str  # sent, delivered, undelivered, failed
    when: dt.datetime
    error_code: str | None
    error_message: str | None
    segments: int | None
    account_id: int | None
    sending_list_id: int | None
    detail: str | None
    source: str
    raw_status: str | None
    billed_at: dt.datetime


async def apply_receipts_pg(receipts: Sequence[ReceiptRow], *, by_public_id: bool
                            ) -> list[dict[str, Any]]:
    """PostgreSQL: apply receipts that each name a distinct message in ONE statement
    (update, history, usage); the rows that moved, with the ``ord`` of their receipt.
    ``by_public_id``: every receipt carries our message id; else every one carries only
    the provider's."""
    p = Params()
    cols: list[list[Any]] = [[] for _ in range(15)]
    for r in receipts:
        for i, value in enumerate((
                r.ord, r.message_id, r.provider, r.provider_message_id,
                _RECEIPT_SET[r.state][0], ts(r.when), r.error_code,
                (r.error_message or "")[:300] or None, r.segments, r.account_id,
                r.sending_list_id, (r.detail or None) and r.detail[:200], r.source,
                r.raw_status, ts(r.billed_at))):
            cols[i].append(value)
    for col in cols:
        p(col)
    return await fetch(_BATCH_BY_PUBLIC_ID if by_public_id else _BATCH_BY_PROVIDER_ID, p)
