"""PostgreSQL-specific: leases are taken and renewed beside the write transactions, not behind them.

Every PostgreSQL write transaction holds one advisory lock (storage/pg.py), so a long write — a
city-wide notice's enqueue of a million outbox rows takes ~20 s — would make every renewal queued
behind it wait, and a live process's leases (its chats, its roles) would expire under it: another
process would take its chats over mid-conversation. Here another session holds that write lock
while a process takes a chat, renews its chats and takes a role lease: all of it must complete
while the lock is still held (an order, not a time: were they queued behind it, they could only
finish after the release below, and the test would fail at its guard). Skipped on SQLite.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from storage import inbound, leases
from storage.db import Database
from storage.migrations import migrate
from storage.pg import WRITE_LOCK


async def test_pg_chat_and_role_leases_do_not_wait_for_a_long_write(fresh_database: Database,
                                                                   database_url: str | None) -> None:
    db = fresh_database
    if db.dialect != "postgresql" or database_url is None:
        pytest.skip("PostgreSQL only: the write lock is PostgreSQL's")
    await migrate(db)
    now = datetime.now(UTC)
    ttl = timedelta(seconds=8)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as writer:
        await writer.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))  # a long write is running
        try:
            async def beside() -> tuple[bool, int, bool]:
                claimed = await inbound.claim_chat(db, 4242, "proc-a", now, ttl)
                renewed = await inbound.renew_chats(db, "proc-a", now + timedelta(seconds=2), ttl)
                role = await leases.take(db, "pacer:test", "proc-a", now, ttl)
                return claimed, renewed, role

            done, _ = await asyncio.wait({asyncio.ensure_future(beside())}, timeout=30)
            assert done, "a lease statement waited behind the write lock"
            assert done.pop().result() == (True, 1, True)
            # a write transaction proper does wait for the lock (so the check above means something)
            write = asyncio.ensure_future(db.write(lambda tx: tx.execute("DELETE FROM leases WHERE name = 'none'")))
            for _ in range(600):
                cur = await writer.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'")
                row = await cur.fetchone()
                if row is not None and row[0] > 0:
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("the write transaction never queued behind the lock")
            assert not write.done()
        finally:
            await writer.execute("SELECT pg_advisory_unlock(%s)", (WRITE_LOCK,))
    await write
    held = await leases.rows(db, ("chat:", "pacer:"))
    assert held["chat:4242"][0] == "proc-a" and held["pacer:test"][0] == "proc-a"
