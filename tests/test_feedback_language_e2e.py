"""Messages the bot sends on its own (answers, deadline chasers, questionnaire invitations and
reminders) are in the recipient's language: their /language choice, else the Telegram language
last seen, else the default (zh-Hans here). Issue #15, defect 5."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.runtime import BotRuntime
from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram
from tests.feedback_helpers import add_coordinator, add_member, drain_outbox, fast_typing, submit_feedback, tree

pytestmark = pytest.mark.usefixtures("fast_typing")
__all__ = ["fast_typing"]


async def first_contact(user: SandboxUser) -> None:
    """The user writes to the bot once (Telegram tells it their language), then goes quiet."""
    await user.send("/start")
    await user.next_message()


async def test_feedback_answer_and_chasers_use_the_telegram_language_without_a_choice(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    t = await tree(bot)
    member = tg.create_user("Emma", language_code="en")
    await add_member(bot, member, "Emma", [t.local], language=None)
    await first_contact(member)
    coord = tg.create_user("Local", language_code="en-GB")
    await add_coordinator(bot, coord, t.local, language=None)
    await first_contact(coord)
    ref = await submit_feedback(member, "Complaint", "The projector is broken")
    assert bot.services is not None
    clock.advance(timedelta(days=2, minutes=1))  # the day-before reminder to the coordinators in scope
    assert await bot.services.feedback.run_due() == 1
    await drain_outbox(bot, tg)
    reminder = await coord.wait_for(lambda m: ref in (m.text or "") and "answer" in (m.text or "").lower())
    assert (reminder.text or "").startswith("Reminder"), reminder.text

    await coord.send("/queue")
    queue = await coord.wait_for(lambda m: ref in str(m.buttons))
    await (await coord.press(queue, lambda b: str(b.get("text", "")).startswith(ref))).answer()
    item = await coord.wait_for(lambda m: m.message_id == queue.message_id and (m.text or "").startswith(ref))
    await (await coord.press(item, "Answer")).answer()
    await coord.wait_for(lambda m: "/cancel" in (m.text or ""))
    await coord.send("Replaced this morning")
    preview = await coord.wait_for(lambda m: "Send" in m.buttons)
    await (await coord.press(preview, "Send")).answer()
    await drain_outbox(bot, tg)
    told = await member.wait_for(lambda m: "Replaced this morning" in (m.text or ""))
    assert "has been answered" in (told.text or ""), told.text
    assert "Helpful" in str(told.buttons) and "Reopen" in str(told.buttons)


async def test_questionnaire_invitation_and_reminder_use_the_telegram_language_without_a_choice(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    t = await tree(bot)
    coord = tg.create_user("Coord", language_code="zh-hans")
    await add_coordinator(bot, coord, t.sub)
    english = tg.create_user("Tom", language_code="en")
    await add_member(bot, english, "Tom", [t.local], language=None)
    await first_contact(english)
    chinese = tg.create_user("王芳", language_code="zh-hans")
    await add_member(bot, chinese, "王芳", [t.local], language=None)
    await first_contact(chinese)
    assert bot.services is not None
    who = await bot.services.roles.actor(coord.id)
    await bot.services.surveys.publish(who, "Needs 2026", [("text", "Anything?", [])], None, 7)
    await drain_outbox(bot, tg)
    invite = await english.wait_for(lambda m: "Needs 2026" in (m.text or ""))
    assert "New questionnaire" in (invite.text or "") and "Start" in str(invite.buttons)
    invite_zh = await chinese.wait_for(lambda m: "Needs 2026" in (m.text or ""))
    assert "New questionnaire" not in (invite_zh.text or "")
    clock.advance(timedelta(days=6, minutes=1))
    await bot.services.surveys.run_due()
    await drain_outbox(bot, tg)
    reminder = await english.wait_for(lambda m: "Needs 2026" in (m.text or "") and m.message_id != invite.message_id)
    assert "Reminder" in (reminder.text or "") and "Start" in str(reminder.buttons)
