"""Demo association loader (`liaison-bot sandbox --demo`) and the sandbox start-up used by the web chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import SANDBOX_OWNER_ID, SPARE_OWNER_IDS, start_sandbox_bot
from bot.clock import FakeClock
from bot.config import Settings
from bot.demo import load_demo
from bot.i18n import Catalog
from sandbox.server import FakeTelegram
from storage.activities import ActivityRepo
from storage.db import Database
from storage.demo import DemoRepo, DemoSkippedError
from storage.migrations import migrate
from storage.pg import translate_ddl

ZONE = ZoneInfo("Asia/Shanghai")
OWNER = 9000001

# The feature tables as the activities and feedback features define them (IF NOT EXISTS: once
# their migrations are merged, the real tables are used instead).
FEATURE_TABLES = """
CREATE TABLE IF NOT EXISTS activities (
    id INTEGER PRIMARY KEY, title TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
    place TEXT NOT NULL DEFAULT '', starts_at TEXT NOT NULL, ends_at TEXT NOT NULL,
    signup_deadline TEXT NOT NULL, capacity INTEGER, seats_taken INTEGER NOT NULL DEFAULT 0,
    has_groups INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    CHECK (capacity IS NULL OR seats_taken <= capacity));
CREATE TABLE IF NOT EXISTS activity_groups (activity_id INTEGER NOT NULL, group_id INTEGER NOT NULL,
    PRIMARY KEY (activity_id, group_id));
CREATE TABLE IF NOT EXISTS activity_signups (id INTEGER PRIMARY KEY, activity_id INTEGER NOT NULL,
    member_id INTEGER NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    UNIQUE (activity_id, member_id));
CREATE TABLE IF NOT EXISTS feedback_items (id INTEGER PRIMARY KEY, year INTEGER NOT NULL, seq INTEGER NOT NULL,
    ref TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, body TEXT NOT NULL, anonymous INTEGER NOT NULL DEFAULT 0,
    author_member_id INTEGER, status TEXT NOT NULL DEFAULT 'new', assignee_user_id INTEGER, answer TEXT,
    answered_at TEXT, answered_by INTEGER, due_at TEXT NOT NULL, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feedback_authors (feedback_id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feedback_groups (feedback_id INTEGER NOT NULL, group_id INTEGER NOT NULL,
    path TEXT NOT NULL, PRIMARY KEY (feedback_id, group_id));
"""


@pytest.fixture
async def db(fresh_database: Database) -> AsyncIterator[Database]:
    """A migrated database on the backend under test (SQLite, or PostgreSQL with --backend)."""
    await migrate(fresh_database)
    yield fresh_database


def ddl(db: Database, statement: str) -> str:
    """A test table's DDL (written for SQLite) in the words of the backend under test."""
    return translate_ddl(statement) if db.dialect == "postgresql" else statement


async def count(db: Database, sql: str) -> int:
    return int(await db.fetchval(sql))


async def test_demo_builds_the_1_6_n_tree_with_members_and_coordinators(db: Database, clock: FakeClock) -> None:
    summary = await load_demo(db, clock.now(), ZONE, OWNER)
    assert summary.loaded
    assert await count(db, "SELECT COUNT(*) FROM groups WHERE kind = 'head' AND parent_id IS NULL") == 1
    assert await count(db, "SELECT COUNT(*) FROM groups WHERE kind = 'sub'") == 6
    assert await count(db, "SELECT COUNT(*) FROM groups WHERE kind = 'local'") >= 2
    assert await db.fetchval("SELECT name FROM groups WHERE parent_id IS NULL") == "浦东新联总会"
    assert await count(db, "SELECT COUNT(*) FROM groups WHERE path NOT LIKE '/1/%'") == 0
    assert await count(db, "SELECT COUNT(*) FROM members WHERE status = 'active'") >= 24
    assert await count(db, "SELECT COUNT(DISTINCT category) FROM members") == 4
    assert await count(db, "SELECT COUNT(*) FROM member_groups mg JOIN members m ON m.id = mg.member_id"
                           " WHERE m.name = '张伟'") == 2
    lujiazui = await db.fetchval("SELECT id FROM groups WHERE name = '陆家嘴金融城新联会'")
    assert await db.fetchval("SELECT user_id FROM coordinators WHERE group_id = ?", (lujiazui,)) == 9100001
    assert [p.first_name for p in summary.personas] == ["张伟", "李娜", "Alice"]


async def test_demo_fills_activity_and_feedback_tables_that_exist(db: Database, clock: FakeClock) -> None:
    async with db.transaction() as tx:
        for statement in FEATURE_TABLES.split(";"):
            if statement.strip():
                await tx.execute(ddl(db, statement))
    summary = await load_demo(db, clock.now(), ZONE, OWNER)
    assert summary.skipped == [], f"the demo data no longer fits a feature table: {summary.skipped}"
    assert summary.activities == 4 and summary.feedback == 3
    assert await count(db, "SELECT COUNT(*) FROM activities WHERE starts_at > signup_deadline") == 4
    assert await count(db, "SELECT COUNT(*) FROM activities a WHERE seats_taken <> (SELECT COUNT(*)"
                           " FROM activity_signups s WHERE s.activity_id = a.id AND s.status = 'confirmed')") == 0
    assert await count(db, "SELECT COUNT(*) FROM feedback_items WHERE anonymous = 1"
                           " AND author_member_id IS NOT NULL") == 0
    assert await count(db, "SELECT COUNT(*) FROM feedback_authors") == 3


async def test_demo_activities_are_listed_as_upcoming_on_every_backend(db: Database, clock: FakeClock) -> None:
    # PostgreSQL once skipped the demo's activities and feedback: their link tables
    # (activity_groups, feedback_authors) have no id column, and `INSERT ... RETURNING id` failed.
    summary = await load_demo(db, clock.now(), ZONE, OWNER)
    assert summary.skipped == []
    upcoming = await ActivityRepo(db).upcoming(clock.now())
    assert len(upcoming) == summary.activities == 4
    assert await count(db, "SELECT COUNT(*) FROM activity_groups") > 0


async def test_flexible_insert_into_a_table_without_an_id_column(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute(ddl(db, "CREATE TABLE webchat_link (a INTEGER NOT NULL, b INTEGER NOT NULL,"
                                 " PRIMARY KEY (a, b))"))
    repo = DemoRepo(db)
    columns = await repo.columns("webchat_link")
    async with db.transaction() as tx:
        assert await repo.insert_flexible(tx, "webchat_link", {"a": 1, "b": 2}, columns) == 0
    assert await count(db, "SELECT COUNT(*) FROM webchat_link WHERE a = 1 AND b = 2") == 1


async def test_demo_without_feature_tables_loads_only_the_core(db: Database, clock: FakeClock) -> None:
    tables = await DemoRepo(db).tables()
    summary = await load_demo(db, clock.now(), ZONE, OWNER)
    assert summary.loaded
    if "activities" not in tables:
        assert summary.activities == 0
    if "feedback_items" not in tables:
        assert summary.feedback == 0


async def test_demo_is_not_loaded_into_a_database_that_has_groups(db: Database, clock: FakeClock) -> None:
    await load_demo(db, clock.now(), ZONE, OWNER)
    members = await count(db, "SELECT COUNT(*) FROM members")
    again = await load_demo(db, clock.now(), ZONE, OWNER)
    assert not again.loaded
    assert await count(db, "SELECT COUNT(*) FROM members") == members


async def test_flexible_insert_skips_unknown_required_columns_and_refused_rows(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute(ddl(db, "CREATE TABLE webchat_probe (id INTEGER PRIMARY KEY, must TEXT NOT NULL,"
                                 " note TEXT, n INTEGER NOT NULL DEFAULT 0 CHECK (n < 5))"))
    repo = DemoRepo(db)
    columns = await repo.columns("webchat_probe")
    async with db.transaction() as tx:
        assert await repo.insert_flexible(tx, "webchat_probe", {"note": "x", "other": 1}, columns) is None
        assert await repo.insert_flexible(tx, "webchat_probe", {"must": "y", "other": 1}, columns) == 1
    with pytest.raises(DemoSkippedError):
        async with db.transaction() as tx:
            await repo.insert_flexible(tx, "webchat_probe", {"must": "z", "n": 9}, columns)
    assert await count(db, "SELECT COUNT(*) FROM webchat_probe") == 1


async def test_sandbox_without_owners_adds_the_sandbox_owner_and_the_personas(
    tg: FakeTelegram, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    runtime = await start_sandbox_bot(tg, settings.model_copy(update={"owners": ()}), tmp_path / "s.db",
                                      demo=True, clock=clock)
    try:
        assert tg.owner_ids == [SANDBOX_OWNER_ID, *SPARE_OWNER_IDS]
        played = {u.id for u in tg.users if u.id not in tg.background_ids}
        assert played == {SANDBOX_OWNER_ID, 9100001, 9100002, 9100003}
        assert len(tg.background_ids) == 25 and all(tg.user(i).state.started for i in tg.background_ids)
        assert [c.title for c in tg.world.chats.values() if not c.is_private] == ["陆家嘴金融城新联会 工作群"]
        coordinator = tg.user(9100001)
        await coordinator.send("/help")
        heading = str(Catalog.load().text("zh-Hans", "help.intro.coordinator"))
        assert heading.replace("<b>", "").replace("</b>", "") in (await coordinator.next_message()).text
        owner = tg.user(SANDBOX_OWNER_ID)
        await owner.send("/help")
        heading = str(Catalog.load().text("zh-Hans", "help.intro.owner"))
        assert heading.replace("<b>", "").replace("</b>", "") in (await owner.next_message()).text
    finally:
        await runtime.stop()


async def test_demo_personas_have_started_the_bot_so_announcements_reach_them(
    tg: FakeTelegram, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    """#17: a demo announcement reaches the personas (before, they had never started the bot: 403)."""
    runtime = await start_sandbox_bot(tg, settings, tmp_path / "s.db", demo=True, clock=clock)
    try:
        assert runtime.app is not None and runtime.db is not None
        for persona in (9100001, 9100002, 9100003):
            assert tg.user(persona).state.started
            sent = await runtime.app.bot.send_message(persona, "📣 demo announcement")
            assert sent.chat.id == persona
            assert (await tg.user(persona).next_message()).text == "📣 demo announcement"
        languages = dict(await runtime.db.fetchall("SELECT user_id, tg_language FROM bot_users"
                                                   " WHERE user_id IN (9100001, 9100003)"))
        assert languages == {9100001: "zh-hans", 9100003: "en"}  # known as started, in their language
    finally:
        await runtime.stop()
