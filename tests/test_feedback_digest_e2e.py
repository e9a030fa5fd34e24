"""The "you said, we did" digest: previewed, anonymised, queued through the outbox."""

from __future__ import annotations

import pytest

from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.feedback_helpers import (
    add_coordinator,
    add_member,
    db_of,
    drain_outbox,
    fast_typing,
    submit_feedback,
    tree,
)

pytestmark = pytest.mark.usefixtures("fast_typing")
__all__ = ["fast_typing"]


async def test_digest_is_previewed_then_queued_to_the_segment(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    author = tg.create_user("张伟", language_code="en")
    await add_member(bot, author, "张伟", [t.local])
    reader = tg.create_user("Reader", language_code="en")
    await add_member(bot, reader, "Reader", [t.sub])
    await reader.send("/start")
    await reader.next_message()
    elsewhere = tg.create_user("Elsewhere", language_code="en")
    await add_member(bot, elsewhere, "Elsewhere", [t.other])
    coord = tg.create_user("Coord", language_code="en")
    await add_coordinator(bot, coord, t.sub)
    await submit_feedback(author, "Suggestion", "Open a co-working corner")
    assert bot.services is not None
    actor = await bot.services.roles.actor(coord.id)
    item_id = await db_of(bot).fetchval("SELECT id FROM feedback_items")
    await bot.services.feedback.answer(actor, item_id, "Opened on floor 3")
    await coord.send("/digest")
    chooser = await coord.next_message()
    await (await coord.press(chooser, "All members in my scope")).answer()
    preview = await coord.wait_for(lambda m: m.message_id == chooser.message_id and "Preview" in (m.text or ""))
    assert "Opened on floor 3" in (preview.text or "") and "张伟" not in (preview.text or "")
    assert await db_of(bot).fetchval("SELECT COUNT(*) FROM outbox") == 0
    await (await coord.press(preview, "Send it")).answer()
    await coord.wait_for(lambda m: "Queued for 2 members" in (m.text or ""))
    chats = {r[0] for r in await db_of(bot).fetchall("SELECT chat_id FROM outbox WHERE kind = 'feedback_digest'")}
    assert chats == {author.id, reader.id}
    assert await drain_outbox(bot, tg) == 2
    await author.wait_for(lambda m: "You said, we did" in (m.text or ""))
    received = await reader.wait_for(lambda m: "You said, we did" in (m.text or ""))
    assert "Open a co-working corner" in (received.text or "") and "张伟" not in (received.text or "")


async def test_digest_with_nothing_answered_says_so(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    coord = tg.create_user("Coord", language_code="en")
    await add_coordinator(bot, coord, t.head)
    await coord.send("/digest")
    chooser = await coord.next_message()
    await (await coord.press(chooser, "All members in my scope")).answer()
    await coord.wait_for(lambda m: "no recently answered" in (m.text or ""))


async def test_members_cannot_use_coordinator_commands(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    member = tg.create_user("Member", language_code="en")
    await add_member(bot, member, "Member", [t.local])
    await member.send("/digest")
    first = await member.next_message()
    await member.send("/queue")
    second = await member.next_message()
    assert "Feedback" not in (first.text or "") + (second.text or "")
    assert first.buttons == [] and second.buttons == []
