"""The delivery engine: drains the outbox at Telegram's pace and records every result.

* `Pacer` spaces sends so that none of Telegram's limits is ever reached: an even spacing
  below 30 messages/s overall (1000/s for paid broadcasts), at most one message per second
  per private chat and one per three seconds per group chat (20/min). A 429 halts
  everything for `retry_after` seconds. Even spacing (rather than a one-second bucket that
  lets a burst through) keeps any sliding one-second window under the limit.
* `DeliveryService` claims due rows ('sending') in a transaction right before sending them,
  sends them concurrently (bounded), and records the results together with the next claim.
  At start rows left 'sending' by a crash become 'unknown'; on a clean stop claimed rows that
  were not attempted go back to 'pending' and in-flight sends are awaited, so a restart
  neither loses nor repeats a recipient.
* The transport (the Telegram calls) is injected: `handlers/delivery_transport.py` maps
  python-telegram-bot's exceptions to `Outcome`s, so this module never imports telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from bot.clock import Clock
from bot.config import Language
from bot.i18n import Catalog
from bot.users import UserService
from storage.db import Database
from storage.outbox import Counts, OutboxItem, OutboxRepo, Result

log = logging.getLogger(__name__)

FREE_PER_S = 29.3
PAID_PER_S = 990.0
PRIVATE_INTERVAL_S = 1.0
GROUP_INTERVAL_S = 3.05
MAX_ATTEMPTS = 5
PROGRESS_EVERY_S = 5.0
SLACK_S = 0.003


@dataclass(frozen=True)
class Outcome:
    """The transport's verdict on one send.

    status: 'sent', 'blocked' (403), 'failed' (400 and other definite refusals), 'unknown'
    (timed out: may have been delivered), 'retry' (never reached Telegram: 5xx/network),
    'retry_after' (429), 'migrated' (group became a supergroup: `new_chat_id`).
    """

    status: str
    message_id: int | None = None
    error: str | None = None
    retry_after: float = 0.0
    new_chat_id: int | None = None


class Transport(Protocol):
    async def send(self, item: OutboxItem) -> Outcome: ...

    async def edit(self, chat_id: int, message_id: int, text: str) -> None: ...


class Pacer:
    """Schedules each send at the earliest moment all limits allow (monotonic seconds)."""

    def __init__(
        self,
        free_per_s: float = FREE_PER_S,
        paid_per_s: float = PAID_PER_S,
        private_interval: float = PRIVATE_INTERVAL_S,
        group_interval: float = GROUP_INTERVAL_S,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.free_interval = 1.0 / free_per_s
        self.paid_interval = 1.0 / paid_per_s
        self.private_interval = private_interval
        self.group_interval = group_interval
        self._now = now
        self._sleep = sleep
        self._next_free = 0.0
        self._next_paid = 0.0
        self._halt_until = 0.0
        self._chat_next: dict[int, float] = {}

    def chat_wait(self, chat_id: int) -> float:
        """Seconds until `chat_id` may receive another message."""
        return max(0.0, self._chat_next.get(chat_id, 0.0) - self._now())

    def halt(self, seconds: float) -> None:
        """429: nothing at all is sent for `seconds`."""
        self._halt_until = max(self._halt_until, self._now() + seconds)

    def wait_for(self, chat_id: int, paid: bool) -> float:
        now = self._now()
        slot = max(now, self._halt_until, self._next_paid if paid else self._next_free,
                   self._chat_next.get(chat_id, 0.0))
        return slot - now

    async def acquire(self, chat_id: int, paid: bool) -> None:
        """Wait for the earliest allowed slot and take it."""
        # Paid broadcasts run at ~1 ms spacing: a few ms of slack avoids a sleep per message.
        early = 0.003 if paid else 0.0
        while True:
            wait = self.wait_for(chat_id, paid)
            if wait <= early:
                break
            await self._sleep(wait)
        now = self._now()
        # A sleep that wakes late may be made up for, but never by more than SLACK_S: any 30
        # consecutive free sends still span at least 30 * interval - SLACK_S > 1 s.
        if paid:
            self._next_paid = max(self._next_paid, now - SLACK_S) + self.paid_interval
        else:
            self._next_free = max(self._next_free, now - SLACK_S) + self.free_interval
        interval = self.group_interval if chat_id < 0 else self.private_interval
        self._chat_next[chat_id] = now + interval
        if len(self._chat_next) > 50_000:
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}


class DeliveryService:
    """Runs the outbox worker; `wake()` after enqueueing makes it look at once."""

    def __init__(
        self,
        repo: OutboxRepo,
        clock: Clock,
        catalog: Catalog,
        pacer: Pacer | None = None,
        concurrency: int = 64,
        on_blocked: Callable[[int], Awaitable[None]] | None = None,
        retry_base_s: float = 0.5,
    ) -> None:
        self.retry_base_s = retry_base_s
        self.repo = repo
        self.clock = clock
        self.catalog = catalog
        self.pacer = pacer or Pacer()
        self.concurrency = concurrency
        self._on_blocked = on_blocked
        self._transport: Transport | None = None
        self._wake = asyncio.Event()
        self._results: list[Result] = []
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._inflight_chats: set[int] = set()
        self._hold: dict[int, float] = {}
        self._last_progress: dict[tuple[str, int], float] = {}
        self._task: asyncio.Task[None] | None = None
        self._running: Callable[[], bool] = lambda: True
        self._stopping = False
        self.sent_total = 0

    @classmethod
    def create(cls, db: Database, clock: Clock, catalog: Catalog, users: UserService) -> DeliveryService:
        return cls(OutboxRepo(db), clock, catalog, on_blocked=users.mark_blocked)

    # Lifecycle --------------------------------------------------------------------------------
    async def recover(self) -> int:
        """Rows left 'sending' by a crash were in flight: mark them 'unknown'."""
        count = await self.repo.recover_inflight(self.clock.now())
        if count:
            log.warning("%d deliveries were in flight at the last stop: marked unknown", count)
        return count

    def start(
        self,
        transport: Transport,
        running: Callable[[], bool] | None = None,
        spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]] = asyncio.create_task,
    ) -> asyncio.Task[None]:
        """Start the worker; it stops when `running()` turns False or on `stop()`."""
        self._transport = transport
        self._running = running or (lambda: True)
        self._stopping = False
        self._task = spawn(self.run())
        return self._task

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    def wake(self) -> None:
        self._wake.set()

    @property
    def idle(self) -> bool:
        return not self._inflight and not self._results

    # The loop ---------------------------------------------------------------------------------
    def _alive(self) -> bool:
        return not self._stopping and self._running()

    async def run(self) -> None:
        try:
            while self._alive():
                progressed = await self.step()
                if not progressed:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), 0.05 if self._inflight else 0.25)
        finally:
            await self._drain()

    async def _drain(self) -> None:
        """Clean stop: wait for in-flight sends and record them."""
        if self._inflight:
            await asyncio.gather(*self._inflight.values(), return_exceptions=True)
        results, self._results = self._results, []
        if results:
            _, touched = await self.repo.flush_and_claim(results, self.clock.now(), 0, lambda _i: False)
            await self._report(touched)

    def _batch_size(self) -> int:
        free = self.concurrency - len(self._inflight)
        return max(0, min(free, 256))

    async def step(self) -> bool:
        """Record finished results and send one claimed batch; False when nothing was claimed."""
        transport = self._transport
        if transport is None:
            raise RuntimeError("delivery worker not started")
        if not self._results and not await self.repo.has_due(self.clock.now()):
            return False
        results, self._results = self._results, []
        chosen: set[int] = set()
        mono = time.monotonic()
        horizon = 0.3

        def accept(item: OutboxItem) -> bool:
            if self._hold.get(item.id, 0.0) > mono:
                return False
            if item.chat_id in chosen or item.chat_id in self._inflight_chats:
                return False
            if self.pacer.chat_wait(item.chat_id) > horizon:
                return False
            chosen.add(item.chat_id)
            return True

        limit = self._batch_size()
        items, touched = await self.repo.flush_and_claim(results, self.clock.now(), limit, accept)
        if touched:
            await self._report(touched)
        if not items:
            return bool(results)
        for index, item in enumerate(items):
            if not self._alive() or self.pacer.wait_for(item.chat_id, item.paid) > 1.0:
                # stopping, or halted by a 429: unsent claims go back to pending
                await self.repo.release([i.id for i in items[index:]])
                break
            await self.pacer.acquire(item.chat_id, item.paid)
            self._inflight_chats.add(item.chat_id)
            self._inflight[item.id] = asyncio.create_task(self._send(transport, item))
        return True

    async def _send(self, transport: Transport, item: OutboxItem) -> None:
        try:
            outcome = await transport.send(item)
        except Exception as exc:
            log.exception("delivery of outbox row %s crashed", item.id)
            outcome = Outcome("failed", error=f"internal: {type(exc).__name__}")
        result = self._result(item, outcome)
        self._results.append(result)
        self._inflight.pop(item.id, None)
        self._inflight_chats.discard(item.chat_id)
        if result.status == "blocked" and self._on_blocked is not None:
            await self._on_blocked(item.chat_id)
        self._wake.set()

    def _result(self, item: OutboxItem, outcome: Outcome) -> Result:
        status = outcome.status
        if status == "sent":
            self.sent_total += 1
            return Result(item, "sent", message_id=outcome.message_id)
        if status == "retry_after":
            self.pacer.halt(outcome.retry_after if outcome.retry_after > 0 else 1.0)
            return Result(item, "requeue", error="429")
        if status == "retry":
            if item.attempts >= MAX_ATTEMPTS:
                return Result(item, "failed", error=outcome.error or "network")
            self._hold[item.id] = time.monotonic() + min(30.0, self.retry_base_s * 2 ** (item.attempts - 1))
            return Result(item, "retry", error=outcome.error)
        if status == "migrated" and outcome.new_chat_id is not None:
            return Result(item, "migrated", new_chat_id=outcome.new_chat_id)
        if status in ("blocked", "failed", "unknown"):
            return Result(item, status, error=outcome.error)
        return Result(item, "failed", error=outcome.error or status)

    # Progress -----------------------------------------------------------------------------------
    async def _report(self, touched: set[tuple[str, int]]) -> None:
        transport = self._transport
        if transport is None:
            return
        mono = time.monotonic()
        for kind, ref_id in touched:
            progress = await self.repo.progress(kind, ref_id)
            if progress is None:
                continue
            counts = await self.repo.counts(kind, ref_id)
            lang: Language = "en" if progress.lang == "en" else "zh-Hans"
            if counts.open == 0:
                if not await self.repo.finish_progress(kind, ref_id, self.clock.now()):
                    continue
                text = self.catalog.text(lang, "delivery.report", **_fields(counts))
            else:
                last = self._last_progress.get((kind, ref_id))
                if last is not None and mono - last < PROGRESS_EVERY_S:
                    continue
                text = self.catalog.text(lang, "delivery.progress", done=f"{counts.total - counts.open:,}",
                                         total=f"{counts.total:,}")
            self._last_progress[(kind, ref_id)] = mono
            await transport.edit(progress.chat_id, progress.message_id, text)


def _fields(counts: Counts) -> dict[str, int]:
    return {
        "total": counts.total,
        "sent": counts.sent,
        "blocked": counts.blocked,
        "failed": counts.failed,
        "unknown": counts.unknown,
        "skipped": counts.skipped,
    }
