"""PostgreSQL-specific: several bot processes on one database (issue 19).

Two runtimes in this process, each with its own connection pool (so its own server sessions, as
two processes have), share one PostgreSQL database; the tests that need a process to die run the
bot as child processes (tests/multiproc_helpers.py) and SIGKILL one. Skipped on SQLite, which
serves one process.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.notices import Recurrence, Segment
from bot.notices.models import NewNotice
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from storage import notices as store
from storage.db import Database
from tests.conftest import OWNER_ID, open_test_database
from tests.multiproc_helpers import PACER, POLLER, BotGroup
from tests.reliability_helpers import compose_notice, seed_group, seed_member

NOTICES = 12
RECIPIENTS = 90
BROADCAST = "Two processes, one pacer"
POLLING = "receiving updates by long polling"


@pytest.fixture
async def pg_db(database_url: str | None, tmp_path: Path) -> AsyncIterator[Database]:
    if database_url is None:
        pytest.skip("PostgreSQL only: several processes share one server database")
    db = await open_test_database(database_url, tmp_path / "unused.db")
    yield db
    await db.close()


async def _two_runtimes(settings: Settings, clock: FakeClock) -> list[BotRuntime]:
    runtimes = [BotRuntime(settings, clock=clock, token="7000000:sandbox") for _ in range(2)]
    await asyncio.gather(*(r.start(polling=False) for r in runtimes))
    return runtimes


async def test_pg_due_notices_fire_once_across_two_processes(
    pg_db: Database, settings: Settings, clock: FakeClock
) -> None:
    head = await seed_group(pg_db, "浦东新联总会")
    for i in range(5):
        await seed_member(pg_db, 7100 + i, name=f"Reader {i}", group_id=head)
    segment = Segment(group_ids=(head,)).to_json()
    due = clock.now() + timedelta(hours=1)
    ids = []
    async with pg_db.transaction() as tx:
        for i in range(NOTICES):
            recurring = i == 0
            ids.append(await store.insert(tx, NewNotice(
                author_user_id=OWNER_ID, author_lang="en", text=f"Due once #{i}", attachment=None, segment=segment,
                post_to_groups=False, paid=False, urgent=True, status="recurring" if recurring else "scheduled",
                recurrence=Recurrence("weekly", due.time(), weekdays=(due.weekday(),)).to_json() if recurring else None,
                next_due_at=due, until_at=due + timedelta(days=60) if recurring else None), clock.now()))
    runtimes = await _two_runtimes(settings, clock)
    try:
        clock.advance(timedelta(hours=2))
        # both processes' schedulers wake at the same moment, several times over
        reports = await asyncio.gather(*(r.services.notices.run_due() for r in runtimes for _ in range(3)
                                         if r.services is not None))
    finally:
        for runtime in runtimes:
            await runtime.stop()
    fired = Counter(notice_id for report in reports for notice_id in report.fired)
    assert sum(fired.values()) == NOTICES, fired
    assert all(count == 1 for count in fired.values()), fired
    children = await pg_db.fetchval("SELECT COUNT(*) FROM notices WHERE parent_id = ?", (ids[0],))
    assert children == 1
    rows = await pg_db.fetchall(
        "SELECT ref_id, COUNT(*) AS n FROM outbox WHERE kind = 'notice' GROUP BY ref_id")
    assert len(rows) == NOTICES and {int(r["n"]) for r in rows} == {5}


async def _settled(group: BotGroup, kind: str, timeout: float = 60.0) -> Counter[str]:
    """The outbox statuses of `kind` once none is pending or being sent (or at the timeout)."""
    assert group.db is not None
    deadline = time.monotonic() + timeout
    while True:
        statuses = Counter(str(r["status"]) for r in await group.db.fetchall(
            "SELECT status FROM outbox WHERE kind = ?", (kind,)))
        if not (statuses["pending"] or statuses["sending"]) or time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(0.1)


@pytest.fixture
def pg_url(database_url: str | None) -> str:
    if database_url is None:
        pytest.skip("PostgreSQL only: several processes share one server database")
    return database_url


async def test_pg_standby_takes_the_long_poll_over_when_the_poller_is_killed(
    tg: FakeTelegram, pg_url: str, tmp_path: Path
) -> None:
    async with BotGroup(tg, tmp_path, pg_url, processes=2) as group:
        poller = await group.wait_holder(POLLER)
        standby = next(p for p in group.procs if p is not poller)
        assert POLLING not in standby.log_tail(100_000), "the standby must not poll while the poller lives"
        user = tg.create_user("Standby Sun", language_code="en")
        await user.send("/start")
        assert "Standby Sun" in ((await user.next_message(15)).text or "")
        killed = time.monotonic()
        await group.kill(poller)
        seconds = await group.takeover(POLLER, poller, killed)
        print(f"long poller taken over {seconds:.2f} s after the SIGKILL")
        await user.send("/help")
        assert (await user.next_message(30)).text, "the standby answers once it polls"
        assert POLLING in standby.log_tail(100_000)


async def test_pg_pacer_is_taken_over_after_a_kill_mid_broadcast_and_every_recipient_gets_the_notice(
    tg: FakeTelegram, pg_url: str, tmp_path: Path
) -> None:
    db = await open_test_database(pg_url, tmp_path / "unused.db")
    try:
        head = await seed_group(db, "浦东新联总会")
        readers = []
        for i in range(RECIPIENTS):
            person = tg.create_user(f"Reader {i}", language_code="en")
            person.state.started = True
            await seed_member(db, person.id, name=f"Reader {i}", group_id=head)
            readers.append(person)
    finally:
        await db.close()
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    owner.state.started = True
    async with BotGroup(tg, tmp_path, pg_url, processes=2) as group:
        pacer = await group.wait_holder(PACER)
        control = await compose_notice(owner, BROADCAST)
        await owner.press(control, "Send now")
        while sum(BROADCAST in (m.text or "") for r in readers for m in r.inbox) < RECIPIENTS // 4:
            await asyncio.sleep(0.02)
        killed = time.monotonic()
        in_flight = await group.kill(pacer)
        seconds = await group.takeover(PACER, pacer, killed)
        print(f"pacer taken over {seconds:.2f} s after the SIGKILL; {in_flight} sends were in flight")
        statuses = await _settled(group, "notice")
    copies = [sum(BROADCAST in (m.text or "") for m in r.inbox) for r in readers]
    assert statuses == {"sent": RECIPIENTS}, statuses
    assert min(copies) == 1, "every recipient got the notice"
    assert sum(copies) - RECIPIENTS <= in_flight, (copies, in_flight)
