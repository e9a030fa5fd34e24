"""Online backups taken while the bot writes restore to a sound, consistent database."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from storage.db import Database
from storage.migrations import migrate
from storage.timefmt import to_db
from tests.reliability_helpers import NOW

pytestmark = pytest.mark.sqlite_only  # SQLite's online backup API and its file under concurrent writers

STAMP = to_db(NOW)


async def _write_one(db: Database, n: int) -> None:
    """One unit of work the way the bot writes: several tables in one transaction."""
    async with db.transaction() as tx:
        member_id = await tx.insert(
            "INSERT INTO members (user_id, status, name, organisation, registered_at, updated_at)"
            " VALUES (?, 'active', ?, ?, ?, ?)",
            (800_000 + n, f"成员 {n}", "Organisation " * 40, STAMP, STAMP),
        )
        await tx.execute(
            "INSERT INTO bot_users (user_id, language, started_at, last_seen_at) VALUES (?, 'en', ?, ?)",
            (800_000 + n, STAMP, STAMP),
        )
        await tx.execute(
            "INSERT INTO audit_log (at, actor_user_id, action, target_type, target_id)"
            " VALUES (?, 1, 'load', 'member', ?)",
            (STAMP, str(member_id)),
        )


def _check_restored(path: Path) -> int:
    """Open the backup as a restored database would be opened; return its member count."""
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        members = conn.execute("SELECT COUNT(*) FROM members").fetchone()[0]
        users = conn.execute("SELECT COUNT(*) FROM bot_users").fetchone()[0]
        audits = conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'load'").fetchone()[0]
        assert members == users == audits, (members, users, audits)
        linked = conn.execute(
            "SELECT COUNT(*) FROM audit_log a JOIN members m ON CAST(a.target_id AS INTEGER) = m.id"
            " WHERE a.action = 'load'"
        ).fetchone()[0]
        assert linked == members
        assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] >= 2
        return int(members)


async def test_online_backups_during_a_write_load_restore_consistently(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "live.db")
    await migrate(db)
    stop = asyncio.Event()
    written = 0

    async def load() -> None:
        nonlocal written
        while not stop.is_set():
            await _write_one(db, written)
            written += 1
            if written % 20 == 0:
                await asyncio.sleep(0)

    worker = asyncio.create_task(load())
    counts: list[int] = []
    try:
        for i in range(6):
            await asyncio.sleep(0.15)
            target = tmp_path / f"backup-{i}.db"
            await db.backup_to(target)
            counts.append(_check_restored(target))
    finally:
        stop.set()
        await worker
    await db.backup_to(tmp_path / "final.db")
    final = _check_restored(tmp_path / "final.db")
    await db.close()
    print(f"backups during load: member counts {counts}, final {final} of {written} written")
    assert counts == sorted(counts) and counts[0] > 0 and counts[-1] > counts[0], counts
    assert final == written


async def test_backup_from_another_process_while_the_bot_writes_is_consistent(tmp_path: Path) -> None:
    """`liaison-bot backup` opens its own connection while the running bot keeps writing."""
    live = tmp_path / "live.db"
    db = await Database.open(live)
    await migrate(db)
    for n in range(300):  # a few MB, so each backup takes a while
        await _write_one(db, n)
    stop = threading.Event()
    written = [300]

    def bot_writes() -> None:  # the bot process, writing through its own connection
        conn = sqlite3.connect(live, isolation_level=None, timeout=10)
        try:
            while not stop.is_set():
                n = written[0]
                conn.execute("BEGIN IMMEDIATE")
                cur = conn.execute(
                    "INSERT INTO members (user_id, status, name, organisation, registered_at, updated_at)"
                    " VALUES (?, 'active', ?, ?, ?, ?)",
                    (800_000 + n, f"成员 {n}", "Organisation " * 40, STAMP, STAMP),
                )
                conn.execute(
                    "INSERT INTO bot_users (user_id, language, started_at, last_seen_at) VALUES (?, 'en', ?, ?)",
                    (800_000 + n, STAMP, STAMP),
                )
                conn.execute(
                    "INSERT INTO audit_log (at, actor_user_id, action, target_type, target_id)"
                    " VALUES (?, 1, 'load', 'member', ?)",
                    (STAMP, str(cur.lastrowid)),
                )
                conn.execute("COMMIT")
                written[0] = n + 1
                time.sleep(0.0005)
        finally:
            conn.close()

    thread = threading.Thread(target=bot_writes)
    thread.start()
    counts: list[int] = []
    try:
        for i in range(4):
            await asyncio.sleep(0.1)
            other = await Database.open(live)  # what the CLI's backup command does
            try:
                await other.backup_to(tmp_path / f"cli-{i}.db")
            finally:
                await other.close()
            counts.append(_check_restored(tmp_path / f"cli-{i}.db"))
    finally:
        stop.set()
        await asyncio.to_thread(thread.join)
    await db.close()
    print(f"cross-process backups: member counts {counts} of {written[0]} written")
    assert counts == sorted(counts) and counts[0] >= 300 and counts[-1] > counts[0], counts
