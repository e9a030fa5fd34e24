"""A press on a message of an ENDED flow instance is stale, even when the same flow is open again.

The step journal guards steps, not messages: /feedback started, abandoned and started again is
in the same step ("what kind"), so without a check of the pressed message the old picker's press
was taken by the new flow. The flow factory records the messages each instance showed
(handlers/steps.py) and answers a press on an earlier instance's message as a stale button.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.activities import callbacks as acb
from bot.clock import FakeClock
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.activities_helpers import add_coordinator as add_activity_coordinator
from tests.activities_helpers import add_group as add_activity_group
from tests.feedback_helpers import add_member, db_of, fast_typing, tree

pytestmark = pytest.mark.usefixtures("fast_typing")
__all__ = ["fast_typing"]

STALE = "This button has expired; please open the menu again."


async def test_the_kind_picker_of_an_abandoned_feedback_is_stale_for_the_new_one(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    t = await tree(bot)
    member = tg.create_user("李娜", language_code="en")
    await add_member(bot, member, "李娜", [t.local])
    await member.send("/feedback")
    old = await member.wait_for(lambda m: "What kind of feedback" in (m.text or ""))
    await member.send("/myfeedback")  # another command ends the open flow
    await member.wait_for(lambda m: m.message_id > old.message_id and "was closed" in (m.text or ""))
    await member.send("/feedback")
    new = await member.wait_for(lambda m: m.message_id > old.message_id and "What kind of feedback" in (m.text or ""))

    answer = await (await member.press(old, "Complaint")).answer()
    assert answer.text == STALE
    assert "What kind of feedback" in (getattr(member.chat.current(old.message_id), "text", "") or "")  # not edited
    assert "What kind of feedback" in (getattr(member.chat.current(new.message_id), "text", "") or "")
    after_stale = max(m.message_id for m in member.inbox)

    # The new flow is untouched: still asking the kind, and its own picker works.
    await (await member.press(new, "Suggestion")).answer()
    await member.wait_for(lambda m: m.message_id == new.message_id and "Please write" in (m.text or ""))
    await member.send("Open the reading room on Saturdays")
    prompt = await member.wait_for(lambda m: m.message_id > after_stale and "You may send photos" in (m.text or ""))
    await (await member.press(prompt, "Skip")).answer()
    anon = await member.wait_for(lambda m: m.message_id == prompt.message_id and "anonymous" in (m.text or ""))
    await (await member.press(anon, "Show my name")).answer()
    preview = await member.wait_for(lambda m: m.message_id == prompt.message_id and "confirm" in (m.text or ""))
    await (await member.press(preview, "Send")).answer()
    await member.wait_for(lambda m: m.message_id == prompt.message_id and "reference number" in (m.text or ""))
    assert await db_of(bot).fetchval("SELECT kind FROM feedback_items") == "suggestion"


async def test_a_quick_time_of_an_abandoned_new_activity_is_stale_for_the_new_one(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    clock.set(datetime(2026, 12, 3, 11, 20, tzinfo=UTC))
    group = await add_activity_group(bot.db, "Pudong", await add_activity_group(bot.db, "Head"))
    coord = tg.create_user("Coordinator", language_code="en")
    await add_activity_coordinator(bot.db, coord.id, group)
    await coord.send("/newactivity")
    await coord.wait_for(lambda m: "title" in (m.text or "").lower())
    await coord.send("Tea salon")
    old = await coord.wait_for(lambda m: "start time" in (m.text or "").lower())
    await coord.send("/cancel")
    await coord.wait_for(lambda m: m.message_id > old.message_id and "Left the current step" in (m.text or ""))
    await coord.send("/newactivity")
    await coord.wait_for(lambda m: m.message_id > old.message_id and "title" in (m.text or "").lower())
    await coord.send("Reading club")
    new = await coord.wait_for(lambda m: m.message_id > old.message_id and "start time" in (m.text or "").lower())
    before = max(m.message_id for m in coord.inbox)

    quick = acb.QUICK.data(step="start", pick=4)
    answer = await (await coord.press(old, lambda b: b.get("callback_data") == quick)).answer()
    assert answer.text == STALE
    assert max(m.message_id for m in coord.inbox) == before  # no next question: the step was not taken

    await (await coord.press(new, lambda b: b.get("callback_data") == quick)).answer()
    place = await coord.wait_for(lambda m: m.message_id > before)
    assert "place" in (place.text or "").lower()
