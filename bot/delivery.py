"""The delivery engine: drains the outbox at Telegram's pace and records every result.

* `Pacer` grants each send the earliest moment none of Telegram's limits can be exceeded:
  30 free messages (1000 paid) in any second, one message per second per private chat,
  20 per minute per group chat; a 429 halts everything for `retry_after` seconds. Each
  window is a sliding window anchored on the moment a send's *answer* came back: Telegram
  counted the send at some point between our request and its answer, so granting the next
  one only a second after the answer of the send 30 places back holds the limit whatever
  the network or server jitter (measured: up to 180 ms). A send that timed out counts from
  when it was given up.
* `DeliveryService` claims due rows ('sending') in a transaction shortly before sending them
  (about `CLAIM_AHEAD_S` of sending at a time), durably marks each row attempted right before
  its request goes out (one write per group of sends the pacer grants together), sends
  concurrently (bounded), and records the results together with the next claim.
  After a crash, start-up puts claimed rows that were never attempted back to 'pending' and
  sends the attempted ones again, flagged `resent`: no recipient is left unattempted and a
  duplicate is possible only for a send that was in flight at the crash. On a clean stop
  unattempted claims go back to 'pending' and in-flight sends are awaited, so a restart
  neither loses nor repeats a recipient.
* The transport (the Telegram calls) is injected: `handlers/delivery.py` maps
  python-telegram-bot's exceptions to `Outcome`s, so this module never imports telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from bot.clock import Clock
from bot.config import Language
from bot.i18n import Catalog
from bot.leader import RENEW_S, TTL_S, Leadership, Peers, token_key
from bot.pacing import FREE_PER_S, MARGIN_S, PAID_PER_S
from bot.pacing import Pacer as Pacer  # re-exported: the engine's pacer (bot/pacing.py)
from bot.pacing import Ticket as Ticket
from bot.users import UserService
from storage.db import Database, StorageError
from storage.outbox import NEW_MESSAGE, Counts, OutboxRepo, OutgoingMessage, Result
from storage.outbox import OutboxItem as OutboxItem  # re-exported: the item the Telegram sender sends

log = logging.getLogger(__name__)

CLAIM_AHEAD_S = 0.5
# Sends in flight at once: the rate is at most slots / round trip (64: 640/s at 100 ms). More is
# not better against a busy server (the sandbox on a loaded machine, bench/ackstorm.py): the extra
# requests only queue there, the round trip grows with them, and with it the pacer's window, which
# caps the paid rate at 1,000 / (1 s + round trip); the presses' answers queue behind them too.
CONCURRENCY = 64
# While sends are in flight, claim again only once 1/8 of the slots are free (8 of 64): a claim
# and a write per batch of answers, not per answer (bench/ackstorm.py).
CLAIM_BATCH_DIVISOR = 8
MAX_ATTEMPTS = 5
OUTAGE_MAX_S = 30.0  # longest pause between two tries while Telegram cannot be reached
PROGRESS_EVERY_S = 5.0
PROGRESS_MIN_RECIPIENTS = 60  # about 2 s at the free rate: smaller scheduled sends get only a report


@dataclass(frozen=True)
class Outcome:
    """The transport's verdict on one send.

    status: 'sent', 'blocked' (403), 'failed' (400 and other definite refusals), 'unknown'
    (timed out: may have been delivered), 'retry' (never reached Telegram: 5xx/network),
    'unreachable' (no connection to Telegram could be made), 'retry_after' (429), 'migrated'
    (group became a supergroup: `new_chat_id`).
    """

    status: str
    message_id: int | None = None
    error: str | None = None
    retry_after: float = 0.0
    new_chat_id: int | None = None


class Transport(Protocol):
    async def send(self, item: OutboxItem) -> Outcome: ...

    async def edit(self, chat_id: int, message_id: int, text: str,
                   reply_markup: dict[str, object] | None = None) -> None: ...

    async def post(self, chat_id: int, text: str) -> int | None: ...


class DeliveryService:
    """Runs the outbox worker; `wake()` after enqueueing makes it look at once."""

    def __init__(
        self,
        repo: OutboxRepo,
        clock: Clock,
        catalog: Catalog,
        pacer: Pacer | None = None,
        concurrency: int = CONCURRENCY,
        on_blocked: Callable[[int], Awaitable[None]] | None = None,
        retry_base_s: float = 0.5,
        language: Callable[[int], Awaitable[Language | None]] | None = None,
    ) -> None:
        # the recipient's /language choice now (bot/users.py), else the language stored with the row
        # (resolved when it was written: choice, else Telegram's, else the default)
        self.language = language
        self.retry_base_s = retry_base_s
        self._outage_s = 0.0  # the pause while Telegram cannot be reached (0: it can)
        self.repo = repo
        self.clock = clock
        self.catalog = catalog
        self.pacer = pacer or Pacer()
        self.concurrency = concurrency
        self._on_blocked = on_blocked
        self._transport: Transport | None = None
        self._wake = asyncio.Event()
        self._results: list[Result] = []
        self._touched: set[tuple[str, int]] = set()  # recorded results whose progress is not yet reported
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._inflight_chats: set[int] = set()
        self._hold: dict[int, float] = {}
        self._last_progress: dict[tuple[str, int], float] = {}
        self._untracked: set[tuple[str, int]] = set()
        self._task: asyncio.Task[None] | None = None
        self._running: Callable[[], bool] = lambda: True
        self._stopping = False
        self.sent_total = 0
        # kind -> the buttons under a finished send's report (a feature registers its own)
        self.report_buttons: dict[str, Callable[[int, Language, Counts], dict[str, object] | None]] = {}
        # Several processes on one database (PostgreSQL): the worker runs only in the process that
        # holds the token's pacer lease (bot/leader.py), and recovery runs when it takes over.
        self.shared_db: Database | None = None
        self.peers: Peers | None = None  # this process among the others (bot/runtime.py sets it)
        self.leadership: Leadership | None = None
        self.lease_ttl_s = TTL_S
        self.lease_renew_s = RENEW_S
        self.takeovers = 0

    @classmethod
    def create(cls, db: Database, clock: Clock, catalog: Catalog, users: UserService) -> DeliveryService:
        service = cls(OutboxRepo(db), clock, catalog, on_blocked=users.mark_blocked, language=users.chosen_language)
        if db.dialect != "sqlite":
            service.shared_db = db
        return service

    @property
    def elected(self) -> bool:
        """Whether the worker is elected through the database (else it runs from the start)."""
        return self.shared_db is not None

    # Lifecycle --------------------------------------------------------------------------------
    async def recover(self) -> tuple[int, int]:
        """After a crash: claimed rows go back to pending; those in flight are sent again."""
        released, resent = await self.repo.recover_inflight()
        if released or resent:
            # the killed process may have sent a full second's worth just before it died, and the
            # pacer's windows died with it: wait one window before sending anything
            self.pacer.halt(1.0 + MARGIN_S)
            log.warning("after an unclean stop: %d claimed deliveries re-queued, %d that were in flight"
                        " will be sent again (possible duplicates)", released, resent)
        return released, resent

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

    def start_elected(
        self,
        transport: Transport,
        token: str,
        running: Callable[[], bool] | None = None,
        spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]] = asyncio.create_task,
    ) -> asyncio.Task[None]:
        """Start the worker as `start` does, on SQLite at once; with several processes on one database,
        only while this process holds the pacer lease of `token` (one pacer per token: Telegram's
        limits are per token). Taking the lease over first recovers the outbox (`recover`): the rows
        the dead holder had claimed go back to pending, those it had in flight are sent again.

        Losing the lease (not renewed in time) stops the worker, which awaits its sends in flight
        and records them (`_drain`); what it could not record (the database was away) it keeps and
        records when it takes the lease again, before recovering: so the rows left 'sending' at a
        takeover are only a dead (or stalled) holder's, and a process regaining the lease never
        sends its own sends again.
        """
        if self.shared_db is None:
            return self.start(transport, running, spawn)
        alive = running or (lambda: True)

        async def gain() -> None:
            self.takeovers += 1
            if self._results:  # answers this process could not record when it lost the lease
                results, self._results = self._results, []
                try:
                    await self.repo.flush_and_claim(results, self.clock.now(), 0, lambda _i: False)
                except BaseException:
                    self._results[:0] = results
                    raise
            await self.recover()
            self.start(transport, alive, spawn)

        async def lose() -> None:
            await self.stop()

        self.leadership = Leadership(self.shared_db, f"pacer:{token_key(token)}", peers=self.peers,
                                     ttl_s=self.lease_ttl_s, renew_s=self.lease_renew_s)
        return self.leadership.start(gain, lose, alive, spawn, working=lambda: self.working)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await task
            except StorageError as exc:  # the worker ended on it; its answers are kept (`_drain`)
                log.warning("the delivery worker ended: the database did not answer (%s)", type(exc).__name__)

    @property
    def working(self) -> bool:
        """The worker runs (it ends on a database error: an elected one then gives its lease up
        and takes it again, recovering what it left claimed)."""
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        self._wake.set()

    @property
    def idle(self) -> bool:
        return not self._inflight and not self._results and not self._touched

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
        touched, self._touched = self._touched, set()
        try:
            if results:
                _, recorded = await self.repo.flush_and_claim(results, self.clock.now(), 0, lambda _i: False)
                touched |= recorded
            if touched:
                await self._report(touched)
        except StorageError as exc:
            # kept, to be recorded before anything is sent again (start_elected's gain)
            self._results[:0] = results
            log.warning("delivery stopped with %d answers unrecorded: the database did not answer (%s)",
                        len(results), type(exc).__name__)

    def _batch_size(self) -> int:
        free = self.concurrency - len(self._inflight)
        return max(0, min(free, 256))

    async def step(self) -> bool:
        """Record finished results and send one claimed batch; False when nothing was claimed."""
        transport = self._transport
        if transport is None:
            raise RuntimeError("delivery worker not started")
        if self.leadership is not None and not self.leadership.fresh():
            return False  # the pacer lease is not renewed: another process may be taking over
        if self._touched:
            touched, self._touched = self._touched, set()
            await self._report(touched)
        if self._inflight and self._batch_size() < max(1, self.concurrency // CLAIM_BATCH_DIVISOR):
            # Nearly every slot is taken: wait for a batch's worth of answers before the next claim
            # (their results are recorded with it) instead of one write and one claim per answer.
            return False
        if not self._results and not await self.repo.has_due(self.clock.now()):
            return False
        results, self._results = self._results, []
        chosen: set[int] = set()
        mono = time.monotonic()
        horizon = 0.3
        # Claim only about CLAIM_AHEAD_S of sending at a time, so rows enqueued meanwhile with a
        # higher priority (a reply to the sender, an urgent notice) are picked up soon.
        ahead = [0.0]

        def accept(item: OutboxItem) -> bool:
            if self._hold.get(item.id, 0.0) > mono:
                return False
            if item.chat_id in chosen or item.chat_id in self._inflight_chats:
                return False
            if self.pacer.chat_wait(item.chat_id) > horizon or ahead[0] >= CLAIM_AHEAD_S:
                return False
            ahead[0] += 1.0 / (PAID_PER_S if item.paid else FREE_PER_S)
            chosen.add(item.chat_id)
            return True

        # During a halt (a 429, Telegram unreachable) nothing is claimed: the answers are recorded and the loop sleeps
        # (claiming rows only to release them again kept the writer busy for the whole halt).
        limit = 0 if self.pacer.halted_for() > 0.0 else self._batch_size()
        try:
            items, touched = await self.repo.flush_and_claim(results, self.clock.now(), limit, accept)
        except BaseException:
            self._results[:0] = results  # not recorded: keep them (see `_drain`)
            raise
        if touched:
            await self._report(touched)
        if not items:
            return bool(results)
        granted: list[tuple[OutboxItem, Ticket]] = []
        try:
            for index, item in enumerate(items):
                if not self._alive() or self.pacer.wait_for(item.chat_id, item.paid) > 1.0:
                    # stopping, or halted by a 429: unattempted claims go back to pending
                    await self.repo.release([i.id for i in items[index:]])
                    break
                if granted and self.pacer.wait_for(item.chat_id, item.paid) > 0.0:
                    # the pacer makes us wait: first send what it already granted
                    await self._launch(transport, granted)
                granted.append((item, await self.pacer.acquire(item.chat_id, item.paid)))
            await self._launch(transport, granted)
        except BaseException:
            for _item, ticket in granted:
                self.pacer.finished(ticket)
            raise
        return True

    async def _launch(self, transport: Transport, granted: list[tuple[OutboxItem, Ticket]]) -> None:
        """Mark the granted rows attempted (durably, one write), then send them concurrently."""
        if not granted:
            return
        # recording the answers that came back meanwhile in the same write keeps what a crash
        # could resend down to the requests really in flight
        results, self._results = self._results, []
        try:
            recorded = await self.repo.record_and_mark(results, [item.id for item, _ in granted], self.clock.now())
        except BaseException:
            self._results[:0] = results  # not recorded: keep them for the next write
            raise
        self._touched |= recorded
        for item, ticket in granted:
            self._inflight_chats.add(item.chat_id)
            task = asyncio.create_task(self._send(transport, item, ticket))
            # also when the task is cancelled before it ever ran: the window must not wait forever
            task.add_done_callback(functools.partial(self._answered, ticket))
            self._inflight[item.id] = task
        granted.clear()

    def _answered(self, ticket: Ticket, _task: asyncio.Task[None]) -> None:
        self.pacer.finished(ticket)

    async def _send(self, transport: Transport, item: OutboxItem, ticket: Ticket) -> None:
        try:
            outcome = await transport.send(item)
        except Exception as exc:
            log.exception("delivery of outbox row %s crashed", item.id)
            outcome = Outcome("failed", error=f"internal: {type(exc).__name__}")
        finally:
            self.pacer.finished(ticket)
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
            self._outage_s = 0.0
            return Result(item, "sent", message_id=outcome.message_id)
        if status == "retry_after":
            self.pacer.halt(outcome.retry_after if outcome.retry_after > 0 else 1.0)
            return Result(item, "requeue", error="429")
        if status == "unreachable":
            # Telegram (or the network to it) is down: every send would fail alike, so all sending
            # pauses, 1 s and doubling up to OUTAGE_MAX_S between probes, and the row waits
            # without spending an attempt (an outage must not fail a broadcast, row by row).
            if self.pacer.halted_for() == 0.0:
                self._outage_s = min(OUTAGE_MAX_S, max(1.0, self._outage_s * 2))
                self.pacer.halt(self._outage_s)
                log.warning("Telegram unreachable (%s): sending paused for %.0f s", outcome.error, self._outage_s)
            return Result(item, "requeue", error=outcome.error)
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
            if (kind, ref_id) in self._untracked:
                continue
            progress = await self.repo.progress(kind, ref_id)
            if progress is None:
                # Tracking is set up in the transaction that enqueues, so it never appears later.
                if len(self._untracked) > 10_000:
                    self._untracked.clear()
                self._untracked.add((kind, ref_id))
                continue
            counts = await self.repo.counts(kind, ref_id)
            lang: Language = "en" if progress.lang == "en" else "zh-Hans"
            if self.language is not None:
                lang = await self.language(progress.chat_id) or lang
            scheduled = progress.scheduled
            if progress.message_id == NEW_MESSAGE:
                # a scheduled or recurring send: no progress message yet
                if counts.open:
                    if counts.total >= PROGRESS_MIN_RECIPIENTS:
                        # big enough to take a while: post a progress message and edit it from now on
                        text = self._progress_text(lang, ref_id, counts, scheduled)
                        message_id = await transport.post(progress.chat_id, text)
                        if message_id is not None:
                            await self.repo.set_progress_message(kind, ref_id, message_id)
                            self._last_progress[(kind, ref_id)] = mono
                    continue
                text = self._report_text(lang, ref_id, counts, scheduled)
                report = OutgoingMessage(f"{kind}_report", ref_id, progress.chat_id, text, priority=1,
                                         reply_markup=self._report_markup(kind, ref_id, lang, counts))
                if await self.repo.finish_progress(kind, ref_id, self.clock.now(), report):
                    self.wake()
                continue
            if counts.open == 0:
                if not await self.repo.finish_progress(kind, ref_id, self.clock.now()):
                    continue
                text = self._report_text(lang, ref_id, counts, scheduled)
                markup = self._report_markup(kind, ref_id, lang, counts)
                if markup is not None:
                    await transport.edit(progress.chat_id, progress.message_id, text, reply_markup=markup)
                    continue
            else:
                last = self._last_progress.get((kind, ref_id))
                if last is not None and mono - last < PROGRESS_EVERY_S:
                    continue
                text = self._progress_text(lang, ref_id, counts, scheduled)
            self._last_progress[(kind, ref_id)] = mono
            await transport.edit(progress.chat_id, progress.message_id, text)

    def _progress_text(self, lang: Language, ref_id: int, counts: Counts, scheduled: bool) -> str:
        key = "delivery.progress_scheduled" if scheduled else "delivery.progress"
        return self.catalog.text(lang, key, ref=ref_id, done=f"{counts.total - counts.open:,}",
                                 total=f"{counts.total:,}")

    def _report_text(self, lang: Language, ref_id: int, counts: Counts, scheduled: bool) -> str:
        """"已送达 29 人；1 人尚未开通机器人": what was delivered, then only the outcomes that happened."""
        tr = self.catalog.for_lang(lang)
        parts = [tr("delivery.report.sent", n=counts.sent)]
        for key, n in (
            ("not_started", counts.not_started), ("blocked", counts.blocked - counts.not_started),
            ("failed", counts.failed), ("unknown", counts.unknown), ("skipped", counts.skipped),
        ):
            if n:
                parts.append(tr(f"delivery.report.{key}", n=n))
        key = "delivery.report_scheduled" if scheduled else "delivery.report"
        text = tr(key, ref=ref_id, parts=tr.join(parts, str(tr("delivery.report.sep"))))
        if counts.resent:
            text = tr.join([text, tr("delivery.resent", resent=counts.resent)])
        return text

    def _report_markup(self, kind: str, ref_id: int, lang: Language, counts: Counts) -> dict[str, object] | None:
        """The buttons a feature puts under its report (e.g. the list of who was not reached)."""
        make = self.report_buttons.get(kind)
        return None if make is None else make(ref_id, lang, counts)
