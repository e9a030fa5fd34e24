"""Issue 16 item 7: an anonymous item shows at most one scope group, whose subtree holds at least
5 active members (or none); the queue's group filter and the answer's delivery status say no more."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from storage.db import Database
from storage.migrations import MIGRATIONS_DIR, migrate
from tests import factories
from tests.feedback_helpers import (
    add_coordinator,
    add_group,
    add_member,
    db_of,
    fast_typing,
    open_item,
    submit_feedback,
    tree,
    write,
)

pytestmark = pytest.mark.usefixtures("fast_typing")
__all__ = ["fast_typing"]


def _groups_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("Groups:"))


async def test_anonymous_item_shows_one_group_hiding_the_author_among_five(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)  # head > sub > local; head > other
    club = await add_group(bot, "摄影俱乐部", t.other, "club")
    db = db_of(bot)
    author = tg.create_user("Author", language_code="en")
    await add_member(bot, author, "作者", [t.local, club])  # the only member of the club
    for n in range(2):
        await factories.add_member(db, None, f"本地{n}", [t.local])  # local: 3 members
    for n in range(3):
        await factories.add_member(db, None, f"分会{n}", [t.sub])  # sub's subtree: 6 members
    coord = tg.create_user("Coordinator", language_code="en")
    await add_coordinator(bot, coord, t.head)
    ref = await submit_feedback(author, "Complaint", "Something happened", anonymous=True)

    item = await open_item(coord, ref)
    line = _groups_line(item.text or "")
    # before: "Groups: 花木街道新联会, 摄影俱乐部" (the club alone names the author)
    assert line == "Groups: 新媒体从业人员联谊会", line
    assert await db.fetchval("SELECT COUNT(*) FROM feedback_groups") == 1

    # the author blocks the bot: the coordinator is not told whether the answer reached them
    author.block_bot()
    reply = await write(coord, item, "Answer", "Thank you, we will look into it")
    assert "could not be delivered" not in reply and "was delivered" not in reply, reply
    assert ref in reply


async def test_anonymous_item_of_a_small_association_shows_no_group(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    author = tg.create_user("Author", language_code="en")
    await add_member(bot, author, "作者", [t.local])
    await factories.add_member(db_of(bot), None, "另一位", [t.local])
    coord = tg.create_user("Coordinator", language_code="en")
    await add_coordinator(bot, coord, t.head)
    ref = await submit_feedback(author, "Complaint", "Something happened", anonymous=True)
    item = await open_item(coord, ref)  # still reaches the head association's coordinators
    assert _groups_line(item.text or "") == "Groups: —"


async def test_items_stored_before_keep_only_their_coarsest_group(tmp_path: Path) -> None:
    """Migration 0701: anonymous items stored with every group of their author keep one."""
    before = tmp_path / "before"
    before.mkdir()
    for sql in MIGRATIONS_DIR.glob("*.sql"):
        if sql.name < "0701":
            shutil.copy(sql, before / sql.name)
    db = await Database.open(tmp_path / "old.db")
    try:
        await migrate(db, before)
        head = await factories.add_group(db, "总会")
        local = await factories.add_group(db, "本地", head)
        club = await factories.add_group(db, "俱乐部", head, "club")
        async with db.transaction() as tx:
            for item, anonymous in ((1, 1), (2, 0)):
                await tx.execute(
                    "INSERT INTO feedback_items (id, year, seq, ref, kind, body, anonymous, status, due_at,"
                    " created_at, updated_at) VALUES (?, 2026, ?, ?, 'other', 'x', ?, 'new', 'a', 'a', 'a')",
                    (item, item, f"FB-2026-000{item}", anonymous),
                )
                for gid in (local, club):
                    path = await tx.fetchval("SELECT path FROM groups WHERE id = ?", (gid,))
                    await tx.execute(
                        "INSERT INTO feedback_groups (feedback_id, group_id, path) VALUES (?, ?, ?)", (item, gid, path)
                    )
        await migrate(db)
        assert await db.fetchval("SELECT COUNT(*) FROM feedback_groups WHERE feedback_id = 1") == 1
        assert await db.fetchval("SELECT group_id FROM feedback_groups WHERE feedback_id = 1") == local
        assert await db.fetchval("SELECT COUNT(*) FROM feedback_groups WHERE feedback_id = 2") == 2
    finally:
        await db.close()
