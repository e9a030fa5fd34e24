"""One process at a time: work elected through the database (storage/leases.py).

With several processes on one PostgreSQL database, some work must run in exactly one of them: the
delivery pacer of a bot token (Telegram's limits are per token) and the long poller (Telegram
refuses two getUpdates at once). Each process runs a `Leadership` for such work: it tries to take
the named lease every `RENEW_S`; the holder renews it as often, so a live holder keeps it and a
dead one (SIGKILL, lost host) loses it `TTL_S` after its last renewal. A standby then takes it at
its next try: at most TTL_S + RENEW_S (6.5 s) after the holder's last renewal, within the 10 s
issue 19 allows. A clean stop releases the lease, so a standby takes over at its next try.

The work starts on `on_gain` (the pacer first recovers the dead holder's in-flight rows: that is
its takeover) and stops on `on_loss` (the lease could not be renewed in time: another process may
hold it now). Lease times are wall-clock UTC of the processes' hosts (keep them NTP-synchronised);
they never use the bot's injectable `Clock`, which tests move by hand.

On SQLite (one process) none of this runs: the single process is the leader from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from storage import leases
from storage.db import Database, StorageError

log = logging.getLogger(__name__)

TTL_S = 5.0
RENEW_S = 1.5
Hook = Callable[[], Awaitable[None]]


def new_holder() -> str:
    """A holder's name in the leases table: host, pid, and a nonce (a restarted pid, or a second
    runtime in one process, as in the tests, is another holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def token_key(token: str) -> str:
    """A short, non-secret name for a bot token (lease names never hold the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def wall_now() -> datetime:
    return datetime.now(UTC)


class Leadership:
    """Holds the lease `name` for this process while it can; runs `on_gain` / `on_loss` around it."""

    def __init__(
        self,
        db: Database,
        name: str,
        *,
        holder: str | None = None,
        ttl_s: float = TTL_S,
        renew_s: float = RENEW_S,
        now: Callable[[], datetime] = wall_now,
    ) -> None:
        self.db = db
        self.name = name
        self.holder = holder or new_holder()
        self.ttl = timedelta(seconds=ttl_s)
        self.renew_s = renew_s
        self._now = now
        self.held = False
        self.gained_at: float | None = None  # monotonic moment of the last takeover (for reports)
        self._renewed = 0.0
        self._task: asyncio.Task[None] | None = None
        self._stop = False

    async def try_hold(self) -> bool:
        """Take or renew the lease; False while another process holds it (or the database is away)."""
        try:
            async with self.db.transaction() as tx:
                ok = await leases.acquire(tx, self.name, self.holder, self._now(), self.ttl)
        except StorageError as exc:
            log.warning("lease %s: the database did not answer (%s)", self.name, type(exc).__name__)
            return False
        if ok:
            self._renewed = time.monotonic()
        return ok

    def start(
        self,
        on_gain: Hook,
        on_loss: Hook,
        running: Callable[[], bool] = lambda: True,
        spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]] = asyncio.create_task,
    ) -> asyncio.Task[None]:
        """Try for the lease until `running()` turns False (or `stop()`), then give it up."""
        self._stop = False
        self._task = spawn(self._run(on_gain, on_loss, running))
        return self._task

    async def stop(self) -> None:
        """Stop the work (when held) and give the lease up at once, for a standby to take."""
        task, self._task = self._task, None
        if task is None:
            return
        # Asked, not cancelled: a cancel landing inside a database call (try_hold) left the
        # connection's write lock taken, and giving the lease up then waited for it forever
        # (a clean stop on PostgreSQL hung). The loop notices within 0.1 s.
        self._stop = True
        done, _ = await asyncio.wait({task}, timeout=self.ttl.total_seconds() + 5)
        if not done:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self, on_gain: Hook, on_loss: Hook, running: Callable[[], bool]) -> None:
        try:
            while running() and not self._stop:
                ok = await self.try_hold()
                if ok and not self.held:
                    log.info("lease %s taken by %s", self.name, self.holder)
                    try:
                        await on_gain()
                    except Exception:
                        log.exception("lease %s: the work did not start; giving the lease up", self.name)
                        await self._release()
                    else:
                        self.held = True  # held: the work runs (a takeover's recovery is done)
                        self.gained_at = time.monotonic()
                elif not ok and self.held and time.monotonic() - self._renewed >= self.ttl.total_seconds() * 0.8:
                    # not renewed in time: another process may take (or have taken) it
                    self.held = False
                    log.warning("lease %s lost by %s", self.name, self.holder)
                    await on_loss()
                for _ in range(max(1, round(self.renew_s / 0.1))):  # noticing a stop within 0.1 s
                    if not running() or self._stop:
                        break
                    await asyncio.sleep(0.1)
        finally:
            if self.held:
                self.held = False
                await asyncio.shield(self._give_up(on_loss))

    async def _give_up(self, on_loss: Hook) -> None:
        try:
            await on_loss()
        finally:
            await self._release()

    async def _release(self) -> None:
        with contextlib.suppress(*StorageError):
            async with self.db.transaction() as tx:
                await leases.release(tx, self.name, self.holder)
