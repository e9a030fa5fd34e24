"""SQL of the durable inbound updates (webhook mode with several processes; bot/webhook.py).

An update is recorded once (its update_id is the key) before Telegram is answered; a process
handles a chat's updates only while it holds the chat's lease (`chat:<chat_key>` in `leases`),
one at a time in update_id order: `take` (pending -> taken), handle, `finish` (-> done).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage import leases
from storage.db import Database, SyncTx
from storage.timefmt import to_db

CHAT_LEASE = "chat:"


@dataclass(frozen=True)
class Inbound:
    update_id: int
    state: str
    taken_by: str | None
    body: str


def chat_lease(chat_key: int) -> str:
    return f"{CHAT_LEASE}{chat_key}"


async def record(db: Database, update_id: int, chat_key: int, body: str, now: datetime) -> bool:
    """Record an update durably (committed when this returns); False when it was already recorded."""

    def work(tx: SyncTx) -> bool:
        return tx.execute(
            "INSERT INTO inbound_updates (update_id, chat_key, body, received_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (update_id) DO NOTHING",
            (update_id, chat_key, body, to_db(now)),
        ) == 1

    return await db.write(work)


async def open_chats(db: Database, holder: str, now: datetime, limit: int) -> list[int]:
    """Chats with updates still to handle that `holder` may take: their lease is free, expired or
    its own; oldest first."""
    rows = await db.fetchall(
        "SELECT i.chat_key FROM inbound_updates i LEFT JOIN leases l ON l.name = 'chat:' || CAST(i.chat_key AS TEXT)"
        " WHERE i.state IN ('pending', 'taken') AND (l.name IS NULL OR l.expires_at <= ? OR l.holder = ?)"
        " GROUP BY i.chat_key ORDER BY MIN(i.update_id) LIMIT ?",
        (to_db(now), holder, limit),
    )
    return [int(r[0]) for r in rows]


async def claim_chat(db: Database, chat_key: int, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take the chat's lease (one statement of its own: on PostgreSQL not behind the write lock)."""
    return await leases.take(db, chat_lease(chat_key), holder, now, ttl)


async def release_chat(db: Database, chat_key: int, holder: str, done: int | None = None) -> None:
    """Give the chat up (and mark the update handled last, `done`, done): one write."""
    async with db.transaction() as tx:
        if done is not None:
            await tx.execute("UPDATE inbound_updates SET state = 'done' WHERE update_id = ?", (done,))
        await leases.release(tx, chat_lease(chat_key), holder)


async def renew_chats(db: Database, holder: str, now: datetime, ttl: timedelta) -> int:
    """Extend every chat lease `holder` has (one statement for all of them, of its own: a renewal
    stuck behind a long write, a city-wide notice's enqueue say, would let the chats expire)."""
    return await db.execute_alone(
        "UPDATE leases SET expires_at = ? WHERE holder = ? AND name LIKE ? AND expires_at > ?",
        (to_db(now + ttl), holder, CHAT_LEASE + "%", to_db(now)),
    )


async def next_open(db: Database, chat_key: int, after: int | None = None) -> Inbound | None:
    """The chat's first update not yet handled (after `after`, the one just handled)."""
    row = await db.fetchone(
        "SELECT update_id, state, taken_by, body FROM inbound_updates"
        " WHERE chat_key = ? AND state IN ('pending', 'taken') AND update_id > ? ORDER BY update_id LIMIT 1",
        (chat_key, -1 if after is None else after),
    )
    if row is None:
        return None
    return Inbound(int(row["update_id"]), str(row["state"]), row["taken_by"], str(row["body"]))


async def take(db: Database, update_id: int, holder: str, now: datetime, done: int | None = None) -> bool:
    """Mark `update_id` taken by `holder` (and the one handled before it, `done`, done): one write."""

    def work(tx: SyncTx) -> bool:
        if done is not None:
            tx.execute("UPDATE inbound_updates SET state = 'done' WHERE update_id = ?", (done,))
        return tx.execute(
            "UPDATE inbound_updates SET state = 'taken', taken_by = ?, taken_at = ?"
            " WHERE update_id = ? AND state = 'pending'",
            (holder, to_db(now), update_id),
        ) == 1

    return await db.write(work)


async def finish(db: Database, update_id: int, state: str = "done") -> None:
    def work(tx: SyncTx) -> None:
        tx.execute("UPDATE inbound_updates SET state = ? WHERE update_id = ?", (state, update_id))

    await db.write(work)


async def purge(db: Database, before: datetime) -> int:
    """Forget handled updates received before `before` (kept a day to drop Telegram's repeats), and
    the chat leases of processes that died long ago."""
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM leases WHERE name LIKE ? AND expires_at < ?", (CHAT_LEASE + "%", to_db(before)))
        return await tx.execute(
            "DELETE FROM inbound_updates WHERE state IN ('done', 'abandoned') AND received_at < ?",
            (to_db(before),),
        )
