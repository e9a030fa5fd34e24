"""What the ledger's kept figures cost the delivery and acknowledgement hot paths (issue 19).

    python bench/tallies.py            # 10,000 sends and 3,000 presses, SQLite and PostgreSQL
    python bench/tallies.py --quick    # 2,000 sends and 600 presses
    python bench/tallies.py --backends sqlite

Migration 0612 keeps each notice's figures (notice_tallies) by triggers on the outbox and on
notice_acks. This measures the statements the bot runs, through its own storage functions, with
those triggers ("after") and with them dropped (as before 0612, "before"), alternately, on a
fresh database each time:

* enqueue: the set-based INSERT ... SELECT of a notice to every member (`enqueue_members`);
* sends: the delivery worker's trips (`OutboxRepo.flush_and_claim` claiming 100 rows,
  `record_and_mark` marking them attempted, the next `flush_and_claim` recording them 'sent');
* presses: `storage.notices.ack`, one after another (each a one-trip write).

Per-send and per-press microseconds are wall time of these calls divided by their count
(PostgreSQL: a throwaway cluster, or LIAISON_DATABASE_URL). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.db import Database

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TRIGGERS = [("notice_tallies_outbox_i", "outbox"), ("notice_tallies_outbox_u", "outbox"),
            ("notice_tallies_outbox_d", "outbox"), ("notice_tallies_ack_i", "notice_acks"),
            ("notice_tallies_ack_u", "notice_acks"), ("notice_tallies_ack_d", "notice_acks")]


async def _prepare(db: Database, members: int, with_tallies: bool) -> None:
    from storage.migrations import migrate

    await migrate(db)
    stamp = "2026-03-01T00:00:00.000000Z"
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO groups (id, name, kind, path, created_at) VALUES (1, 'g', 'head', '/1/', ?)",
                         (stamp,))
        await tx.executemany(
            "INSERT INTO members (id, user_id, status, name, category, registered_at, updated_at)"
            " VALUES (?, ?, 'active', 'm', 'c', ?, ?)", [(i, 10_000 + i, stamp, stamp) for i in range(1, members + 1)])
        await tx.executemany("INSERT INTO member_groups (member_id, group_id, status, requested_at)"
                             " VALUES (?, 1, 'active', ?)", [(i, stamp) for i in range(1, members + 1)])
        await tx.execute("INSERT INTO notices (id, author_user_id, author_lang, text, segment, status, created_at,"
                         " sent_at) VALUES (1, 1, 'zh-Hans', 'x', '{}', 'sent', ?, ?)", (stamp, stamp))
        if not with_tallies:
            extra = [("notice_tallies_outbox_m", "outbox")] if db.dialect == "postgresql" else []
            for name, table in TRIGGERS + extra:
                await tx.execute(f"DROP TRIGGER {name}" + (f" ON {table}" if db.dialect == "postgresql" else ""))


async def _timed(work: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


async def _run(db: Database, sends: int, presses: int) -> dict[str, float]:
    from storage.notices import ack
    from storage.outbox import OutboxRepo, Result
    from storage.segments import MemberMessage, enqueue_members

    async def enqueue() -> None:
        async with db.transaction() as tx:
            await enqueue_members(tx, MemberMessage("notice", 1, "x", {}, None), NOW, scope_paths=None)

    repo = OutboxRepo(db)

    async def deliver() -> None:
        results: list[Result] = []
        while True:
            claimed, _ = await repo.flush_and_claim(results, NOW, 100, lambda item: True)
            if not claimed:
                break
            await repo.record_and_mark([], [c.id for c in claimed], NOW)
            results = [Result(c, "sent", message_id=c.id) for c in claimed]
        await repo.flush_and_claim(results, NOW, 0, lambda item: True)

    async def press() -> None:
        for i in range(1, presses + 1):
            await ack(db, 1, 10_000 + i * (sends // presses), NOW)

    enqueue_s = await _timed(enqueue)
    if db.dialect == "postgresql":  # what autovacuum does to a live outbox (a fresh table has no statistics)
        async with db.transaction() as tx:
            await tx.execute("ANALYZE outbox")
            await tx.execute("ANALYZE notice_acks")
    deliver_s = await _timed(deliver)
    press_s = await _timed(press)
    return {"enqueue_ms": round(enqueue_s * 1000, 1), "per_send_us": round(deliver_s / sends * 1e6, 1),
            "per_press_us": round(press_s / presses * 1e6, 1)}


async def _once(backend: str, url: str | None, sends: int, presses: int, with_tallies: bool) -> dict[str, float]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            db = await Database.open(Path(folder) / "bench.sqlite3")
            try:
                await _prepare(db, sends, with_tallies)
                return await _run(db, sends, presses)
            finally:
                await db.close()
    import psycopg

    from storage.pg import PgDatabase

    assert url is not None
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS bench_tallies")
        admin.execute("CREATE DATABASE bench_tallies")
    db_url = url.replace("/postgres?", "/bench_tallies?") if "/postgres?" in url else url + "_tallies"
    pg = await PgDatabase.connect(db_url)
    try:
        await _prepare(pg, sends, with_tallies)
        return await _run(pg, sends, presses)
    finally:
        await pg.close()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS bench_tallies WITH (FORCE)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=3, help="before/after pairs per backend")
    args = parser.parse_args()
    sends, presses = (2_000, 600) if args.quick else (10_000, 3_000)
    figures: dict[str, Any] = {"sends": sends, "presses": presses}
    with ExitStack() as stack:
        url = None
        if "postgresql" in args.backends:
            from tests.pg_cluster import throwaway_cluster

            url = os.environ.get("LIAISON_DATABASE_URL") or stack.enter_context(throwaway_cluster())
        for backend in args.backends.split(","):
            runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
            for _ in range(args.rounds):
                for label, with_tallies in (("before", False), ("after", True)):
                    result = asyncio.run(_once(backend, url, sends, presses, with_tallies))
                    runs[label].append(result)
                    print(f"{backend} {label}: {result} (load {os.getloadavg()[0]:.1f})", flush=True)
            figures[backend] = {label: {key: min(r[key] for r in rs) for key in rs[0]} for label, rs in runs.items()}
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
