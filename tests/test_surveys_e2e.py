"""Questionnaires end to end: build in chat, invitations via outbox, answering, reminders, results."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from bot.clock import FakeClock
from bot.runtime import BotRuntime
from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram
from sandbox.state import SandboxMessage
from tests.feedback_helpers import Tree, add_coordinator, add_member, db_of, drain_outbox, fast_typing, tree

pytestmark = pytest.mark.usefixtures("fast_typing")
__all__ = ["fast_typing"]

QUESTIONS = [
    ("single", "Which day suits you?", ["Saturday", "Sunday"]),
    ("rating", "How useful was the last salon?", []),
    ("multi", "Which topics interest you?", ["Tax", "Law", "Media"]),
    ("text", "Anything else?", []),
]


async def publish(runtime: BotRuntime, coord: SandboxUser, group: int | None = None, days: int = 7) -> int:
    assert runtime.services is not None
    who = await runtime.services.roles.actor(coord.id)
    survey_id, _ = await runtime.services.surveys.publish(who, "会员需求调研 2026", QUESTIONS, group, days)
    return survey_id


async def setup(runtime: BotRuntime, tg: FakeTelegram) -> tuple[Tree, SandboxUser, SandboxUser]:
    t = await tree(runtime)
    coord = tg.create_user("Coord", language_code="en")
    await add_coordinator(runtime, coord, t.sub)
    member = tg.create_user("张伟", language_code="en")
    await add_member(runtime, member, "张伟", [t.local])
    await member.send("/start")
    await member.next_message()
    return t, coord, member


async def invitation(runtime: BotRuntime, tg: FakeTelegram, member: SandboxUser) -> SandboxMessage:
    await drain_outbox(runtime, tg)
    return await member.wait_for(lambda m: "New questionnaire" in (m.text or ""))


async def press_and_wait(user: SandboxUser, message: SandboxMessage, button: str, expect: str) -> SandboxMessage:
    await (await user.press(message, button)).answer()
    return await user.wait_for(lambda m: m.message_id == message.message_id and expect in (m.text or ""))


async def start(user: SandboxUser, invite: SandboxMessage, expect: str) -> SandboxMessage:
    before = max(m.message_id for m in user.inbox)
    await (await user.press(invite, "Start")).answer()
    return await user.wait_for(lambda m: m.message_id > before and expect in (m.text or ""))


async def answer_all(user: SandboxUser, invite: SandboxMessage) -> None:
    q = await start(user, invite, "Question 1/4")
    q = await press_and_wait(user, q, "Sunday", "Question 2/4")
    q = await press_and_wait(user, q, "4", "Question 3/4")
    q = await press_and_wait(user, q, "Tax", "Question 3/4")
    q = await user.wait_for(lambda m: m.message_id == q.message_id and "✅ Tax" in str(m.buttons))
    q = await press_and_wait(user, q, "Media", "Question 3/4")
    q = await user.wait_for(lambda m: m.message_id == q.message_id and "✅ Media" in str(m.buttons))
    await press_and_wait(user, q, "Done", "Question 4/4")
    await user.send("More salons near Huamu, please <3")
    await user.wait_for(lambda m: "Thank you for completing" in (m.text or ""))


async def test_coordinator_builds_and_publishes_in_chat(tg: FakeTelegram, bot: BotRuntime) -> None:
    t, coord, member = await setup(bot, tg)
    outsider = tg.create_user("Outsider", language_code="en")
    await add_member(bot, outsider, "Outsider", [t.other])
    await coord.send("/survey")
    await coord.next_message()
    await coord.send("Needs survey")
    picker = await coord.next_message()
    step = await press_and_wait(coord, picker, "Single choice", "Send the question")
    await coord.send("Which day?")
    await coord.next_message()
    await coord.send("Only one option")
    assert "2 to 8 options" in ((await coord.next_message()).text or "")
    await coord.send("Saturday\nSunday")
    picker = await coord.next_message()
    await press_and_wait(coord, picker, "Rating 1–5", "Send the question")
    await coord.send("Rate us")
    picker = await coord.next_message()
    assert "2 questions so far" in (picker.text or "")
    step = await press_and_wait(coord, picker, "No more questions", "Who should answer")
    step = await press_and_wait(coord, step, "新媒体从业人员联谊会", "one category")
    step = await press_and_wait(coord, step, "All categories", "Deadline")
    step = await press_and_wait(coord, step, "7 days", "closes in 7 days")
    assert "Which day?" in (step.text or "") and "Sunday" in (step.text or "")
    await press_and_wait(coord, step, "Publish", "queued for 1 members")
    rows = await db_of(bot).fetchall("SELECT chat_id, kind FROM outbox")
    assert [(r["chat_id"], r["kind"]) for r in rows] == [(member.id, "survey_invite")]
    assert await db_of(bot).fetchval("SELECT COUNT(*) FROM survey_questions") == 2
    assert tg.counters.validation_errors == []


async def test_member_answers_every_kind_of_question(tg: FakeTelegram, bot: BotRuntime) -> None:
    _, coord, member = await setup(bot, tg)
    survey_id = await publish(bot, coord)
    await answer_all(member, await invitation(bot, tg, member))
    row = await db_of(bot).fetchone("SELECT completed_at FROM survey_responses WHERE survey_id = ?", (survey_id,))
    assert row is not None and row["completed_at"] is not None
    values = [r[0] for r in await db_of(bot).fetchall("SELECT value FROM survey_answers ORDER BY question_id")]
    assert values == ["1", "4", "[0, 2]", '"More salons near Huamu, please <3"']


async def test_member_can_stop_and_continue_later(tg: FakeTelegram, bot: BotRuntime) -> None:
    _, coord, member = await setup(bot, tg)
    await publish(bot, coord)
    invite = await invitation(bot, tg, member)
    q = await start(member, invite, "Question 1/4")
    await press_and_wait(member, q, "Saturday", "Question 2/4")
    # The member walks away; later the invitation's button resumes where they stopped (progress is in the DB).
    await start(member, invite, "Question 2/4")


async def test_answering_twice_is_refused(tg: FakeTelegram, bot: BotRuntime) -> None:
    _, coord, member = await setup(bot, tg)
    await publish(bot, coord)
    invite = await invitation(bot, tg, member)
    await answer_all(member, invite)
    again = await member.press(invite, "Start")
    assert "already answered" in ((await again.answer()).text or "")
    assert await db_of(bot).fetchval("SELECT COUNT(*) FROM survey_responses") == 1


async def test_closed_questionnaire_cannot_be_answered(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    _, coord, member = await setup(bot, tg)
    await publish(bot, coord, days=3)
    invite = await invitation(bot, tg, member)
    clock.advance(timedelta(days=3, minutes=1))
    assert bot.services is not None
    await bot.services.surveys.run_due()
    assert await db_of(bot).fetchval("SELECT status FROM surveys") == "closed"
    result = await member.press(invite, "Start")
    assert "closed" in ((await result.answer()).text or "")


async def test_reminder_goes_once_to_those_who_have_not_answered(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    t, coord, member = await setup(bot, tg)
    done = tg.create_user("Done", language_code="en")
    await add_member(bot, done, "Done", [t.sub])
    await done.send("/start")
    await done.next_message()
    await publish(bot, coord)
    await drain_outbox(bot, tg)
    await answer_all(done, await done.wait_for(lambda m: "New questionnaire" in (m.text or "")))
    clock.advance(timedelta(days=6, minutes=1))
    assert bot.services is not None
    assert await bot.services.surveys.run_due() == 1
    assert await bot.services.surveys.run_due() == 0
    rows = await db_of(bot).fetchall("SELECT chat_id FROM outbox WHERE kind = 'survey_reminder'")
    assert [r[0] for r in rows] == [member.id]
    await drain_outbox(bot, tg)
    reminder = await member.wait_for(lambda m: "Reminder" in (m.text or ""))
    assert "Start" in str(reminder.buttons)


async def test_results_show_counts_and_export_xlsx_and_csv(tg: FakeTelegram, bot: BotRuntime) -> None:
    t, coord, member = await setup(bot, tg)
    second = tg.create_user("Second", language_code="en")
    await add_member(bot, second, "Second", [t.local])
    await publish(bot, coord)
    await answer_all(member, await invitation(bot, tg, member))
    await coord.send("/surveys")
    listing = await coord.next_message()
    results = await press_and_wait(coord, listing, "#1 会员需求调研 2026", "Completed 1/2")
    text = results.text or ""
    assert "response rate 50%" in text and "Sunday: 1 (100%)" in text and "Saturday: 0 (0%)" in text
    assert "Average: 4.00" in text and "More salons near Huamu, please <3" in text
    await (await coord.press(results, "XLSX")).answer()
    xlsx = await coord.wait_for(
        lambda m: bool(m.raw.get("document")) and m.raw["document"]["file_name"].endswith("xlsx")
    )
    sheet = load_workbook(io.BytesIO(await coord.download(xlsx))).active
    assert sheet is not None
    cells = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert ["Which day suits you?", "Sunday", "1", "100%"] in [list(r) for r in cells]
    await (await coord.press(results, "CSV")).answer()
    csv_doc = await coord.wait_for(
        lambda m: bool(m.raw.get("document")) and m.raw["document"]["file_name"].endswith("csv")
    )
    assert "Response rate,1/2,,50%" in (await coord.download(csv_doc)).decode("utf-8-sig")


async def test_forged_answers_and_non_coordinators_are_refused(tg: FakeTelegram, bot: BotRuntime) -> None:
    t, coord, _ = await setup(bot, tg)
    outsider = tg.create_user("Outsider", language_code="en")
    await add_member(bot, outsider, "Outsider", [t.other])
    await outsider.send("/survey")
    refusal = await outsider.next_message()
    assert "Questionnaire" not in (refusal.text or "") and "title" not in (refusal.text or "")
    survey_id = await publish(bot, coord)
    qid = await db_of(bot).fetchval("SELECT id FROM survey_questions ORDER BY position LIMIT 1")
    for forged in (f"sv:go:{survey_id}", f"sv:a:{survey_id}:{qid}:0", f"sv:r:{survey_id}"):
        result = await outsider.press_data(refusal, forged)
        assert "not addressed to you" in ((await result.answer()).text or "")
    assert await db_of(bot).fetchval("SELECT COUNT(*) FROM survey_responses") == 0


async def test_category_target_limits_the_audience(tg: FakeTelegram, bot: BotRuntime) -> None:
    t, coord, _ = await setup(bot, tg)  # seeded members have category 'enterprise'
    freelancer = tg.create_user("Freelancer", language_code="en")
    freelancer_id = await add_member(bot, freelancer, "Freelancer", [t.local])
    async with db_of(bot).transaction() as tx:
        await tx.execute("UPDATE members SET category = 'freelancer' WHERE id = ?", (freelancer_id,))
    assert bot.services is not None
    who = await bot.services.roles.actor(coord.id)
    _, invited = await bot.services.surveys.publish(who, "Freelancers only", QUESTIONS, None, 7, "freelancer")
    assert invited == 1
    rows = await db_of(bot).fetchall("SELECT chat_id FROM outbox WHERE kind = 'survey_invite'")
    assert [r[0] for r in rows] == [freelancer.id]
