"""PostgreSQL-specific: several bot processes on one database (issue 19).

Two runtimes in this process, each with its own connection pool (so its own server sessions, as
two processes have), share one PostgreSQL database; the tests that need a process to die run the
bot as child processes (tests/multiproc_helpers.py) and SIGKILL one. Skipped on SQLite, which
serves one process.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.notices import Recurrence, Segment
from bot.notices.models import NewNotice
from bot.runtime import BotRuntime
from storage import notices as store
from storage.db import Database
from tests.conftest import OWNER_ID, open_test_database
from tests.reliability_helpers import seed_group, seed_member

NOTICES = 12


@pytest.fixture
async def pg_db(database_url: str | None, tmp_path: object) -> AsyncIterator[Database]:
    if database_url is None:
        pytest.skip("PostgreSQL only: several processes share one server database")
    db = await open_test_database(database_url, tmp_path)  # type: ignore[arg-type]
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
