"""Flows do not collide (issue #15, defect 1): a command, or a button that starts another flow, ends
the open flow with one short line, so what the person types next goes where they expect."""

from __future__ import annotations

import pytest

from bot.runtime import BotRuntime
from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram
from sandbox.state import SandboxMessage
from tests.conftest import OWNER_ID
from tests.feedback_helpers import (
    add_coordinator,
    add_member,
    db_of,
    drain_outbox,
    fast_typing,
    open_item,
    submit_feedback,
    tree,
    write,
)

pytestmark = pytest.mark.usefixtures("fast_typing")
__all__ = ["fast_typing"]


async def feedback_up_to_text(user: SandboxUser, kind: str = "Suggestion") -> SandboxMessage:
    """/feedback, pick the kind; returns the message asking for the text."""
    await user.send("/feedback")
    picker = await user.wait_for(lambda m: "What kind of feedback" in (m.text or ""))
    await (await user.press(picker, kind)).answer()
    return await user.wait_for(lambda m: m.message_id == picker.message_id and "Please write" in (m.text or ""))


async def test_feedback_text_after_an_unfinished_new_activity_becomes_the_feedback_item(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    """/feedback ends the unfinished /newactivity (one line); the text is the feedback's, not the start time."""
    t = await tree(bot)
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await add_member(bot, owner, "Owner", [t.local])
    await owner.send("/newactivity")
    await owner.wait_for(lambda m: "title" in (m.text or "").lower())
    await owner.send("Tea salon")
    await owner.wait_for(lambda m: "start time" in (m.text or "").lower())
    await feedback_up_to_text(owner)
    closed = [m.text or "" for m in owner.inbox if "was closed" in (m.text or "")]
    assert len(closed) == 1, closed
    await owner.send("Please open the reading room on Saturdays")
    await owner.wait_for(lambda m: "You may send photos" in (m.text or ""))
    assert await db_of(bot).fetchval("SELECT COUNT(*) FROM activities") == 0


async def test_member_reopening_an_answer_during_feedback_gets_the_comment_recorded(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    """A member half-way through /feedback presses Reopen on an answer: the draft is closed (one line)
    and the text they send next is the reopen comment, not the new feedback's text."""
    t = await tree(bot)
    member = tg.create_user("李娜", language_code="en")
    await add_member(bot, member, "李娜", [t.local])
    coord = tg.create_user("Head", language_code="en")
    await add_coordinator(bot, coord, t.head)
    ref = await submit_feedback(member, "Need / request for help", "Need a lawyer's advice")
    await write(coord, await open_item(coord, ref), "Answer", "Talk to the expert team")
    await drain_outbox(bot, tg)
    told = await member.wait_for(lambda m: "has been answered" in (m.text or ""))
    await feedback_up_to_text(member)
    before = max(m.message_id for m in member.inbox)
    await (await member.press(told, "Reopen")).answer()
    await member.wait_for(lambda m: m.message_id > before and "was closed" in (m.text or ""))
    await member.wait_for(lambda m: m.message_id > before and "another look" in (m.text or ""))
    await member.send("Nobody answered my call")
    await member.wait_for(lambda m: f"{ref} is reopened" in (m.text or ""))
    row = await db_of(bot).fetchone("SELECT status, reopen_comment FROM feedback_items")
    assert row is not None and tuple(row) == ("in_progress", "Nobody answered my call")
    assert await db_of(bot).fetchval("SELECT COUNT(*) FROM feedback_items") == 1


async def test_survey_command_during_feedback_closes_it_and_starts_building(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    coord = tg.create_user("Coordinator member", language_code="en")
    await add_coordinator(bot, coord, t.sub)
    await add_member(bot, coord, "Coordinator member", [t.local])
    await feedback_up_to_text(coord)
    before = max(m.message_id for m in coord.inbox)
    await coord.send("/survey")
    closed = await coord.wait_for(lambda m: m.message_id > before and "was closed" in (m.text or ""))
    assert "feedback" in (closed.text or "").lower()
    await coord.wait_for(lambda m: m.message_id > before and "questionnaire's title" in (m.text or ""))
    await coord.send("Needs survey")
    await coord.wait_for(lambda m: "0 questions so far" in (m.text or ""))
    assert await db_of(bot).fetchval("SELECT COUNT(*) FROM feedback_items") == 0


async def test_help_answers_beside_the_feedback_flow_and_other_commands_end_it(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    t = await tree(bot)
    user = tg.create_user("陈静", language_code="en")
    await add_member(bot, user, "陈静", [t.local])
    await feedback_up_to_text(user, "Other")
    await user.send("/help")  # /help (and /language) answer beside the flow: it stays open
    await user.wait_for(lambda m: "/myfeedback" in (m.text or ""))
    await user.send("Still the feedback's text")
    attach = await user.wait_for(lambda m: "You may send photos" in (m.text or ""))
    assert not any("was closed" in (m.text or "") for m in user.inbox)
    await user.send("/myfeedback")  # any other command ends the flow, with one line
    await user.wait_for(lambda m: m.message_id > attach.message_id and "not sent any feedback" in (m.text or ""))
    closed = [m.text or "" for m in user.inbox if "was closed" in (m.text or "")]
    assert closed == ["The unfinished “feedback” was closed."]
    await user.send("not feedback any more")
    await user.wait_for(lambda m: "didn't understand" in (m.text or ""))
    assert await db_of(bot).fetchval("SELECT COUNT(*) FROM feedback_items") == 0
