"""Issue 16 items 10-11: texts measured in Telegram's units and cut at safe boundaries; member text
cleaned by one policy; exports never fail on a stored character."""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook

from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.feedback_helpers import add_coordinator, add_member, db_of, fast_typing, open_item, tree, write
from tests.test_surveys_e2e import answer_all, invitation, publish, setup

pytestmark = pytest.mark.usefixtures("fast_typing")
__all__ = ["fast_typing"]

AT = "2026-11-01T00:00:00.000000Z"


async def test_a_feedback_item_of_2000_emoji_opens_and_is_answered(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    member = tg.create_user("Emoji", language_code="en")
    member.state.started = True
    await add_member(bot, member, "表情", [t.local])
    coord = tg.create_user("Coordinator", language_code="en")
    await add_coordinator(bot, coord, t.head)
    assert bot.services is not None
    who = await bot.services.roles.actor(member.id)
    created = await bot.services.feedback.submit(who, "need", "😀" * 2000, False, [])
    item = await open_item(coord, created.ref)
    assert "😀" in (item.text or "") and any(b.get("text") == "Answer" for b in item.inline_buttons)
    await write(coord, item, "Answer", "Received, thank you")
    assert await db_of(bot).fetchval("SELECT status FROM feedback_items") == "answered"
    assert tg.counters.validation_errors == []


async def test_control_characters_are_cleaned_from_feedback(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    member = tg.create_user("Bidi", language_code="en")
    await add_member(bot, member, "双向", [t.local])
    assert bot.services is not None
    who = await bot.services.roles.actor(member.id)
    await bot.services.feedback.submit(who, "other", "a\u202eb\u200bc\x1bd 👨\u200d👩", False, [])
    assert await db_of(bot).fetchval("SELECT body FROM feedback_items") == "abcd 👨\u200d👩"


async def test_survey_results_split_safely_and_export_any_stored_character(tg: FakeTelegram, bot: BotRuntime) -> None:
    _tree, coord, member = await setup(bot, tg)
    survey_id = await publish(bot, coord)
    await answer_all(member, await invitation(bot, tg, member))
    db = db_of(bot)
    question = await db.fetchval(
        "SELECT id FROM survey_questions WHERE survey_id = ? AND kind = 'text'", (survey_id,)
    )
    async with db.transaction() as tx:  # stored before the cleaning policy: an ESC in one answer
        await tx.execute(
            "UPDATE survey_answers SET value = ? WHERE question_id = ?", (json.dumps("esc\x1bhere"), question)
        )
        # long questions full of '&' (one visible character, five in HTML): more than one message
        await tx.execute("UPDATE survey_questions SET text = ? WHERE survey_id = ?", ("Q & A " * 250, survey_id))
        for n in range(12):  # long answers full of '&' (one visible character, five in HTML)
            mid = await tx.insert(
                "INSERT INTO members (status, name, category, registered_at, updated_at)"
                " VALUES ('active', ?, 'enterprise', ?, ?)",
                (f"m{n}", AT, AT),
            )
            rid = await tx.insert(
                "INSERT INTO survey_responses (survey_id, member_id, started_at, completed_at) VALUES (?, ?, ?, ?)",
                (survey_id, mid, AT, AT),
            )
            await tx.execute(
                "INSERT INTO survey_answers (response_id, question_id, value, final) VALUES (?, ?, ?, 1)",
                (rid, question, json.dumps("&" * 199 + "<")),
            )
    await coord.send("/surveys")
    listing = await coord.next_message()
    before = max(m.message_id for m in coord.inbox)
    await (await coord.press(listing, lambda b: str(b.get("text", "")).startswith("#1"))).answer()
    last = await coord.wait_for(lambda m: m.message_id >= listing.message_id and any(
        b.get("text") == "XLSX" for b in m.inline_buttons))
    assert tg.counters.validation_errors == []
    assert last.message_id > before  # the results took more than one message; buttons on the last
    await (await coord.press(last, "XLSX")).answer()
    xlsx = await coord.wait_for(
        lambda m: bool(m.raw.get("document")) and m.raw["document"]["file_name"].endswith("xlsx")
    )
    sheet = load_workbook(io.BytesIO(await coord.download(xlsx))).active
    assert sheet is not None
    assert any("esc\ufffdhere" in str(c) for row in sheet.iter_rows(values_only=True) for c in row)
