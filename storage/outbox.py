"""The outbox table: messages waiting to be delivered, and their results.

Producers call `enqueue` inside their own write transaction, so the thing that is
announced and its deliveries commit together. The delivery worker (bot/delivery.py)
claims pending rows, sends them at Telegram's pace and records each result
(`OutboxRepo.flush_and_claim` does both in one transaction per batch).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from storage.db import Database, SyncTx, Tx
from storage.timefmt import to_db

# Telegram's 403 to a person who never started the bot: "Forbidden: bot can't initiate conversation with a user"
NOT_STARTED_ERROR = "%can't initiate conversation%"
FINAL_STATUSES = ("sent", "blocked", "failed", "unknown", "skipped")
NEW_MESSAGE = 0
"""`message_id` of a tracked send that has no progress message: its report is sent as a new one."""


@dataclass(frozen=True)
class OutgoingMessage:
    kind: str
    ref_id: int | None
    chat_id: int
    text: str
    member_id: int | None = None
    reply_markup: dict[str, Any] | None = None
    attachment: dict[str, Any] | None = None
    priority: int = 0
    paid: bool = False


async def enqueue(
    tx: Tx, messages: Iterable[OutgoingMessage], now: datetime, not_before: datetime | None = None
) -> int:
    """Add messages to the outbox; a (kind, ref_id, chat_id) already queued is not queued twice."""
    rows = [
        (
            m.kind,
            m.ref_id,
            m.chat_id,
            m.member_id,
            m.text,
            None if m.reply_markup is None else json.dumps(m.reply_markup, ensure_ascii=False),
            None if m.attachment is None else json.dumps(m.attachment, ensure_ascii=False),
            m.priority,
            to_db(not_before or now),
            to_db(now),
            1 if m.paid else 0,
        )
        for m in messages
    ]
    # The rows the INSERT changed (not COUNT(*) before and after: two scans of the whole outbox,
    # 2 x 60 ms on PostgreSQL once a city's million-recipient notice sits in it, on every enqueue).
    return await tx.executemany(
        "INSERT INTO outbox (kind, ref_id, chat_id, member_id, text, reply_markup, attachment, priority,"
        " not_before, created_at, paid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (kind, ref_id, chat_id) DO NOTHING",
        rows,
    )


async def track_progress(tx: Tx, kind: str, ref_id: int, chat_id: int, message_id: int, lang: str) -> None:
    """Ask the engine to keep `message_id` in `chat_id` updated with the progress of (kind, ref_id)."""
    await tx.execute(
        "INSERT INTO outbox_progress (kind, ref_id, chat_id, message_id, lang, scheduled) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (kind, ref_id) DO UPDATE SET chat_id = excluded.chat_id,"
        " message_id = excluded.message_id, lang = excluded.lang, scheduled = excluded.scheduled, done_at = NULL",
        (kind, ref_id, chat_id, message_id, lang, int(message_id == NEW_MESSAGE)),
    )


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: str
    ref_id: int | None
    chat_id: int
    member_id: int | None
    text: str
    reply_markup: dict[str, Any] | None
    attachment: dict[str, Any] | None
    paid: bool
    attempts: int
    markup_json: str | None = None  # reply_markup as stored, passed to Telegram as is


@dataclass(frozen=True)
class Result:
    """What happened to one claimed row.

    status: 'sent' | 'blocked' | 'failed' | 'unknown' (final), 'retry' (back to pending, the
    attempt counts), 'requeue' (back to pending, the attempt does not count: 429),
    'migrated' (back to pending with `new_chat_id`).
    """

    item: OutboxItem
    status: str
    message_id: int | None = None
    error: str | None = None
    new_chat_id: int | None = None


@dataclass(frozen=True)
class Progress:
    kind: str
    ref_id: int
    chat_id: int
    message_id: int
    lang: str
    scheduled: bool = False  # fired by a schedule (the progress message, if any, was posted later)


@dataclass(frozen=True)
class Counts:
    pending: int = 0
    sending: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    resent: int = 0  # rows sent again after a crash interrupted their first attempt (any status)
    not_started: int = 0  # of `blocked`: people who never opened the chat with the bot (Telegram's 403)

    @property
    def total(self) -> int:
        return self.pending + self.sending + self.sent + self.blocked + self.failed + self.unknown + self.skipped

    @property
    def open(self) -> int:
        return self.pending + self.sending


@lru_cache(maxsize=512)
def _decoded(text: str) -> Any:
    """A broadcast repeats the same few markups and attachments: decode each once (read-only)."""
    return json.loads(text)


def _item(row: Any) -> OutboxItem:
    markup = row["reply_markup"]
    attachment = row["attachment"]
    return OutboxItem(
        id=int(row["id"]),
        kind=str(row["kind"]),
        ref_id=row["ref_id"],
        chat_id=int(row["chat_id"]),
        member_id=row["member_id"],
        text=str(row["text"]),
        reply_markup=None if markup is None else _decoded(markup),
        attachment=None if attachment is None else _decoded(attachment),
        paid=bool(row["paid"]),
        attempts=int(row["attempts"]),
        markup_json=markup,
    )


class OutboxRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def recover_inflight(self) -> tuple[int, int]:
        """At start, after a crash: rows left 'sending' go back to 'pending'.

        Returns (released, resent): claimed rows that were never attempted, and rows whose
        request was in flight at the crash — those are sent again and flagged `resent`
        (the recipient may get them twice; Telegram has no idempotency key).
        """
        async with self._db.transaction() as tx:
            released = await tx.execute(
                "UPDATE outbox SET status = 'pending', attempts = attempts - 1"
                " WHERE status = 'sending' AND attempted_at IS NULL"
            )
            resent = await tx.execute(
                "UPDATE outbox SET status = 'pending', resent = resent + 1, attempted_at = NULL, error = ?"
                " WHERE status = 'sending' AND attempted_at IS NOT NULL",
                ("interrupted",),
            )
        return released, resent

    async def record_and_mark(
        self, results: Sequence[Result], attempted: Sequence[int], now: datetime
    ) -> set[tuple[str, int]]:
        """Record finished `results` and durably mark the `attempted` claimed rows as about to be
        sent, in one transaction (right before their requests go to Telegram).

        Returns the (kind, ref_id) pairs whose results were recorded.
        """
        stamp = to_db(now)
        marks = [(stamp, i) for i in attempted]
        records = _record_statements(results, stamp)

        def work(tx: SyncTx) -> None:
            # One trip (`Database.write`, group-committed with other one-trip writes such as
            # acknowledgements): the write lock is not held across the event loop's turns.
            for sql, rows in records:
                tx.executemany(sql, rows)
            if marks:
                tx.executemany("UPDATE outbox SET attempted_at = ? WHERE id = ?", marks)

        if records or marks:
            await self._db.write(work)
        return {(r.item.kind, int(r.item.ref_id)) for r in results if r.item.ref_id is not None}

    async def release(self, ids: Sequence[int]) -> None:
        """Claimed rows that were never attempted go back to pending (clean shutdown, 429 halt)."""
        if not ids:
            return
        async with self._db.transaction() as tx:
            await tx.executemany(
                "UPDATE outbox SET status = 'pending', attempts = attempts - 1"
                " WHERE id = ? AND status = 'sending' AND attempted_at IS NULL",
                [(i,) for i in ids],
            )

    async def has_due(self, now: datetime) -> bool:
        """Cheap read: is any row waiting to be sent? (Lets an idle worker skip the write lock.)"""
        row = await self._db.fetchone(
            "SELECT 1 FROM outbox WHERE status = 'pending' AND not_before <= ? LIMIT 1", (to_db(now),)
        )
        return row is not None

    async def flush_and_claim(
        self,
        results: Sequence[Result],
        now: datetime,
        limit: int,
        accept: Callable[[OutboxItem], bool],
    ) -> tuple[list[OutboxItem], set[tuple[str, int]]]:
        """Record `results`, then claim up to `limit` due rows that `accept` allows, in one transaction.

        Returns the claimed rows and the (kind, ref_id) pairs whose results were recorded.
        """
        stamp = to_db(now)
        records = _record_statements(results, stamp)
        recorded = {(r.item.kind, int(r.item.ref_id)) for r in results if r.item.ref_id is not None}

        # SQLite's planner, without statistics, takes `outbox_pending` for the `not_before` range and
        # then sorts every pending row (31 ms a claim with 100,000 pending: the writer, and so every
        # acknowledgement, waited behind it; bench/ackstorm.py); walking `outbox_claim` stops at the
        # LIMIT (0.04 ms). PostgreSQL's planner picks that index by itself (migration 0291).
        claim_index = " INDEXED BY outbox_claim" if self._db.dialect == "sqlite" else ""
        claim_sql = (
            "SELECT o.id, o.kind, o.ref_id, o.chat_id, o.member_id, o.text, o.reply_markup, o.attachment,"  # noqa: S608
            f" o.paid, o.attempts, m.unreachable_at FROM outbox o{claim_index}"  # (a fixed clause)
            " LEFT JOIN members m ON m.id = o.member_id"
            " WHERE o.status = 'pending' AND o.not_before <= ? ORDER BY o.priority DESC, o.id LIMIT ?"
        )

        def work(tx: SyncTx) -> tuple[list[OutboxItem], set[tuple[str, int]]]:
            # One trip (`Database.write`): the write lock is held only while the statements run
            # on the database thread, not across the event loop's turns (PostgreSQL, bench/ackstorm.py).
            # Run again alone if a group-committed neighbour failed: `accept` then refuses the
            # chats it already chose, so fewer rows are claimed, never one twice.
            touched = set(recorded)
            claimed: list[OutboxItem] = []
            for sql, rows in records:
                tx.executemany(sql, rows)
            if limit <= 0:
                return claimed, touched
            # Read lazily and stop at `limit`: the rows past it (up to 4 x `limit` are asked for, in
            # case `accept` refuses some) are neither built nor looked at (bench/ackstorm.py).
            found = tx.rows(claim_sql, (stamp, limit * 4 + 16))
            skipped: list[tuple[str, int]] = []
            try:
                for row in found:
                    if row["unreachable_at"] is not None:
                        skipped.append((stamp, int(row["id"])))
                        if row["ref_id"] is not None:
                            touched.add((str(row["kind"]), int(row["ref_id"])))
                        continue
                    item = _item(row)
                    if accept(item):
                        claimed.append(item)
                        if len(claimed) >= limit:
                            break
            finally:
                found.close()  # the statement is finished before the updates below
            if skipped:
                tx.executemany(
                    "UPDATE outbox SET status = 'skipped', error = 'unreachable', finished_at = ? WHERE id = ?",
                    skipped,
                )
            if claimed:
                tx.executemany(
                    "UPDATE outbox SET status = 'sending', attempts = attempts + 1, attempted_at = NULL"
                    " WHERE id = ? AND status = 'pending'",
                    [(c.id,) for c in claimed],
                )
            return claimed, touched

        if not records and limit <= 0:
            return [], recorded
        return await self._db.write(work)

    async def counts(self, kind: str, ref_id: int) -> Counts:
        rows = await self._db.fetchall(
            "SELECT status, COUNT(*) AS n, SUM(resent) AS resent FROM outbox WHERE kind = ? AND ref_id = ?"
            " GROUP BY status",
            (kind, ref_id),
        )
        counts: dict[str, int] = {str(r["status"]): int(r["n"]) for r in rows}
        not_started = 0
        if counts.get("blocked"):
            not_started = int(await self._db.fetchval(
                "SELECT COUNT(*) FROM outbox WHERE kind = ? AND ref_id = ? AND status = 'blocked'"
                " AND error LIKE ?", (kind, ref_id, NOT_STARTED_ERROR),
            ) or 0)
        return Counts(**counts, resent=sum(int(r["resent"] or 0) for r in rows), not_started=not_started)

    async def progress(self, kind: str, ref_id: int) -> Progress | None:
        row = await self._db.fetchone(
            "SELECT kind, ref_id, chat_id, message_id, lang, scheduled FROM outbox_progress"
            " WHERE kind = ? AND ref_id = ? AND done_at IS NULL",
            (kind, ref_id),
        )
        if row is None:
            return None
        return Progress(str(row["kind"]), int(row["ref_id"]), int(row["chat_id"]), int(row["message_id"]),
                        str(row["lang"]), bool(row["scheduled"]))

    async def set_progress_message(self, kind: str, ref_id: int, message_id: int) -> None:
        """A scheduled send's progress message was posted: edit it from now on."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE outbox_progress SET message_id = ? WHERE kind = ? AND ref_id = ? AND done_at IS NULL",
                (message_id, kind, ref_id),
            )

    async def open_progress(self) -> list[Progress]:
        rows = await self._db.fetchall(
            "SELECT kind, ref_id, chat_id, message_id, lang FROM outbox_progress WHERE done_at IS NULL"
        )
        return [Progress(str(r["kind"]), int(r["ref_id"]), int(r["chat_id"]), int(r["message_id"]), str(r["lang"]))
                for r in rows]

    async def finish_progress(
        self, kind: str, ref_id: int, now: datetime, report: OutgoingMessage | None = None
    ) -> bool:
        """Claim the final report of (kind, ref_id): True exactly once.

        `report` (a new message, for sends with no progress message to edit) is queued in
        the same transaction, so it is sent exactly once too.
        """
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE outbox_progress SET done_at = ? WHERE kind = ? AND ref_id = ? AND done_at IS NULL",
                (to_db(now), kind, ref_id),
            )
            if changed == 1 and report is not None:
                await enqueue(tx, [report], now)
        return changed == 1

    async def has_pending(self, now: datetime) -> bool:
        value = await self._db.fetchval(
            "SELECT 1 FROM outbox WHERE status = 'pending' AND not_before <= ? LIMIT 1", (to_db(now),)
        )
        return value is not None

    async def rows_for(self, kind: str, ref_id: int) -> list[tuple[int, str, int]]:
        """(chat_id, status, attempts) of every row of (kind, ref_id) — for reports and tests."""
        rows = await self._db.fetchall(
            "SELECT chat_id, status, attempts FROM outbox WHERE kind = ? AND ref_id = ? ORDER BY id", (kind, ref_id)
        )
        return [(int(r["chat_id"]), str(r["status"]), int(r["attempts"])) for r in rows]


def _record_statements(results: Sequence[Result], stamp: str) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """What `_record` writes, as (statement, rows) pairs for a one-trip `SyncTx` work."""
    statements: list[tuple[str, list[tuple[Any, ...]]]] = []
    final = [(r.status, r.message_id, r.error, stamp, r.item.id) for r in results
             if r.status in ("sent", "blocked", "failed", "unknown")]
    if final:
        statements.append(("UPDATE outbox SET status = ?, message_id = ?, error = ?, finished_at = ? WHERE id = ?",
                           final))
    for r in results:
        if r.status == "blocked":
            statements.append(("UPDATE members SET unreachable_at = ? WHERE user_id = ? AND unreachable_at IS NULL",
                               [(stamp, r.item.chat_id)]))
            statements.append(("UPDATE bot_users SET blocked_at = ? WHERE user_id = ?", [(stamp, r.item.chat_id)]))
        elif r.status == "retry":
            statements.append(("UPDATE outbox SET status = 'pending', error = ? WHERE id = ?", [(r.error, r.item.id)]))
        elif r.status == "requeue":
            statements.append(("UPDATE outbox SET status = 'pending', attempts = attempts - 1, error = ? WHERE id = ?",
                               [(r.error, r.item.id)]))
        elif r.status == "migrated" and r.new_chat_id is not None:
            statements.append(("UPDATE outbox SET status = 'pending', chat_id = ?, attempts = attempts - 1"
                               " WHERE id = ?", [(r.new_chat_id, r.item.id)]))
            statements.append(("INSERT INTO group_chats (chat_id, title, status, updated_at)"
                               " SELECT ?, title, 'member', ? FROM group_chats WHERE chat_id = ? ON CONFLICT (chat_id)"
                               " DO UPDATE SET status = 'member', updated_at = excluded.updated_at",
                               [(r.new_chat_id, stamp, r.item.chat_id)]))
            statements.append(("UPDATE group_chats SET status = 'left', updated_at = ? WHERE chat_id = ?",
                               [(stamp, r.item.chat_id)]))
    return statements


async def _record(tx: Tx, results: Sequence[Result], now: datetime) -> None:
    for sql, rows in _record_statements(results, to_db(now)):
        await tx.executemany(sql, rows)

