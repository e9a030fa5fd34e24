"""Properties of the delivery engine: pacing never exceeds a limit; nobody gets a notice twice."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import FakeClock
from bot.delivery import DeliveryService, Outcome, Pacer, Ticket
from bot.i18n import Catalog
from storage.db import Database
from storage.migrations import migrate
from storage.outbox import OutboxItem, OutboxRepo, OutgoingMessage, enqueue
from tests.conftest import MakeDatabase

CATALOG = Catalog.load()


class FakeTime:
    """Simulated monotonic time; sleeping lets due answers come back (in time order)."""

    def __init__(self, pacer_box: list[Pacer]) -> None:
        self.now = 0.0
        self.box = pacer_box
        self.answers: list[tuple[float, int, Ticket]] = []
        self._seq = 0

    def __call__(self) -> float:
        return self.now

    def answer_at(self, at: float, ticket: Ticket) -> None:
        self._seq += 1
        heapq.heappush(self.answers, (at, self._seq, ticket))

    def _deliver_until(self, target: float) -> None:
        while self.answers and self.answers[0][0] <= target:
            at, _, ticket = heapq.heappop(self.answers)
            self.now = max(self.now, at)
            self.box[0].finished(ticket)
        self.now = max(self.now, target)

    async def sleep(self, seconds: float) -> None:
        self._deliver_until(self.now + seconds)


def _pacer() -> tuple[Pacer, FakeTime]:
    box: list[Pacer] = []
    fake = FakeTime(box)
    box.append(Pacer(now=fake, sleep=fake.sleep))
    return box[0], fake


async def _sends(pacer: Pacer, fake: FakeTime, plan: list[tuple[int, bool, float, float]]
                 ) -> list[tuple[float, int, bool]]:
    """Grant each planned send; return when the server counted it (somewhere between grant and answer)."""
    arrivals = []
    for chat, paid, latency, where in plan:
        ticket = await pacer.acquire(chat, paid)
        granted = fake.now
        fake.answer_at(granted + latency, ticket)
        arrivals.append((granted + latency * where, chat, paid))
    fake._deliver_until(fake.now + 100.0)
    return arrivals


def _max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best = start = 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


SEND = st.tuples(
    st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, -100, -200]),
    st.booleans(),
    st.floats(min_value=0.0005, max_value=0.4),  # round trip: grant -> answer
    st.floats(min_value=0.0, max_value=1.0),  # where in the round trip the server counts it
)


@settings(max_examples=60, deadline=None)
@given(st.lists(SEND, min_size=1, max_size=140))
def test_pacer_keeps_every_limit_as_the_server_counts(plan: list[tuple[int, bool, float, float]]) -> None:
    pacer, fake = _pacer()
    arrivals = asyncio.run(_sends(pacer, fake, [(c, p and c > 0, lat, w) for c, p, lat, w in plan]))
    assert _max_in_window([t for t, _, paid in arrivals if not paid], 1.0) <= 30
    assert _max_in_window([t for t, _, paid in arrivals if paid], 1.0) <= 1000
    for chat in {c for _, c, _ in arrivals}:
        mine = sorted(t for t, c, _ in arrivals if c == chat)
        if chat > 0:
            assert all(b - a >= 1.0 for a, b in itertools.pairwise(mine))  # 1/s per private chat
        else:
            assert _max_in_window(mine, 60.0) <= 20  # 20/min per group


def test_pacer_sustains_the_free_limit_with_fast_answers() -> None:
    pacer, fake = _pacer()
    plan = [(1000 + n, False, 0.002, 0.5) for n in range(300)]
    arrivals = asyncio.run(_sends(pacer, fake, plan))
    span = max(t for t, _, _ in arrivals) - min(t for t, _, _ in arrivals)
    assert 299 / span >= 29.5


@given(st.floats(min_value=0.5, max_value=30.0), st.booleans())
def test_nothing_is_granted_before_a_429_retry_after_has_passed(retry_after: float, paid: bool) -> None:
    pacer, fake = _pacer()

    async def scenario() -> float:
        ticket = await pacer.acquire(1, False)
        fake.answer_at(fake.now + 0.01, ticket)
        fake._deliver_until(fake.now + 0.01)
        halted_at = fake.now
        pacer.halt(retry_after)
        await pacer.acquire(2, paid)
        return fake.now - halted_at

    assert asyncio.run(scenario()) >= retry_after - 1e-9


class ScriptedTransport:
    """Answers from a script; counts every call that may have reached the recipient."""

    def __init__(self, script: list[str]) -> None:
        self.script = script
        self.calls = 0
        self.reached: Counter[int] = Counter()
        self.attempted: set[int] = set()

    async def send(self, item: OutboxItem) -> Outcome:
        status = self.script[self.calls % len(self.script)] if self.script else "sent"
        self.calls += 1
        self.attempted.add(item.chat_id)
        await asyncio.sleep(0)
        if status in ("sent", "unknown"):
            self.reached[item.chat_id] += 1
        if status == "retry_after":
            return Outcome("retry_after", retry_after=0.001)
        return Outcome(status, message_id=1 if status == "sent" else None)

    async def edit(self, chat_id: int, message_id: int, text: str) -> None:
        return None

    async def post(self, chat_id: int, text: str) -> int | None:
        return None


async def _run_until(service: DeliveryService, transport: ScriptedTransport, stop_after: int | None) -> None:
    service.start(transport)
    for _ in range(2000):
        await asyncio.sleep(0.002)
        counts = await service.repo.counts("notice", 1)
        if counts.open == 0 or (stop_after is not None and transport.calls >= stop_after):
            break
    await service.stop()


@contextlib.asynccontextmanager
async def _outbox(make_database: MakeDatabase,
                  recipients: int) -> AsyncIterator[tuple[Database, Callable[..., DeliveryService]]]:
    """A migrated database (the backend under test) with one notice queued for `recipients`
    chats, and a service factory."""
    async with make_database() as db:
        await migrate(db)
        clock = FakeClock()
        async with db.transaction() as tx:
            await enqueue(tx, [OutgoingMessage("notice", 1, 1000 + n, "hi") for n in range(recipients)], clock.now())

        def make(**options: Any) -> DeliveryService:
            pacer = Pacer(free_per_s=5000, private_interval=0.0, group_interval=0.0)
            return DeliveryService(OutboxRepo(db), clock, CATALOG, pacer=pacer, **options)

        yield db, make


async def _scenario(make_database: MakeDatabase, recipients: int, script: list[str], stop_after: int | None) -> None:
    async with _outbox(make_database, recipients) as (db, make):
        transport = ScriptedTransport(script)
        await _run_until(make(retry_base_s=0.001), transport, stop_after)
        restarted = make(retry_base_s=0.001)
        await restarted.recover()
        transport.script = ["sent"]
        await _run_until(restarted, transport, None)
        rows = await OutboxRepo(db).rows_for("notice", 1)
    assert all(status in ("sent", "failed", "unknown") for _, status, _ in rows)
    assert all(count <= 1 for count in transport.reached.values()), transport.reached
    assert transport.attempted == {1000 + n for n in range(recipients)}  # nobody left out


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # a database factory
@given(
    recipients=st.integers(min_value=1, max_value=25),
    script=st.lists(st.sampled_from(["sent", "retry", "retry_after", "unknown", "failed"]), max_size=12),
    stop_after=st.one_of(st.none(), st.integers(min_value=0, max_value=30)),
)
def test_each_recipient_is_delivered_at_most_once(make_database: MakeDatabase, recipients: int, script: list[str],
                                                  stop_after: int | None) -> None:
    asyncio.run(_scenario(make_database, recipients, script, stop_after))


class HangingTransport:
    async def send(self, item: OutboxItem) -> Outcome:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def edit(self, chat_id: int, message_id: int, text: str) -> None:
        return None

    async def post(self, chat_id: int, text: str) -> int | None:
        return None


def test_cancelled_sends_do_not_block_the_pacing_window(make_database: MakeDatabase) -> None:
    async def scenario() -> None:
        async with make_database() as db:
            await migrate(db)
            clock = FakeClock()
            async with db.transaction() as tx:
                await enqueue(tx, [OutgoingMessage("notice", 1, 1000 + n, "hi") for n in range(2)], clock.now())
            pacer = Pacer(free_per_s=2, private_interval=0.0)
            service = DeliveryService(OutboxRepo(db), clock, CATALOG, pacer=pacer)
            service._transport = HangingTransport()  # driven by hand, one step
            assert await service.step()
            for task in list(service._inflight.values()):
                task.cancel()  # the first is mid-send, the second never ran
            await asyncio.sleep(0)
            await asyncio.wait_for(pacer.acquire(1001, False), 3.0)  # the chat of the one never run

    asyncio.run(scenario())


def test_a_step_claims_only_about_half_a_second_of_free_sends(make_database: MakeDatabase) -> None:
    """A crash turns every claimed row 'unknown': the engine keeps few claimed but unsent."""

    async def scenario() -> int:
        async with make_database() as db:
            await migrate(db)
            clock = FakeClock()
            async with db.transaction() as tx:
                await enqueue(tx, [OutgoingMessage("notice", 1, 1000 + n, "hi") for n in range(200)], clock.now())
            service = DeliveryService(OutboxRepo(db), clock, CATALOG)
            service._transport = HangingTransport()
            await service.step()
            claimed = int(await db.fetchval("SELECT COUNT(*) FROM outbox WHERE status = 'sending'"))
            for task in list(service._inflight.values()):
                task.cancel()
            await asyncio.sleep(0)
            return claimed

    assert 1 <= asyncio.run(scenario()) <= 16


class FreezingTransport(ScriptedTransport):
    """Reaches the recipient, then never answers once `freeze_after` calls were made: the process
    is about to be killed with these requests in flight."""

    def __init__(self, freeze_after: int) -> None:
        super().__init__(["sent"])
        self.freeze_after = freeze_after
        self.frozen: set[int] = set()

    async def send(self, item: OutboxItem) -> Outcome:
        if self.calls >= self.freeze_after:
            self.calls += 1
            self.reached[item.chat_id] += 1
            self.frozen.add(item.chat_id)
            await asyncio.Event().wait()
        return await super().send(item)


async def _crash_scenario(make_database: MakeDatabase, recipients: int, freeze_after: int, steps: int) -> None:
    async with _outbox(make_database, recipients) as (db, make):
        transport = FreezingTransport(freeze_after)
        doomed = make(concurrency=8)
        doomed._transport = transport  # driven by hand, then abandoned without a clean stop: a kill
        for _ in range(steps):
            await doomed.step()
            await asyncio.sleep(0)
        # in flight at the kill: attempted, answer not recorded (frozen, or answered but not yet saved)
        in_flight = {int(r["chat_id"]) for r in await db.fetchall(
            "SELECT chat_id FROM outbox WHERE status = 'sending' AND attempted_at IS NOT NULL")}
        assert transport.frozen <= in_flight
        for task in list(doomed._inflight.values()):
            task.cancel()
        await asyncio.sleep(0)
        restarted = make(concurrency=8)
        await restarted.recover()
        transport.freeze_after = 10**9
        await _run_until(restarted, transport, None)
        rows = await OutboxRepo(db).rows_for("notice", 1)
        counts = await OutboxRepo(db).counts("notice", 1)
    assert all(status == "sent" for _, status, _ in rows), rows
    everyone = {1000 + n for n in range(recipients)}
    assert {c for c, n in transport.reached.items() if n >= 1} == everyone  # nobody left out
    twice = {c for c, n in transport.reached.items() if n > 1}
    assert twice <= in_flight  # duplicates only where a request was in flight at the kill
    assert all(n <= 2 for n in transport.reached.values())
    assert counts.resent == len(in_flight)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # a database factory
@given(
    recipients=st.integers(min_value=1, max_value=40),
    freeze_after=st.integers(min_value=0, max_value=30),
    steps=st.integers(min_value=1, max_value=6),
)
def test_a_kill_mid_send_resends_only_what_was_in_flight(make_database: MakeDatabase, recipients: int,
                                                        freeze_after: int, steps: int) -> None:
    asyncio.run(_crash_scenario(make_database, recipients, freeze_after, steps))


class SlowAnswers(ScriptedTransport):
    """Telegram answering each send after its own short round trip: answers come back one by one."""

    def __init__(self, seed: int) -> None:
        super().__init__(["sent"])
        self.rng = random.Random(seed)

    async def send(self, item: OutboxItem) -> Outcome:
        await asyncio.sleep(self.rng.uniform(0.001, 0.008))
        return await super().send(item)


def test_a_broadcast_claims_per_batch_of_answers_not_per_answer(make_database: MakeDatabase) -> None:
    """With every slot busy, the engine waits for a batch of answers (1/8 of the slots) before its
    next claim, and records them with it, instead of a claim and a write for each answer."""

    async def scenario() -> tuple[list[int], list[tuple[int, str, int]]]:
        async with make_database() as db:
            await migrate(db)
            clock = FakeClock()
            async with db.transaction() as tx:
                await enqueue(tx, [OutgoingMessage("notice", 1, 1000 + n, "hi", paid=True) for n in range(400)],
                              clock.now())
            repo = OutboxRepo(db)
            service = DeliveryService(repo, clock, CATALOG, concurrency=32,
                                      pacer=Pacer(paid_per_s=100_000, private_interval=0.0))
            claims: list[int] = []
            real = repo.flush_and_claim

            async def counting(*args: Any) -> tuple[list[OutboxItem], set[tuple[str, int]]]:
                items, touched = await real(*args)
                if items:
                    claims.append(len(items))
                return items, touched

            repo.flush_and_claim = counting  # type: ignore[method-assign]
            await _run_until(service, SlowAnswers(19), None)
            return claims, await repo.rows_for("notice", 1)

    claims, rows = asyncio.run(scenario())
    assert [status for _, status, _ in rows] == ["sent"] * 400
    assert sum(claims) == 400
    # the first claim fills every slot; each later one waits for 32 / 8 = 4 answers (but the last,
    # which takes what is left)
    assert claims[0] == 32 and min(claims[:-1]) >= 4, claims


def test_a_claim_builds_only_the_rows_it_claims(make_database: MakeDatabase, monkeypatch: Any) -> None:
    """The claim asks for more rows than it needs (in case some are refused) but reads them one by
    one and stops at its limit: no item is built for a row it does not claim."""
    import storage.outbox

    built: list[int] = []
    real = storage.outbox._item

    def counting(row: Any) -> OutboxItem:
        item = real(row)
        built.append(item.chat_id)
        return item

    monkeypatch.setattr(storage.outbox, "_item", counting)

    async def scenario() -> tuple[list[int], list[int]]:
        async with make_database() as db:
            await migrate(db)
            clock = FakeClock()
            async with db.transaction() as tx:
                await enqueue(tx, [OutgoingMessage("notice", 1, 1000 + n, "hi") for n in range(100)], clock.now())
            repo = OutboxRepo(db)
            odd, _ = await repo.flush_and_claim([], clock.now(), 5, lambda item: item.chat_id % 2 == 1)
            rest, _ = await repo.flush_and_claim([], clock.now(), 3, lambda item: True)
            return [i.chat_id for i in odd], [i.chat_id for i in rest]

    odd, rest = asyncio.run(scenario())
    assert odd == [1001, 1003, 1005, 1007, 1009]
    assert rest == [1000, 1002, 1004]  # the refused rows stay pending, first in line
    assert built == [*range(1000, 1010), 1000, 1002, 1004]
