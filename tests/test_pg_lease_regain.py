"""PostgreSQL-specific: a process that loses the pacer lease and takes it again never sends its own
sends a second time (issue 19). Skipped on SQLite, where the single process is the pacer throughout.

The lease is lost when it cannot be renewed in time: here the database is away for a moment (every
statement fails) while a send is in flight, so the renewal fails, the worker stops, the send's
answer comes back and cannot be recorded either. When the database is back the process takes the
lease again: the answer it kept is recorded before the takeover's recovery, so the row is not sent
again, and the rows it had not reached yet are sent once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psycopg
import pytest

from bot.clock import Clock
from bot.delivery import DeliveryService, Outcome
from bot.i18n import Catalog
from storage.db import Database
from storage.migrations import migrate
from storage.outbox import OutboxItem, OutboxRepo, OutgoingMessage, enqueue

CHATS = (7101, 7102, 7103)


class HeldSend:
    """Answers every send, holding the first one in flight until `go` is set."""

    def __init__(self) -> None:
        self.sends: Counter[int] = Counter()
        self.in_flight = asyncio.Event()
        self.go = asyncio.Event()

    async def send(self, item: OutboxItem) -> Outcome:
        self.sends[item.chat_id] += 1
        if not self.in_flight.is_set():
            self.in_flight.set()
            await self.go.wait()
        return Outcome("sent", message_id=item.id)

    async def edit(self, chat_id: int, message_id: int, text: str,
                   reply_markup: dict[str, object] | None = None) -> None:
        return None

    async def post(self, chat_id: int, text: str) -> int | None:
        return None


class Outage:
    """Makes every statement of `db` fail while `down` (the server restarting, a failover)."""

    def __init__(self, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
        self.down = False
        transaction = db.transaction

        @contextlib.asynccontextmanager
        async def guarded_transaction() -> AsyncIterator[Any]:
            self._check()
            async with transaction() as tx:
                yield tx

        monkeypatch.setattr(db, "transaction", guarded_transaction)
        for name in ("write", "execute_alone", "fetchone", "fetchall"):
            monkeypatch.setattr(db, name, self._guard(getattr(db, name)))

    def _check(self) -> None:
        if self.down:
            raise psycopg.OperationalError("the server is away (test)")

    def _guard(self, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            self._check()
            return await method(*args, **kwargs)

        return guarded


async def _until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.05)


async def test_pg_a_pacer_regaining_its_lease_never_resends_its_own_sends(
    fresh_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = fresh_database
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL only: the pacer is elected when several processes share the database")
    await migrate(db)
    clock = Clock()
    async with db.transaction() as tx:
        await enqueue(tx, [OutgoingMessage("regain_test", None, chat, f"hello {chat}") for chat in CHATS], clock.now())
    outage = Outage(db, monkeypatch)
    service = DeliveryService(OutboxRepo(db), clock, Catalog.load(), concurrency=1)
    service.shared_db = db
    service.lease_ttl_s, service.lease_renew_s = 1.0, 0.1
    transport = HeldSend()
    service.start_elected(transport, "7000000:regain")
    leadership = service.leadership
    assert leadership is not None
    try:
        await asyncio.wait_for(transport.in_flight.wait(), 20)
        outage.down = True

        async def lost() -> bool:
            return not leadership.held

        await _until(lost, "the lease is lost while the database is away")
        transport.go.set()  # the answer comes back while nothing can be recorded
        await asyncio.sleep(0.3)
        outage.down = False

        async def settled() -> bool:
            rows = await db.fetchall("SELECT status FROM outbox WHERE kind = 'regain_test'")
            return all(r["status"] not in ("pending", "sending") for r in rows)

        await _until(settled, "every row is sent once the database is back")
        assert leadership.held, "the process takes the lease again"
    finally:
        outage.down = False
        transport.go.set()
        await leadership.stop()
    statuses = Counter(str(r["status"]) for r in await db.fetchall(
        "SELECT status FROM outbox WHERE kind = 'regain_test'"))
    assert statuses == Counter({"sent": len(CHATS)})
    assert transport.sends == Counter({chat: 1 for chat in CHATS}), "a send of its own was sent again"
    assert service.takeovers == 2
