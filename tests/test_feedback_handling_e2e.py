"""Coordinators handle feedback: queue, take, assign, notes, answers, close, scope, anonymity."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.conftest import StartBot
from tests.feedback_helpers import (
    add_coordinator,
    add_member,
    db_of,
    fast_typing,
    fresh_queue,
    open_item,
    submit_feedback,
    tree,
    write,
)

pytestmark = pytest.mark.usefixtures("fast_typing")
__all__ = ["fast_typing"]


async def test_coordinator_takes_answers_and_member_is_told(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    member = tg.create_user("张伟", language_code="en")
    await add_member(bot, member, "张伟", [t.local])
    coord = tg.create_user("Coordinator Li", language_code="en")
    await add_coordinator(bot, coord, t.sub)
    ref = await submit_feedback(member, "Suggestion", "Hold salons in Huamu")
    item = await open_item(coord, ref)
    assert "From: 张伟" in (item.text or "") and "花木街道新联会" in (item.text or "")
    await (await coord.press(item, "Take it")).answer()
    item = await coord.wait_for(lambda m: m.message_id == item.message_id and "Assigned" in (m.text or ""))
    await (await coord.press(item, "Mark in progress")).answer()
    await coord.wait_for(lambda m: m.message_id == item.message_id and "In progress" in (m.text or ""))
    reply_text = await write(coord, item, "Answer", "We will, starting in December <b>!</b>")
    assert f"answer to {ref} was delivered" in reply_text
    told = await member.wait_for(lambda m: "has been answered" in (m.text or ""))
    assert "We will, starting in December <b>!</b>" in (told.text or "")
    await (await member.press(told, "👍 Helpful")).answer()
    row = await db_of(bot).fetchone("SELECT status, helpful, assignee_user_id FROM feedback_items")
    assert row is not None and tuple(row) == ("answered", 1, coord.id)
    actions = [r["action"] for r in await db_of(bot).fetchall("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["feedback.take", "feedback.in_progress", "feedback.answer"]
    assert tg.counters.validation_errors == []


async def test_member_can_reopen_once_with_a_comment(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    member = tg.create_user("李娜", language_code="en")
    await add_member(bot, member, "李娜", [t.local])
    coord = tg.create_user("Head", language_code="en")
    await add_coordinator(bot, coord, t.head)
    ref = await submit_feedback(member, "Need / request for help", "Need a lawyer's advice")
    item = await open_item(coord, ref)
    await write(coord, item, "Answer", "Talk to the expert team")
    told = await member.wait_for(lambda m: "has been answered" in (m.text or ""))
    await (await member.press(told, "Reopen")).answer()
    await member.next_message()
    await member.send("Nobody answered my call")
    assert "is reopened" in ((await member.wait_for(lambda m: "reopened" in (m.text or ""))).text or "")
    row = await db_of(bot).fetchone("SELECT status, reopen_comment FROM feedback_items")
    assert row is not None and tuple(row) == ("in_progress", "Nobody answered my call")
    item = await open_item(coord, ref, status_filter="All statuses")
    await write(coord, item, "Answer", "Called you back")
    again = await member.wait_for(lambda m: "Called you back" in (m.text or ""))
    await (await member.press(again, "Reopen")).answer()
    await member.next_message()
    await member.send("Still unhappy")
    assert await member.wait_for(lambda m: "cannot be reopened" in (m.text or ""))


async def test_items_outside_scope_are_invisible_and_forged_buttons_refused(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    member = tg.create_user("王芳", language_code="en")
    await add_member(bot, member, "王芳", [t.local])
    outsider = tg.create_user("Other coordinator", language_code="en")
    await add_coordinator(bot, outsider, t.other)
    ref = await submit_feedback(member, "Complaint", "Noise at the venue")
    await outsider.send("/queue")
    queue = await outsider.next_message()
    assert ref not in str(queue.buttons) and "No feedback" in (queue.text or "")
    item_id = await db_of(bot).fetchval("SELECT id FROM feedback_items")
    for forged in (f"fb:v:{item_id}", f"fb:take:{item_id}", f"fb:close:{item_id}", f"fb:to:{item_id}:{outsider.id}"):
        result = await outsider.press_data(queue, forged)
        assert "not yours" in ((await result.answer()).text or "")
    own = member.last_message
    assert own is not None
    result = await member.press_data(own, f"fb:take:{item_id}")
    assert "not yours" in ((await result.answer()).text or "")
    result = await member.press_data(own, "fbq:new:-:-:0")
    assert "not allowed" in ((await result.answer()).text or "")
    assert await db_of(bot).fetchval("SELECT status FROM feedback_items") == "new"
    assert await db_of(bot).fetchval("SELECT COUNT(*) FROM audit_log") == 0


async def test_notes_stay_internal_and_close_is_audited(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    member = tg.create_user("刘洋", language_code="en")
    await add_member(bot, member, "刘洋", [t.local])
    coord = tg.create_user("Coord", language_code="en")
    await add_coordinator(bot, coord, t.local)
    ref = await submit_feedback(member, "Other", "Idea")
    item = await open_item(coord, ref)
    assert "Note saved" in await write(coord, item, "Internal note", "call the district office")
    item = await open_item(coord, ref)
    assert "call the district office" in (item.text or "")
    await (await coord.press(item, "Close")).answer()
    await coord.wait_for(lambda m: m.message_id == item.message_id and "Closed" in (m.text or ""))
    assert not any("district office" in (m.text or "") for m in member.inbox)
    actions = [r["action"] for r in await db_of(bot).fetchall("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["feedback.note", "feedback.close"]


async def test_assign_to_another_coordinator_notifies_them(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    member = tg.create_user("陈静", language_code="en")
    await add_member(bot, member, "陈静", [t.local])
    coord = tg.create_user("Sub coordinator", language_code="en")
    await add_coordinator(bot, coord, t.sub)
    local = tg.create_user("Local coordinator", language_code="en")
    await add_coordinator(bot, local, t.local)
    await local.send("/start")
    await local.next_message()
    ref = await submit_feedback(member, "Suggestion", "More trainings")
    item = await open_item(coord, ref)
    await (await coord.press(item, "Assign")).answer()
    chooser = await coord.wait_for(lambda m: m.message_id == item.message_id and "Assign to whom" in (m.text or ""))
    await (await coord.press(chooser, str(local.id))).answer()
    notice = await local.wait_for(lambda m: "assigned to you" in (m.text or ""))
    assert ref in (notice.text or "")
    assert await db_of(bot).fetchval("SELECT assignee_user_id FROM feedback_items") == local.id


async def test_anonymous_item_leaves_no_trace_of_its_author(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    member = tg.create_user("匿名者王", language_code="en")
    await add_member(bot, member, "匿名者王", [t.local])
    coord = tg.create_user("Coordinator", language_code="en")
    await add_coordinator(bot, coord, t.head)
    ref = await submit_feedback(member, "Complaint", "The secretary is rude", anonymous=True, photo=b"\xff\xd8pic")
    item = await open_item(coord, ref)
    assert "From: anonymous" in (item.text or "")
    await (await coord.press(item, "Show attachments")).answer()
    await coord.wait_for(lambda m: bool(m.raw.get("photo")))
    await write(coord, item, "Internal note", "check with the office")
    item = await open_item(coord, ref)
    await (await coord.press(item, "Take it")).answer()
    await write(coord, item, "Answer", "We apologise and will follow up")
    await member.wait_for(lambda m: "We apologise" in (m.text or ""))
    queue = await fresh_queue(coord)
    await (await coord.press(queue, "Export CSV")).answer()
    export = await coord.wait_for(lambda m: bool(m.raw.get("document")))
    csv_text = (await coord.download(export)).decode("utf-8")
    assert ref in csv_text and "Anonymous" in csv_text
    seen = [json.dumps(m.raw, ensure_ascii=False) for m in coord.inbox] + [csv_text]
    for trace in ("匿名者王", str(member.id)):
        assert all(trace not in text for text in seen), trace
    audit = await db_of(bot).fetchall("SELECT actor_user_id, details FROM audit_log")
    assert audit and all(str(member.id) not in str(tuple(r)) and "匿名者王" not in str(tuple(r)) for r in audit)
    assert await db_of(bot).fetchval("SELECT author_member_id FROM feedback_items") is None


async def test_forgetting_a_member_removes_the_author_link(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    member = tg.create_user("Ann", language_code="en")
    member_id = await add_member(bot, member, "Ann", [t.local])
    await submit_feedback(member, "Other", "one", anonymous=True)
    await submit_feedback(member, "Other", "two")
    assert bot.services is not None
    assert await bot.services.feedback.forget_member(member_id) == 2
    assert await db_of(bot).fetchval("SELECT COUNT(*) FROM feedback_authors") == 0
    assert await db_of(bot).fetchval("SELECT COUNT(*) FROM feedback_items WHERE author_member_id IS NOT NULL") == 0


async def test_queue_filters_by_kind_and_paginates(tg: FakeTelegram, start_bot: StartBot) -> None:
    runtime = await start_bot(feedback_daily_limit=50)
    t = await tree(runtime)
    member = tg.create_user("Busy", language_code="en")
    await add_member(runtime, member, "Busy", [t.local])
    coord = tg.create_user("Coord", language_code="en")
    await add_coordinator(runtime, coord, t.head)
    assert runtime.services is not None
    who = await runtime.services.roles.actor(member.id)
    for n in range(10):
        await runtime.services.feedback.submit(who, "suggestion", f"idea {n}", False, [])
    await runtime.services.feedback.submit(who, "complaint", "one complaint", False, [])
    queue = await fresh_queue(coord)
    assert "11 items" in (queue.text or "") and "1/2" in str(queue.buttons)
    await (await coord.press(queue, "Next ›")).answer()
    queue = await coord.wait_for(lambda m: m.message_id == queue.message_id and "2/2" in str(m.buttons))
    assert sum(str(b.get("text", "")).startswith("FB-") for b in queue.inline_buttons) == 3
    await (await coord.press(queue, "Complaint")).answer()
    only = await coord.wait_for(lambda m: m.message_id == queue.message_id and (m.text or "").endswith(": 1 items"))
    assert "FB-2026-0011" in str(only.buttons)


async def test_the_formal_answer_is_previewed_with_send_and_edit_first(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    member = tg.create_user("王芳", language_code="en")
    await add_member(bot, member, "王芳", [t.local])
    coord = tg.create_user("Coordinator Li", language_code="en")
    await add_coordinator(bot, coord, t.sub)
    ref = await submit_feedback(member, "Suggestion", "More evening salons")
    item = await open_item(coord, ref)
    await (await coord.press(item, "Answer")).answer()
    await coord.wait_for(lambda m: "official answer" in (m.text or ""))
    await coord.send("We will hold one in Decmber")  # a typo
    preview = await coord.wait_for(lambda m: "Send" in m.buttons)
    assert preview.buttons == ["Send", "Edit"]
    assert "the member will get" in (preview.text or "") and "has been answered" in (preview.text or "")
    assert "We will hold one in Decmber" in (preview.text or "")
    assert not any("has been answered" in (m.text or "") for m in member.inbox)  # nothing sent yet
    assert await db_of(bot).fetchval("SELECT status FROM feedback_items") != "answered"
    await (await coord.press(preview, "Edit")).answer()
    await coord.wait_for(lambda m: m.message_id > preview.message_id and "official answer" in (m.text or ""))
    await coord.send("We will hold one in December")
    second = await coord.wait_for(lambda m: m.message_id > preview.message_id and "Send" in m.buttons)
    first, again = await coord.press(second, "Send"), await coord.press(second, "Send")  # a double tap
    await first.answer()
    await again.answer()
    await coord.wait_for(lambda m: f"answer to {ref} was delivered" in (m.text or ""))
    told = await member.wait_for(lambda m: "has been answered" in (m.text or ""))
    assert "We will hold one in December" in (told.text or "")
    await asyncio.sleep(0.2)
    assert sum("has been answered" in (m.text or "") for m in member.inbox) == 1
    assert "Decmber" not in (told.text or "")
