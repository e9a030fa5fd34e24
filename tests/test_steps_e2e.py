"""Step journal (handlers/steps.py): a conversation restarted one step behind what the chat shows
never takes the answer as the previous step's value; it asks the current step again."""

from __future__ import annotations

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from sandbox.server import FakeTelegram
from tests.activities_helpers import publish, publish_summary, typed_option, who_done
from tests.conftest import OWNER_ID, StartBot
from tests.feedback_helpers import add_coordinator as fb_add_coordinator
from tests.feedback_helpers import fast_typing, tree
from tests.notices_helpers import add_group, db_of, members
from tests.steps_helpers import set_state, stored_state, user_data

pytestmark = pytest.mark.usefixtures("fast_typing")
__all__ = ["fast_typing"]

INTERRUPTED = "last step was interrupted"


async def test_notice_compose_behind_after_restart_asks_the_audience_again(
    tg: FakeTelegram, start_bot: StartBot, settings: Settings
) -> None:
    from handlers.notices.common import AUDIENCE, WRITE

    tg.set_rate_limits(True, private_burst=10)
    runtime = await start_bot()
    db = db_of(runtime)
    head = await add_group(db, "Head")
    await members(tg, db, 2, [await add_group(db, "Local", head)])
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    owner.state.started = True
    await owner.send("/notice")
    await owner.next_message()
    await owner.send("Study day on Friday")
    await owner.next_message()  # who should get it?
    await runtime.stop()
    path = settings
    assert stored_state(path, "notice", OWNER_ID) == AUDIENCE
    assert user_data(path, OWNER_ID)["steps"]["notice"] == AUDIENCE  # written before the question
    set_state(path, "notice", OWNER_ID, WRITE)  # killed after the reply, before PTB's flush

    runtime = await start_bot()
    await owner.send("Everyone please")  # meant for the audience question, arrives in WRITE
    assert INTERRUPTED in (await owner.next_message()).text
    ask = await owner.next_message()
    assert "Who should receive" in ask.text
    await owner.press(ask, "Everyone")
    await owner.next_message()  # the preview
    control = await owner.wait_for(lambda m: m.message_id == ask.message_id and "Recipients" in m.text)
    await owner.press(control, "Send now")
    await owner.wait_for(lambda m: m.message_id == control.message_id and "Delivery report" in m.text)
    texts = [str(r["text"]) for r in await db_of(runtime).fetchall("SELECT text FROM notices")]
    assert texts == ["Study day on Friday"]


async def test_activity_creation_behind_after_restart_does_not_take_the_start_as_the_title(
    tg: FakeTelegram, start_bot: StartBot, settings: Settings
) -> None:
    from handlers.activities.create import START, TITLE

    tg.set_rate_limits(False)
    runtime = await start_bot()
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    for text, expected in [("/newactivity", "title"), ("Tea salon", "start time")]:
        await owner.send(text)
        assert expected in (await owner.next_message()).text.lower()
    await runtime.stop()
    set_state(settings, "activity_new", OWNER_ID, TITLE)  # the start question was lost
    assert user_data(settings, OWNER_ID)["steps"]["activity_new"] == START

    runtime = await start_bot()
    await owner.send("2026-12-05 14:00")  # the answer to "start time?", arrives in TITLE
    assert INTERRUPTED in (await owner.next_message()).text
    assert "start time" in (await owner.next_message()).text
    steps = [
        ("2026-12-05 14:00", "Start: Sat 5 Dec 14:00"),
        ("Room 1", "seats"),
        ("-", "Who may sign up"),
    ]
    for text, expected in steps:
        await owner.send(text)
        got = (await owner.next_message()).text
        assert expected.lower() in got.lower(), (text, got)
    summary = await who_done(owner, owner.messages[-1])
    summary = await typed_option(owner, summary, "end", "2026-12-05 16:00")
    assert "End: Sat 5 Dec 16:00" in summary.text
    await publish_summary(owner, summary)
    rows = await db_of(runtime).fetchall("SELECT title, description, place, capacity FROM activities")
    assert [tuple(r) for r in rows] == [("Tea salon", "", "Room 1", None)]


async def test_activity_edit_behind_after_restart_asks_the_value_again(
    tg: FakeTelegram, start_bot: StartBot, settings: Settings, clock: FakeClock
) -> None:
    from handlers.activities.edit import CHOOSE, VALUE

    tg.set_rate_limits(False)
    runtime = await start_bot()
    aid = await publish(runtime, clock.now())
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send("/manage")
    await owner.press(await owner.next_message(), "Reading club")
    roster = await owner.next_message()
    await (await owner.press(roster, "✏️ Edit")).answer()
    menu = await owner.wait_for(lambda m: m.message_id == roster.message_id and "What do you want" in m.text)
    await (await owner.press(menu, "Place")).answer()
    await owner.wait_for(lambda m: m.message_id == roster.message_id and "Send the new" in m.text)
    await runtime.stop()
    assert stored_state(settings, "activity_edit", OWNER_ID) == VALUE
    set_state(settings, "activity_edit", OWNER_ID, CHOOSE)

    runtime = await start_bot()
    await owner.send("Hall C")
    assert INTERRUPTED in (await owner.next_message()).text
    assert "Send the new place" in (await owner.next_message()).text
    await owner.send("Hall C")
    preview = await owner.next_message()
    assert "Room 3 → Hall C" in preview.text
    await (await owner.press(preview, "✅ Save")).answer()
    await owner.wait_for(lambda m: m.message_id == preview.message_id and "Save this" not in m.text)
    row = await db_of(runtime).fetchone("SELECT title, place FROM activities WHERE id = ?", (aid,))
    assert row is not None and (row["title"], row["place"]) == ("Reading club", "Hall C")


async def test_questionnaire_building_behind_after_restart_does_not_take_options_as_question(
    tg: FakeTelegram, start_bot: StartBot, settings: Settings
) -> None:
    from handlers.surveys.build import S_OPTS, S_QTEXT

    tg.set_rate_limits(False)
    runtime = await start_bot()
    t = await tree(runtime)
    coord = tg.create_user("Coord", language_code="en")
    await fb_add_coordinator(runtime, coord, t.sub)
    await coord.send("/survey")
    await coord.next_message()
    await coord.send("Needs survey")
    picker = await coord.next_message()
    await (await coord.press(picker, "Single choice")).answer()
    await coord.wait_for(lambda m: m.message_id == picker.message_id and "Send the question" in m.text)
    await coord.send("Which day?")
    await coord.next_message()  # the options question
    await runtime.stop()
    assert stored_state(settings, "survey_build", coord.id) == S_OPTS
    set_state(settings, "survey_build", coord.id, S_QTEXT)

    runtime = await start_bot()
    await coord.send("Saturday\nSunday")  # the options, arriving in the question-text step
    assert INTERRUPTED in (await coord.next_message()).text
    assert "options" in (await coord.next_message()).text
    await coord.send("Saturday\nSunday")
    picker = await coord.next_message()
    assert "1 questions so far" in picker.text or "1 question" in picker.text
    step = picker
    for button, expect in [
        ("No more questions", "Who should answer"),
        ("新媒体从业人员联谊会", "one category"),
        ("All categories", "Deadline"),
        ("7 days", "closes in 7 days"),
    ]:
        await (await coord.press(step, button)).answer()
        step = await coord.wait_for(lambda m, e=expect: m.message_id == picker.message_id and e in m.text)
    await (await coord.press(step, "Publish")).answer()
    await coord.wait_for(lambda m: m.message_id == picker.message_id and "queued" in m.text)
    rows = await db_of(runtime).fetchall("SELECT kind, text, options FROM survey_questions")
    assert [tuple(r) for r in rows] == [("single", "Which day?", '["Saturday", "Sunday"]')]


async def test_registration_behind_after_restart_asks_the_category_again(
    tg: FakeTelegram, start_bot: StartBot, settings: Settings
) -> None:
    from handlers.members.form import CATEGORY_STEP, NAME

    tg.set_rate_limits(False)
    runtime = await start_bot()
    user = tg.create_user("Newcomer", language_code="en")
    await user.send("/start")
    await (await user.press(await user.next_message(), "I agree")).answer()
    await user.wait_for(lambda m: "What is your name" in m.text)
    await user.send("刘洋")
    category = await user.wait_for(lambda m: "Which category" in m.text)
    await runtime.stop()
    assert user_data(settings, user.id)["steps"]["registration"] == CATEGORY_STEP
    set_state(settings, "registration", user.id, NAME)  # the category question was lost

    runtime = await start_bot()
    await (await user.press(category, "Freelancers")).answer()  # arrives in NAME: not a name
    assert INTERRUPTED in (await user.wait_for(lambda m: INTERRUPTED in m.text)).text
    again = await user.wait_for(lambda m: "Which category" in m.text and bool(m.buttons))
    await (await user.press(again, "Freelancers")).answer()
    await user.press(await user.wait_for(lambda m: "Your organisation" in m.text), "Skip")
    await user.press(await user.wait_for(lambda m: "Your position" in m.text), "Skip")
    await user.press(await user.wait_for(lambda m: "areas of expertise" in m.text), "Done")
    await user.press(await user.wait_for(lambda m: "Your interests" in m.text), "Skip")
    await user.wait_for(lambda m: "Share your phone number" in m.text)
    await user.send("Skip")
    await user.press(await user.wait_for(lambda m: "Please check your details" in m.text), "Confirm")
    await user.wait_for(lambda m: "You are registered" in m.text)
    row = await db_of(runtime).fetchone("SELECT name, category FROM members WHERE user_id = ?", (user.id,))
    assert row is not None and (row["name"], row["category"]) == ("刘洋", "freelancer")
