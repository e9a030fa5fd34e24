"""SQLite only: the delivery worker's claim walks the `outbox_claim` index and stops at its LIMIT.

Without statistics SQLite's planner took `outbox_pending` for the `not_before` range and sorted
every pending row for each claim: 31 ms a claim with 100,000 pending, the single writer (and so
every acknowledgement) waiting behind it; a broadcast with presses ran at 580-820 msg/s instead
of 1,000 (bench/ackstorm.py). PostgreSQL's planner picks the index by itself (migration 0291).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.db import Database
from storage.migrations import migrate
from storage.outbox import OutboxRepo
from storage.timefmt import to_db

pytestmark = pytest.mark.sqlite_only

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


async def test_the_claim_reads_the_claim_index_in_order_without_sorting(fresh_database: Database) -> None:
    db = fresh_database
    await migrate(db)
    stamp = to_db(NOW)
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO outbox (kind, ref_id, chat_id, text, priority, not_before, created_at, paid)"
            " VALUES ('notice', 1, ?, 'hello', ?, ?, ?, 1)",
            [(1000 + n, 5 if n % 997 == 0 else 0, stamp, stamp) for n in range(3000)],
        )
    statements: list[str] = []
    writer = db._writer  # type: ignore[attr-defined]  # the SQLite backend's one writer connection
    await writer.set_trace_callback(statements.append)
    items, _ = await OutboxRepo(db).flush_and_claim([], NOW, 8, lambda _item: True)
    await writer.set_trace_callback(None)

    # the urgent rows first, then the oldest: what the index order gives
    urgent = [1000 + n for n in range(3000) if n % 997 == 0]
    assert [i.chat_id for i in items] == [*urgent, 1001, 1002, 1003, 1004]
    claims = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM outbox" in s]
    assert len(claims) == 1, statements
    plan = " | ".join(str(row[3]) for row in await db.fetchall(f"EXPLAIN QUERY PLAN {claims[0]}"))
    assert "outbox_claim" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
