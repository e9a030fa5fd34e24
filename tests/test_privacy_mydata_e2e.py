"""Issue 16 item 9: /mydata holds everything stored about the member, their anonymous feedback
included, acknowledged notices and their language, as readable JSON."""

from __future__ import annotations

import json

import pytest

from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.feedback_helpers import add_member, db_of, fast_typing, submit_feedback, tree

pytestmark = pytest.mark.usefixtures("fast_typing")
__all__ = ["fast_typing"]

AT = "2026-11-01T00:00:00.000000Z"


async def test_mydata_has_anonymous_feedback_acknowledgements_and_language(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    db = db_of(bot)
    user = tg.create_user("Data", language_code="en")
    member_id = await add_member(bot, user, "数据", [t.local])
    await submit_feedback(user, "Complaint", "匿名的意见", anonymous=True)
    async with db.transaction() as tx:
        notice = await tx.insert(
            "INSERT INTO notices (author_user_id, author_lang, text, segment, status, created_at, sent_at)"
            " VALUES (1, 'zh', '<b>开会</b> &amp; 通知', '{}', 'sent', ?, ?)",
            (AT, AT),
        )
        await tx.execute("INSERT INTO notice_acks (notice_id, member_id, at) VALUES (?, ?, ?)", (notice, member_id, AT))
    await user.send("/mydata")
    doc = await user.wait_for(lambda m: m.document is not None)
    raw = (await user.download(doc)).decode("utf-8")
    data = json.loads(raw)
    assert "匿名的意见" in raw  # readable, not \\u-escaped
    item = data["feedback"]["items"][0]
    assert item["text"] == "匿名的意见" and item["anonymous"] is True
    assert data["notices"]["acknowledged"][0]["text"] == "开会 & 通知"
    assert data["members"]["language"]["resolved"] == "en" and data["members"]["language"]["chosen"] == "en"
