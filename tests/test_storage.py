import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.persistence import SqlitePersistence
from storage.db import Database
from storage.migrations import discover, migrate, split_statements
from storage.ptbstate import PtbStateRepo


@pytest.fixture
async def db(fresh_database: Database):
    """A migrated database on the backend under test (SQLite, or PostgreSQL with --backend)."""
    await migrate(fresh_database)
    return fresh_database


async def test_migrations_apply_in_order_and_twice_changes_nothing(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "m.db")
    try:
        first = await migrate(database)
        assert first == [m.version for m in discover()]
        schema_before = await database.fetchall("SELECT name, sql FROM sqlite_master ORDER BY name")
        assert await migrate(database) == []
        schema_after = await database.fetchall("SELECT name, sql FROM sqlite_master ORDER BY name")
        assert [tuple(r) for r in schema_before] == [tuple(r) for r in schema_after]
        recorded = await database.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [r[0] for r in recorded] == first
    finally:
        await database.close()


async def test_failed_migration_rolls_back_and_is_not_recorded(tmp_path: Path) -> None:
    folder = tmp_path / "migs"
    folder.mkdir()
    (folder / "0001_ok.sql").write_text("CREATE TABLE a (x INTEGER);\n", encoding="utf-8")
    (folder / "0002_bad.sql").write_text("CREATE TABLE b (x INTEGER);\nINSERT INTO nope VALUES (1);\n")
    database = await Database.open(tmp_path / "f.db")
    try:
        with pytest.raises(sqlite3.OperationalError):
            await migrate(database, folder)
        tables = {r[0] for r in await database.fetchall("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "a" in tables and "b" not in tables
        assert [r[0] for r in await database.fetchall("SELECT version FROM schema_migrations")] == [1]
    finally:
        await database.close()


def test_statement_splitter_keeps_trigger_bodies_whole() -> None:
    script = (
        "-- comment\nCREATE TABLE t (x INT);\n"
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET x = 1;\n  UPDATE t SET x = 2;\nEND;\n"
    )
    statements = split_statements(script)
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")


@pytest.mark.sqlite_only
async def test_database_uses_wal_and_busy_timeout(db: Database) -> None:
    assert (await db.fetchval("PRAGMA journal_mode")).lower() == "wal"
    assert await db.fetchval("PRAGMA busy_timeout") == 10_000


async def test_concurrent_transactions_never_interleave(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE counter (n INTEGER NOT NULL)")
        await tx.execute("INSERT INTO counter VALUES (0)")

    async def bump() -> None:
        async with db.transaction() as tx:
            n = await tx.fetchval("SELECT n FROM counter")
            await asyncio.sleep(0)  # give other tasks every chance to interleave
            await tx.execute("UPDATE counter SET n = ?", (n + 1,))

    await asyncio.gather(*(bump() for _ in range(200)))
    assert await db.fetchval("SELECT n FROM counter") == 200


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO bot_users (user_id, started_at, last_seen_at) VALUES (1, 'x', 'x')"
            )
            raise RuntimeError("boom")
    assert await db.fetchval("SELECT COUNT(*) FROM bot_users") == 0


async def test_online_backup_is_a_complete_database(db: Database, tmp_path: Path) -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO bot_users (user_id, started_at, last_seen_at) VALUES (7, 'a', 'b')")
    target = tmp_path / "backup" / "copy.db"
    await db.backup_to(target)
    copy = sqlite3.connect(target)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT user_id FROM bot_users").fetchall() == [(7,)]
    finally:
        copy.close()


async def test_persistence_round_trips_conversations_and_user_data(db: Database) -> None:
    persistence = SqlitePersistence(PtbStateRepo(db), FakeClock().now)
    await persistence.update_conversation("registration", (42, 42), 3)
    await persistence.update_user_data(42, {"draft": {"name": "张伟"}})
    assert await persistence.get_conversations("registration") == {(42, 42): 3}
    assert await persistence.get_user_data() == {42: {"draft": {"name": "张伟"}}}
    await persistence.update_conversation("registration", (42, 42), None)
    await persistence.drop_user_data(42)
    assert await persistence.get_conversations("registration") == {}
    assert await persistence.get_user_data() == {}


async def test_persistence_writes_only_what_changed(db: Database) -> None:
    persistence = SqlitePersistence(PtbStateRepo(db), FakeClock().now)
    await persistence.get_user_data()
    await persistence.update_user_data(5, {})  # nothing stored, nothing to write
    await persistence.update_user_data(6, {"a": 1})
    writes_before = db.writes
    await persistence.update_user_data(6, {"a": 1})
    await persistence.update_user_data(5, {})
    await persistence.update_conversation("c", (6, 6), 2)
    await persistence.update_conversation("c", (6, 6), 2)
    assert db.writes - writes_before == 1
