"""Properties of the delivery engine: pacing never exceeds a limit; nobody gets a notice twice."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import FakeClock
from bot.delivery import DeliveryService, Outcome, Pacer
from bot.i18n import Catalog
from storage.db import Database
from storage.migrations import migrate
from storage.outbox import OutboxItem, OutboxRepo, OutgoingMessage, enqueue

CATALOG = Catalog.load()


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def _sends(pacer: Pacer, fake: FakeTime, chats: list[int]) -> list[tuple[float, int]]:
    out = []
    for chat in chats:
        await pacer.acquire(chat, False)
        out.append((fake.now, chat))
    return out


@given(st.lists(st.sampled_from([1, 2, 3, -100, -200]), min_size=1, max_size=120))
def test_pacer_respects_global_private_and_group_limits(chats: list[int]) -> None:
    fake = FakeTime()
    pacer = Pacer(now=fake, sleep=fake.sleep)
    sends = asyncio.run(_sends(pacer, fake, chats))
    times = [t for t, _ in sends]
    for i in range(len(times) - 30):
        assert times[i + 30] - times[i] >= 1.0  # never 31 sends in one second
    for chat in set(chats):
        mine = [t for t, c in sends if c == chat]
        gap = 3.0 if chat < 0 else 1.0
        assert all(b - a >= gap - 1e-9 for a, b in itertools.pairwise(mine))


def test_pacer_halts_everything_after_a_429() -> None:
    fake = FakeTime()
    pacer = Pacer(now=fake, sleep=fake.sleep)
    asyncio.run(pacer.acquire(1, False))
    pacer.halt(7.0)
    asyncio.run(pacer.acquire(2, True))
    assert fake.now >= 7.0


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


async def _run_until(service: DeliveryService, transport: ScriptedTransport, stop_after: int | None) -> None:
    service.start(transport)
    for _ in range(2000):
        await asyncio.sleep(0.002)
        counts = await service.repo.counts("notice", 1)
        if counts.open == 0 or (stop_after is not None and transport.calls >= stop_after):
            break
    await service.stop()


async def _scenario(recipients: int, script: list[str], stop_after: int | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp) / "p.db")
        try:
            await migrate(db)
            clock = FakeClock()
            async with db.transaction() as tx:
                await enqueue(tx, [OutgoingMessage("notice", 1, 1000 + n, "hi") for n in range(recipients)],
                              clock.now())
            transport = ScriptedTransport(script)

            def make() -> DeliveryService:
                return DeliveryService(OutboxRepo(db), clock, CATALOG, pacer=Pacer(free_per_s=5000,
                                       private_interval=0.0, group_interval=0.0), retry_base_s=0.001)

            await _run_until(make(), transport, stop_after)
            restarted = make()
            await restarted.recover()
            transport.script = ["sent"]
            await _run_until(restarted, transport, None)
            rows = await OutboxRepo(db).rows_for("notice", 1)
        finally:
            await db.close()
    assert all(status in ("sent", "failed", "unknown") for _, status, _ in rows)
    assert all(count <= 1 for count in transport.reached.values()), transport.reached
    assert transport.attempted == {1000 + n for n in range(recipients)}  # nobody left out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    recipients=st.integers(min_value=1, max_value=25),
    script=st.lists(st.sampled_from(["sent", "retry", "retry_after", "unknown", "failed"]), max_size=12),
    stop_after=st.one_of(st.none(), st.integers(min_value=0, max_value=30)),
)
def test_each_recipient_is_delivered_at_most_once(recipients: int, script: list[str], stop_after: int | None) -> None:
    asyncio.run(_scenario(recipients, script, stop_after))
