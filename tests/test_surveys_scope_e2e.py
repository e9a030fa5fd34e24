"""Questionnaire results by scope (issue #15, defect 3) and in words (defect 4).

A questionnaire sent to several branches is seen by each branch's coordinator with only the answers
of members inside their branch, in the message and in both exports; its status is shown in words."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from bot.clock import FakeClock
from bot.runtime import BotRuntime
from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram
from sandbox.state import SandboxMessage
from tests.feedback_helpers import add_coordinator, add_member, fast_typing, tree

pytestmark = pytest.mark.usefixtures("fast_typing")
__all__ = ["fast_typing"]

QUESTIONS = [("single", "Which day suits you?", ["Saturday", "Sunday"]), ("text", "Anything else?", [])]


async def answer(runtime: BotRuntime, user: SandboxUser, survey_id: int, choice: str, text: str) -> None:
    assert runtime.services is not None
    who = await runtime.services.roles.actor(user.id)
    service = runtime.services.surveys
    _, progress = await service.begin(who, survey_id)
    assert progress is not None and progress.question is not None
    _, progress = await service.answer(who, survey_id, progress.question.id, choice)
    assert progress is not None and progress.question is not None
    state, _ = await service.answer(who, survey_id, progress.question.id, text)
    assert state == "completed"


async def results(coord: SandboxUser, expect: str) -> SandboxMessage:
    before = max((m.message_id for m in coord.inbox), default=0)
    await coord.send("/surveys")
    listing = await coord.wait_for(lambda m: m.message_id > before and "#1" in str(m.buttons))
    await (await coord.press(listing, lambda b: str(b.get("text", "")).startswith("#1"))).answer()
    return await coord.wait_for(lambda m: m.message_id == listing.message_id and expect in (m.text or ""))


async def download(coord: SandboxUser, shown: SandboxMessage, button: str) -> bytes:
    before = max(m.message_id for m in coord.inbox)
    await (await coord.press(shown, button)).answer()
    doc = await coord.wait_for(lambda m: m.message_id > before and bool(m.raw.get("document")))
    return await coord.download(doc)


async def test_results_of_a_survey_sent_to_several_branches_show_only_answers_inside_the_viewer_branch(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    t = await tree(bot)
    both = tg.create_user("Two branches", language_code="en")
    await add_coordinator(bot, both, t.sub)
    await add_coordinator(bot, both, t.other)
    media = tg.create_user("Media branch", language_code="en")
    await add_coordinator(bot, media, t.sub)
    inside = tg.create_user("Inside", language_code="en")
    await add_member(bot, inside, "Inside", [t.local])
    outside = tg.create_user("Outside", language_code="en")
    await add_member(bot, outside, "Outside", [t.other])
    assert bot.services is not None
    who = await bot.services.roles.actor(both.id)
    survey_id, invited = await bot.services.surveys.publish(who, "Two branches", QUESTIONS, None, 7)
    assert invited == 2
    await answer(bot, inside, survey_id, "1", "inside answer")
    await answer(bot, outside, survey_id, "0", "outside secret")

    shown = await results(media, "Completed")
    text = shown.text or ""
    assert "Completed 1/1" in text and "Sunday: 1 (100%)" in text and "Saturday: 0 (0%)" in text, text
    assert "inside answer" in text and "outside secret" not in text
    csv_text = (await download(media, shown, "CSV")).decode("utf-8-sig")
    assert "outside secret" not in csv_text and "inside answer" in csv_text
    assert "Response rate,1/1,,100%" in csv_text
    sheet = load_workbook(io.BytesIO(await download(media, shown, "XLSX"))).active
    assert sheet is not None
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert ["Which day suits you?", "Saturday", "0", "0%"] in cells
    assert not any("outside secret" in str(row) for row in cells)

    everything = await results(both, "Completed")
    assert "Completed 2/2" in (everything.text or "") and "outside secret" in (everything.text or "")


async def test_survey_status_is_shown_in_words_in_results_and_exports(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    t = await tree(bot)
    coord = tg.create_user("协调员", language_code="zh-hans")
    await add_coordinator(bot, coord, t.sub, language="zh-Hans")
    member = tg.create_user("Member", language_code="en")
    await add_member(bot, member, "Member", [t.local])
    assert bot.services is not None
    who = await bot.services.roles.actor(coord.id)
    survey_id, _ = await bot.services.surveys.publish(who, "需求调研", QUESTIONS, None, 3)
    await answer(bot, member, survey_id, "1", "ok")
    shown = await results(coord, "进行中")
    assert "open" not in (shown.text or "")
    clock.advance(timedelta(days=3, minutes=1))
    await bot.services.surveys.run_due()
    shown = await results(coord, "已结束")
    assert "closed" not in (shown.text or "")
    csv_text = (await download(coord, shown, "CSV")).decode("utf-8-sig")
    assert "已结束" in csv_text and ",closed" not in csv_text
    sheet = load_workbook(io.BytesIO(await download(coord, shown, "XLSX"))).active
    assert sheet is not None
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row]
    assert "已结束" in cells and "closed" not in cells


async def test_mydata_holds_the_members_feedback_and_answers_in_words(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    coord = tg.create_user("Coord", language_code="en")
    await add_coordinator(bot, coord, t.sub)
    member = tg.create_user("王芳", language_code="zh-hans")
    await add_member(bot, member, "王芳", [t.local], language="zh-Hans")
    assert bot.services is not None
    who = await bot.services.roles.actor(member.id)
    await bot.services.feedback.submit(who, "complaint", "会场太吵", False, [])
    survey_id, _ = await bot.services.surveys.publish(
        await bot.services.roles.actor(coord.id), "需求调研", QUESTIONS, None, 7
    )
    await answer(bot, member, survey_id, "1", "多办沙龙")
    await member.send("/mydata")
    doc = await member.wait_for(lambda m: m.document is not None)
    raw = (await member.download(doc)).decode("utf-8")
    data = json.loads(raw)
    [item] = data["feedback"]["items"]
    assert (item["kind"], item["status"], item["text"]) == ("投诉", "待处理", "会场太吵")
    [response] = data["surveys"]["responses"]
    assert response["questionnaire"] == "需求调研" and response["completed_at"] is not None
    assert response["answers"] == [
        {"question": "Which day suits you?", "answer": "Sunday"},
        {"question": "Anything else?", "answer": "多办沙龙"},
    ]
    assert "complaint" not in raw and '"new"' not in raw
