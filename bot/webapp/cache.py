"""What the Mini App keeps between requests: counted totals and the ledger's figures.

- `Counts`: a list's total (the directory under a filter, join requests) is counted once and reused
  until the database has committed a write (`Database.writes`), or for at most `COUNT_MAX_AGE_S`
  (another process on the same PostgreSQL database writes without this process counting it).
- `Figures`: the 台账's figures per (scope, period), at most `FRESH_S` old. A stale entry is served
  at once while one recount runs in the background (stale-while-revalidate); requests arriving
  during a count wait for that same count, never start a second one. (Counting early, when the
  page asks `me`, was tried and dropped: the count then slowed every other request of that page.)

Per database (weakly held: a closed runtime's entries go with it). Memory only: nothing here is
the truth, everything can be recounted from the database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any
from weakref import WeakKeyDictionary

log = logging.getLogger(__name__)

COUNT_MAX_AGE_S = 30.0
FRESH_S = 30.0
MAX_ENTRIES = 256


class Counts:
    def __init__(self, writes: Callable[[], int], clock: Callable[[], float] = time.monotonic) -> None:
        self._writes, self._clock = writes, clock
        self._seen: dict[Hashable, tuple[int, float, int]] = {}  # key -> (writes, at, total)

    async def get(self, key: Hashable, count: Callable[[], Awaitable[int]]) -> int:
        version, now = self._writes(), self._clock()
        hit = self._seen.get(key)
        if hit is not None and hit[0] == version and now - hit[1] < COUNT_MAX_AGE_S:
            return hit[2]
        total = await count()
        if self._writes() == version:  # nothing was committed while counting
            if len(self._seen) >= MAX_ENTRIES:
                self._seen.clear()
            self._seen[key] = (version, now, total)
        return total


class Figures:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._done: dict[Hashable, tuple[float, Any]] = {}
        self._running: dict[Hashable, asyncio.Task[Any]] = {}

    def _start(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> asyncio.Task[Any]:
        running = self._running.get(key)
        if running is not None:
            return running
        started = self._clock()

        async def work() -> Any:
            try:
                value = await compute()
                if len(self._done) >= MAX_ENTRIES:
                    self._done.clear()
                self._done[key] = (started, value)
                return value
            finally:
                self._running.pop(key, None)

        task = asyncio.ensure_future(work())
        task.add_done_callback(_quiet)
        self._running[key] = task
        return task

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> Any:
        hit = self._done.get(key)
        if hit is not None:
            if self._clock() - hit[0] >= FRESH_S:
                self._start(key, compute)  # recount in the background; this request gets the last figures
            return hit[1]
        return await asyncio.shield(self._start(key, compute))


def _quiet(task: asyncio.Task[Any]) -> None:
    """A background count that failed (or the database closed under it) is logged, not raised."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.warning("webapp: background count failed: %s", type(exc).__name__)


class Caches:
    def __init__(self, writes: Callable[[], int]) -> None:
        self.counts = Counts(writes)
        self.figures = Figures()


_caches: WeakKeyDictionary[object, Caches] = WeakKeyDictionary()


def of(db: Any) -> Caches:
    """The caches kept for one database (created on first use)."""
    found = _caches.get(db)
    if found is None:
        found = _caches[db] = Caches(lambda: int(db.writes))
    return found
