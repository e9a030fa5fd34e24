"""City scale (issue 19): the set-based paths keep the behaviour of the per-recipient ones.

Run on both backends (`--backend=postgresql`); the speed itself is measured by bench/scale.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.clock import FakeClock
from bot.config import load_settings
from bot.i18n import Catalog
from bot.notices import Segment
from bot.notices.models import Draft
from bot.roles import Actor, Role
from bot.scope import Scope
from bot.services import Services
from storage.db import Database
from storage.migrations import migrate
from storage.outbox import OutgoingMessage, enqueue
from tests.factories import add_group, add_member

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OWNER = 9000001


async def _services(db: Database) -> Services:
    settings = load_settings(None, LIAISON_OWNERS=str(OWNER))
    return Services.create(settings, db, FakeClock(NOW), Catalog.load(settings.language))


async def test_a_notice_is_queued_once_for_each_reachable_member_with_the_button_in_their_language(
    fresh_database: Database,
) -> None:
    db = fresh_database
    await migrate(db)
    head = await add_group(db, "总会")
    east = await add_group(db, "东区", head, "sub")
    west = await add_group(db, "西区", head, "sub")
    ids = {
        "en": await add_member(db, 101, "Alice", [east], language="en"),
        "zh": await add_member(db, 102, "李娜", [east], language="zh-Hans"),
        "none": await add_member(db, 103, "王芳", [east]),
        "two_groups": await add_member(db, 104, "刘洋", [east, west]),
        "other": await add_member(db, 105, "陈静", [west]),
    }
    await add_member(db, 106, "离开", [east], status="left")
    await add_member(db, None, "没有账号", [east])
    await add_member(db, 107, "不可达", [east], unreachable_at="2026-01-01T00:00:00.000000Z")
    services = await _services(db)
    owner = Actor(OWNER, Role.OWNER, scope=Scope(everything=True))
    attachment = {"type": "photo", "file_id": "图片-1"}
    created = await services.notices.create(
        owner, Draft("<b>通知</b>", Segment(group_ids=(east,)), attachment=attachment, paid=True), "zh-Hans")
    rows = await db.fetchall(
        "SELECT chat_id, member_id, text, reply_markup, attachment, paid, status FROM outbox"
        " WHERE kind = 'notice' AND ref_id = ? ORDER BY chat_id", (created.notice_id,))
    assert created.recipients == 4
    assert [(r["chat_id"], r["member_id"]) for r in rows] == [
        (101, ids["en"]), (102, ids["zh"]), (103, ids["none"]), (104, ids["two_groups"])]
    labels = {r["chat_id"]: json.loads(r["reply_markup"])["inline_keyboard"][0][0]["text"] for r in rows}
    catalog = Catalog.load()
    assert labels == {101: catalog.text("en", "notice.ack_button"), 102: catalog.text("zh-Hans", "notice.ack_button"),
                      103: catalog.text("zh-Hans", "notice.ack_button"),
                      104: catalog.text("zh-Hans", "notice.ack_button")}
    assert {r["text"] for r in rows} == {"<b>通知</b>"}
    assert {r["attachment"] for r in rows} == {json.dumps(attachment, ensure_ascii=False)}
    assert {(int(r["paid"]), r["status"]) for r in rows} == {(1, "pending")}


async def test_enqueue_counts_only_the_rows_it_added(fresh_database: Database) -> None:
    db = fresh_database
    await migrate(db)
    first = [OutgoingMessage("notice", 1, chat, "hi") for chat in (1, 2, 3)]
    async with db.transaction() as tx:
        assert await enqueue(tx, first, NOW) == 3
        assert await enqueue(tx, [*first[1:], OutgoingMessage("notice", 1, 4, "hi")], NOW) == 1
        assert await enqueue(tx, [], NOW) == 0
    assert await db.fetchval("SELECT COUNT(*) FROM outbox") == 4
