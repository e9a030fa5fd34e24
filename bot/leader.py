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

Renewals run as one statement of their own (`storage.leases.take`): on PostgreSQL beside the write
transactions, never behind their write lock, so a long write does not let a live holder's lease
expire. A holder that failed to renew for 0.8 x TTL_S stops its work (`on_loss`) and tries again;
the work it stops records what it had in flight first (bot/delivery.py), so regaining the lease
never sends its own sends again.

Spreading the roles (`Peers`): each process holds a presence lease `process:<holder>` while it runs,
and its role leases under the same holder name, so every process sees who is alive and who holds
what (`storage.leases.rows`). A process that already holds a role does not take a second one while
another live process holds none (an idle peer: it takes it at its next try); it takes it anyway
once the lease has been free for GRACE_S (the idle peer is not taking it), so takeover stays
within TTL_S + GRACE_S + RENEW_S (8.5 s) of a holder's last renewal. A process holding two roles
while an idle peer exists gives one up (a clean release: the peer takes it at its next try). A
peer whose role lease expired (killed or stalled) does not count as idle. So with two processes
the poller and the pacer end up in different processes whatever the order they started in; a lone
process holds both; the survivor of a kill holds both again within 10 s.

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
from typing import Any, Protocol

from storage import leases
from storage.db import Database, StorageError

log = logging.getLogger(__name__)

TTL_S = 5.0
RENEW_S = 1.5
GRACE_S = 2.0
PRESENCE = "process:"
ROLES = ("poller:", "pacer:")  # the elected roles (lease name prefixes) that Peers spreads
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


async def pause(seconds: float, stopped: Callable[[], bool]) -> bool:
    """Wait `seconds`, noticing `stopped()` within 0.1 s; whether it turned True."""
    for _ in range(max(1, round(seconds / 0.1))):
        if stopped():
            return True
        await asyncio.sleep(0.1)
    return stopped()


class _Loop(Protocol):
    _task: asyncio.Task[None] | None
    _stop: bool
    ttl: timedelta


async def end_loop(owner: _Loop) -> bool:
    """Ask `owner`'s loop to end and wait for it; False when none was running.

    Asked, not cancelled: a cancel landing inside a database call left the connection's write
    lock taken, and giving the lease up then waited for it forever (a clean stop on PostgreSQL
    hung). The loop notices within 0.1 s; it is cancelled only if it has not ended a TTL later.
    """
    task, owner._task = owner._task, None
    if task is None:
        return False
    owner._stop = True
    done, _ = await asyncio.wait({task}, timeout=owner.ttl.total_seconds() + 5)
    if not done:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return True


class Peers:
    """This process among the others on one database: its presence lease (a heartbeat), and a view
    of who is alive and which roles each holds. One per process (per runtime in the tests); its
    Leaderships hold their leases under its holder name."""

    def __init__(
        self,
        db: Database,
        *,
        holder: str | None = None,
        ttl_s: float = TTL_S,
        renew_s: float = RENEW_S,
        grace_s: float = GRACE_S,
        now: Callable[[], datetime] = wall_now,
    ) -> None:
        self.db = db
        self.holder = holder or new_holder()
        self.ttl = timedelta(seconds=ttl_s)
        self.renew_s = renew_s
        self.grace_s = grace_s
        self._now = now
        self._task: asyncio.Task[None] | None = None
        self._stop = False

    @property
    def presence(self) -> str:
        return f"{PRESENCE}{self.holder}"

    async def beat(self) -> bool:
        try:
            return await leases.take(self.db, self.presence, self.holder, self._now(), self.ttl)
        except StorageError as exc:
            log.warning("presence of %s: the database did not answer (%s)", self.holder, type(exc).__name__)
            return False

    async def start(self) -> None:
        """Announce this process (before its Leaderships start), then keep announcing it."""
        await self.beat()
        self._stop = False
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not await pause(self.renew_s, lambda: self._stop):
            await self.beat()

    async def stop(self) -> None:
        if not await end_loop(self):
            return
        with contextlib.suppress(*StorageError):
            await leases.give_up(self.db, self.presence, self.holder)

    async def view(self) -> View:
        found = await leases.rows(self.db, (PRESENCE, *ROLES))
        return View(self.holder, found, self._now())


class View:
    """The presence and role leases at one moment, as one process sees them."""

    def __init__(self, me: str, found: dict[str, tuple[str, datetime]], now: datetime) -> None:
        self.me = me
        self.now = now
        self.found = found
        alive = {holder for name, (holder, until) in found.items() if name.startswith(PRESENCE) and until > now}
        roles = {name: entry for name, entry in found.items() if name.startswith(ROLES)}
        busy = {holder for holder, until in roles.values() if until > now}
        stale = {holder for holder, until in roles.values() if until <= now}  # stopped renewing
        self.idle_peers = alive - busy - stale - {me}

    def roles_of(self, holder: str) -> set[str]:
        return {name for name, (who, until) in self.found.items()
                if name.startswith(ROLES) and who == holder and until > self.now}

    def free_since(self, name: str) -> datetime | None:
        """When the lease `name` ran out (None: running, or no row: given up cleanly)."""
        entry = self.found.get(name)
        if entry is None or entry[1] > self.now:
            return None
        return entry[1]

    def running(self, name: str) -> bool:
        entry = self.found.get(name)
        return entry is not None and entry[1] > self.now


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
        peers: Peers | None = None,
    ) -> None:
        self.db = db
        self.name = name
        self.peers = peers
        self.holder = holder or (peers.holder if peers is not None else new_holder())
        self.ttl = timedelta(seconds=ttl_s)
        self.renew_s = renew_s
        self._now = now
        self.held = False
        self.gained_at: float | None = None  # monotonic moment of the last takeover (for reports)
        self._renewed = 0.0
        self._task: asyncio.Task[None] | None = None
        self._stop = False
        self._working: Callable[[], bool] = lambda: True
        self._free_seen: float | None = None  # monotonic moment this lease was first seen given up
        self.slowest_renewal_s = 0.0  # the longest a take/renew took (reports, benches)

    def fresh(self) -> bool:
        """Taken or renewed within 0.8 x TTL: the work may go on (a stalled holder's work pauses
        before another process can have taken the lease over)."""
        return time.monotonic() - self._renewed < self.ttl.total_seconds() * 0.8

    async def try_hold(self) -> bool:
        """Take or renew the lease; False while another process holds it (or the database is away)."""
        began = time.monotonic()
        try:
            ok = await leases.take(self.db, self.name, self.holder, self._now(), self.ttl)
        except StorageError as exc:
            log.warning("lease %s: the database did not answer (%s)", self.name, type(exc).__name__)
            return False
        took = time.monotonic() - began
        self.slowest_renewal_s = max(self.slowest_renewal_s, took)
        if took > self.ttl.total_seconds() * 0.4:
            log.warning("lease %s: taking/renewing took %.1f s", self.name, took)
        if ok:
            self._renewed = began
        return ok

    async def _peer_view(self) -> View | None:
        """Who is alive and holds what; None without peers or when the database does not answer."""
        if self.peers is None:
            return None
        try:
            return await self.peers.view()
        except StorageError:
            return None

    async def _defer(self) -> bool:
        """Whether to leave this free lease to an idle peer for now (this process holds a role)."""
        peers, view = self.peers, await self._peer_view()
        if peers is None or view is None:
            return False
        if view.running(self.name):
            self._free_seen = None
            return False  # held: trying costs one statement and tells the same
        if not view.roles_of(self.holder) - {self.name} or not view.idle_peers:
            return False
        mono = time.monotonic()
        ran_out = view.free_since(self.name)
        if ran_out is not None:
            free_for = (view.now - ran_out).total_seconds()
        else:
            self._free_seen = self._free_seen or mono
            free_for = mono - self._free_seen
        return free_for < peers.grace_s

    async def _hand_over(self) -> bool:
        """Whether to give this held lease up to an idle peer (this process holds another role too;
        of its roles, it gives up the one named last)."""
        view = await self._peer_view()
        if view is None:
            return False
        mine = view.roles_of(self.holder)
        return len(mine) > 1 and bool(view.idle_peers) and self.name == max(mine)

    def start(
        self,
        on_gain: Hook,
        on_loss: Hook,
        running: Callable[[], bool] = lambda: True,
        spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]] = asyncio.create_task,
        working: Callable[[], bool] = lambda: True,
    ) -> asyncio.Task[None]:
        """Try for the lease until `running()` turns False (or `stop()`), then give it up. While
        held, `working()` turning False (the work ended on an error) gives the lease up, to take
        it again at the next try and start the work afresh (`on_gain`)."""
        self._stop = False
        self._working = working
        self._task = spawn(self._run(on_gain, on_loss, running))
        return self._task

    async def stop(self) -> None:
        """Stop the work (when held) and give the lease up at once, for a standby to take."""
        await end_loop(self)

    async def _run(self, on_gain: Hook, on_loss: Hook, running: Callable[[], bool]) -> None:
        try:
            while running() and not self._stop:
                await self._round(on_gain, on_loss)
                await pause(self.renew_s, lambda: not running() or self._stop)
        finally:
            if self.held:
                self.held = False
                await asyncio.shield(self._give_up(on_loss))

    async def _round(self, on_gain: Hook, on_loss: Hook) -> None:
        if not self.held and await self._defer():
            return
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
        elif ok and not self._working():
            log.warning("lease %s: the work ended; %s gives the lease up to start it again", self.name, self.holder)
            self.held = False
            try:
                await self._give_up(on_loss)
            except Exception:
                log.exception("lease %s: stopping the work failed", self.name)
        elif ok and await self._hand_over():
            log.info("lease %s handed over by %s: another process holds no role", self.name, self.holder)
            self.held = False
            self._free_seen = time.monotonic()
            try:
                await self._give_up(on_loss)
            except Exception:
                log.exception("lease %s: stopping the work failed", self.name)
        elif not ok and self.held and time.monotonic() - self._renewed >= self.ttl.total_seconds() * 0.8:
            # not renewed in time: another process may take (or have taken) it
            self.held = False
            log.warning("lease %s lost by %s", self.name, self.holder)
            try:
                await on_loss()
            except Exception:
                log.exception("lease %s: stopping the work failed", self.name)

    async def _give_up(self, on_loss: Hook) -> None:
        try:
            await on_loss()
        finally:
            await self._release()

    async def _release(self) -> None:
        with contextlib.suppress(*StorageError):
            await leases.give_up(self.db, self.name, self.holder)
