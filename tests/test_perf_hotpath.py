"""The hot-path optimisations keep their behaviour: one-hop statements, deferred BEGIN,
group-committed "last seen" writes, fast timestamp formatting."""

import asyncio
import random
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from bot.clock import FakeClock
from bot.errors import Refusal
from bot.runtime import BotRuntime
from bot.users import UserService
from storage.db import Database, SyncTx
from storage.migrations import migrate
from storage.timefmt import from_db, to_db
from storage.users import BotUser, UserRepo
from tests.activities_helpers import add_member, draft, owner_actor
from tests.conftest import OWNER_ID

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@pytest.fixture
async def db(fresh_database: Database) -> Database:
    """A migrated database on the backend under test (SQLite, or PostgreSQL with --backend)."""
    await migrate(fresh_database)
    return fresh_database


INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The functions handed to the database threads, in order (one per trip)."""
    import storage.sqlite

    seen: list[object] = []
    real = storage.sqlite._on_thread

    async def counting(*args: object) -> object:
        seen.append(args[1])
        return await real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(storage.sqlite, "_on_thread", counting)
    return seen


@pytest.fixture
def commits(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """aiosqlite's own COMMIT trips (a transaction's closing trip when it is not folded into the last)."""
    import aiosqlite

    seen: list[object] = []
    real_commit = aiosqlite.Connection.commit

    async def counting_commit(self: aiosqlite.Connection) -> None:
        seen.append(self)
        await real_commit(self)

    monkeypatch.setattr(aiosqlite.Connection, "commit", counting_commit)
    return seen


def test_timestamps_match_the_strftime_form_and_round_trip() -> None:
    rng = random.Random(7)
    zone = timezone(timedelta(hours=8))
    for _ in range(2000):
        moment = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.uniform(-3e9, 3e9))).astimezone(zone)
        text = to_db(moment)
        assert text == moment.astimezone(UTC).strftime(_FORMAT)
        assert from_db(text) == moment
        assert from_db(text).tzinfo is UTC


def test_malformed_timestamps_are_still_rejected() -> None:
    for bad in ("2026-01-01T00:00:00.00000xZ", "2026-13-01T00:00:00.000000Z", "x" * 27, "2026-01-01"):
        with pytest.raises(ValueError):
            from_db(bad)


async def test_transaction_commits_its_statements_and_counts_rows(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO bot_users (user_id, started_at, last_seen_at) VALUES (1, 'a', 'a'), (2, 'a', 'a')"
        )
        changed = await tx.execute("UPDATE bot_users SET language = 'en'")
        assert changed == 2
        assert (await tx.fetchone("SELECT COUNT(*) FROM bot_users"))[0] == 2
    assert [r[0] for r in await db.fetchall("SELECT user_id FROM bot_users ORDER BY user_id")] == [1, 2]


async def test_failed_transaction_rolls_back_everything(db: Database) -> None:
    with pytest.raises(INTEGRITY_ERRORS):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO bot_users (user_id, started_at, last_seen_at) VALUES (1, 'a', 'a')")
            await tx.execute("INSERT INTO bot_users (user_id, started_at, last_seen_at) VALUES (1, 'b', 'b')")
    assert await db.fetchall("SELECT * FROM bot_users") == []
    async with db.transaction() as tx:  # the writer is usable again
        await tx.execute("INSERT INTO bot_users (user_id, started_at, last_seen_at) VALUES (1, 'a', 'a')")
    assert await db.fetchval("SELECT COUNT(*) FROM bot_users") == 1


async def test_empty_transaction_and_error_before_any_statement_leave_no_transaction_open(db: Database) -> None:
    async with db.transaction():
        pass
    with pytest.raises(RuntimeError):
        async with db.transaction():
            raise RuntimeError("before any statement")
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO bot_users (user_id, started_at, last_seen_at) VALUES (5, 'a', 'a')")
    assert await db.fetchval("SELECT COUNT(*) FROM bot_users") == 1


@pytest.mark.sqlite_only  # SQLite's file lock (PostgreSQL: tests/test_pg_backend.py, two processes)
async def test_write_transaction_takes_the_write_lock_against_other_connections(db: Database, tmp_path: Path) -> None:
    other = sqlite3.connect(db.path, timeout=0.05, isolation_level=None)
    try:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO bot_users (user_id, started_at, last_seen_at) VALUES (9, 'a', 'a')")
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()


async def test_concurrent_first_contacts_are_written_in_few_transactions(db: Database) -> None:
    clock = FakeClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    users = UserService(UserRepo(db), clock, "en")
    before = db.writes
    await asyncio.gather(*(users.touch(1000 + i) for i in range(50)))
    rows = await db.fetchall("SELECT user_id, last_seen_at FROM bot_users ORDER BY user_id")
    assert [r["user_id"] for r in rows] == [1000 + i for i in range(50)]
    assert {r["last_seen_at"] for r in rows} == {to_db(clock.now())}
    assert db.writes - before <= 2


async def test_touch_is_throttled_per_user_and_clears_a_block(db: Database) -> None:
    clock = FakeClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    users = UserService(UserRepo(db), clock, "en")
    await users.touch(7)
    await users.mark_blocked(7)
    before = db.writes
    await users.touch(7)  # marked blocked: the next contact is written again
    assert db.writes - before == 1
    assert await db.fetchval("SELECT blocked_at FROM bot_users WHERE user_id = 7") is None
    await users.touch(7)
    assert db.writes - before == 1


def test_settle_heap_moves_start_up_objects_out_of_the_collectors_way() -> None:
    import gc

    from bot.cli import settle_heap

    try:
        settle_heap()
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def _insert_user(user_id: int) -> Callable[[SyncTx], None]:
    def work(conn: SyncTx) -> None:
        conn.execute("INSERT INTO bot_users (user_id, started_at, last_seen_at) VALUES (?, 'a', 'a')", (user_id,))

    return work


@pytest.mark.sqlite_only  # counts trips to SQLite's connection thread
async def test_write_is_one_whole_transaction_in_one_trip_and_a_failure_rolls_it_back(
    db: Database, trips: list[object]
) -> None:
    before = db.writes
    await db.write(_insert_user(1))
    assert (len(trips), db.writes - before) == (1, 1)
    assert await db.fetchval("SELECT COUNT(*) FROM bot_users") == 1

    def insert_then_fail(conn: SyncTx) -> None:
        _insert_user(2)(conn)
        _insert_user(1)(conn)  # duplicate key

    with pytest.raises(sqlite3.IntegrityError):
        await db.write(insert_then_fail)
    assert [r[0] for r in await db.fetchall("SELECT user_id FROM bot_users")] == [1]
    await db.write(_insert_user(4))  # the writer is usable again
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO bot_users (user_id, started_at, last_seen_at) VALUES (5, 'a', 'a')")
    assert await db.fetchval("SELECT COUNT(*) FROM bot_users") == 3


async def test_a_write_never_lands_inside_a_transaction_in_progress(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO bot_users (user_id, started_at, last_seen_at) VALUES (1, 'a', 'a')")
            write = asyncio.create_task(db.write(_insert_user(2)))
            await asyncio.sleep(0.05)
            assert not write.done()  # waits for the transaction's lock
            await tx.execute("INSERT INTO bot_users (user_id, started_at, last_seen_at) VALUES (3, 'a', 'a')")
            raise RuntimeError("roll back")  # had the write landed inside, its row would go too
    await write
    assert [r[0] for r in await db.fetchall("SELECT user_id FROM bot_users")] == [2]


@pytest.mark.sqlite_only  # insertion order read back through SQLite's rowid
async def test_concurrent_writes_and_transactions_all_land_once_in_order(db: Database) -> None:
    async def through_transaction(user_id: int) -> None:
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO bot_users (user_id, started_at, last_seen_at) VALUES (?, 'a', 'a')", (user_id,)
            )
            await tx.execute("UPDATE bot_users SET language = 'en' WHERE user_id = ?", (user_id,))

    jobs = [db.write(_insert_user(i)) if i % 3 else through_transaction(i) for i in range(1, 121)]
    await asyncio.gather(*jobs)
    rows = await db.fetchall("SELECT user_id, language FROM bot_users ORDER BY rowid")
    assert sorted(r["user_id"] for r in rows) == list(range(1, 121))
    assert {r["user_id"] for r in rows if r["language"] == "en"} == {i for i in range(1, 121) if i % 3 == 0}
    writes = [r["user_id"] for r in rows if r["user_id"] % 3]
    assert writes == sorted(writes)  # one-trip writes land in the order they were made


@pytest.mark.sqlite_only  # insertion order read back through SQLite's rowid
async def test_writes_made_together_are_committed_together_in_order(db: Database) -> None:
    before = db.writes
    await asyncio.gather(*(db.write(_insert_user(i)) for i in range(1, 101)))
    assert db.writes - before <= 3  # the first alone, the rest in one or two batches
    rows = await db.fetchall("SELECT user_id FROM bot_users ORDER BY rowid")
    assert [r["user_id"] for r in rows] == list(range(1, 101))


async def test_a_failing_write_in_a_batch_fails_alone(db: Database) -> None:
    await db.write(_insert_user(7))
    results = await asyncio.gather(
        *(db.write(_insert_user(i)) for i in (1, 2, 7, 3, 4)), return_exceptions=True
    )
    assert [r is None for r in results] == [True, True, False, True, True]
    assert isinstance(results[2], INTEGRITY_ERRORS)
    rows = await db.fetchall("SELECT user_id FROM bot_users ORDER BY user_id")
    assert [r["user_id"] for r in rows] == [1, 2, 3, 4, 7]


async def test_a_first_contact_reads_the_language_with_its_last_seen_write(db: Database) -> None:
    clock = FakeClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    await UserService(UserRepo(db), clock, "en").set_language(5, "zh-Hans")
    repo = UserRepo(db)
    reads: list[int] = []
    real_get = repo.get

    async def counting_get(user_id: int) -> BotUser | None:
        reads.append(user_id)
        return await real_get(user_id)

    repo.get = counting_get  # type: ignore[method-assign]
    users = UserService(repo, clock, "en")  # a fresh process
    before = db.writes
    await asyncio.gather(*(users.touch(i) for i in range(1, 21)))
    assert db.writes - before <= 2
    assert [await users.language(i, "en") for i in range(1, 21)] == ["en"] * 4 + ["zh-Hans"] + ["en"] * 15
    assert reads == []  # every language came back with the touch
    assert await users.language(99, None) == "en"  # never seen since the start: read once
    assert await users.chosen_language(99) is None
    assert reads == [99]
    await users.set_language(6, "zh-Hans")
    assert (await users.language(6, "en"), reads) == ("zh-Hans", [99])
    users.erased(5)  # the member's data was erased: their choice is gone from memory too
    await db.write(lambda conn: conn.execute("DELETE FROM bot_users WHERE user_id = 5"))
    assert await users.language(5, "en") == "en"


@pytest.mark.sqlite_only  # counts trips to SQLite's connection thread
async def test_a_sign_up_is_one_trip_including_its_commit(
    bot: BotRuntime, trips: list[object], commits: list[object]
) -> None:
    assert bot.db is not None and bot.services is not None
    service = bot.services.activities
    created = await service.create(owner_actor(OWNER_ID), draft(service.clock.now(), capacity=1))
    assert created.activity is not None
    await add_member(bot.db, 501, "First")
    await add_member(bot.db, 502, "Second")
    trips.clear()  # count from here: the set-up's own trips do not matter
    commits.clear()
    first = await service.sign_up(501, created.activity.id)
    assert (first.code, len(trips)) == ("confirmed", 1)  # BEGIN, context, seat, row, COMMIT
    second = await service.sign_up(502, created.activity.id)
    assert (second.code, second.position, len(trips)) == ("waiting", 1, 2)
    with pytest.raises(Refusal) as again:  # the judge's refusal, still one trip
        await service.sign_up(502, created.activity.id)
    assert (again.value.key, again.value.values["position"], len(trips)) == ("act.r.already_waiting", 1, 3)
    assert commits == []  # no separate COMMIT trip
    rows = await bot.db.fetchall("SELECT status FROM activity_signups ORDER BY id")
    assert [r["status"] for r in rows] == ["confirmed", "waiting"]
