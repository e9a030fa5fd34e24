"""Members send feedback through /feedback and follow it with /myfeedback."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.conftest import StartBot
from tests.feedback_helpers import add_member, db_of, fast_typing, submit_feedback, tree
from tests.steps_helpers import set_state, stored_state

pytestmark = pytest.mark.usefixtures("fast_typing")
__all__ = ["fast_typing"]


async def test_member_submits_a_suggestion_and_gets_a_reference(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    user = tg.create_user("张伟", language_code="en")
    member_id = await add_member(bot, user, "张伟", [t.local])
    ref = await submit_feedback(user, "Suggestion", "Open the reading room on Saturdays <please> & thanks")
    assert ref == "FB-2026-0001"
    row = await db_of(bot).fetchone("SELECT kind, body, anonymous, author_member_id, status FROM feedback_items")
    assert row is not None
    assert tuple(row) == ("suggestion", "Open the reading room on Saturdays <please> & thanks", 0, member_id, "new")
    assert await db_of(bot).fetchval("SELECT path FROM feedback_groups") == f"/{t.head}/{t.sub}/{t.local}/"
    assert tg.counters.validation_errors == []


async def test_oversized_text_is_refused_with_the_limit_and_draft_continues(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    user = tg.create_user("李娜", language_code="en")
    await add_member(bot, user, "李娜", [t.local])
    await user.send("/feedback")
    await (await user.press(await user.next_message(), "Complaint")).answer()
    await user.send("x" * 4001)
    refusal = await user.next_message()
    assert "at most 4000 characters" in (refusal.text or "")
    await user.send("   ")
    assert "cannot be empty" in ((await user.next_message()).text or "")
    await user.send("y" * 4000)
    assert "Skip" in str((await user.next_message()).buttons)
    assert await db_of(bot).fetchval("SELECT COUNT(*) FROM feedback_items") == 0


async def test_unsupported_attachment_is_refused_and_photo_is_kept(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    user = tg.create_user("王芳", language_code="en")
    await add_member(bot, user, "王芳", [t.local])
    await user.send("/feedback")
    await (await user.press(await user.next_message(), "Need / request for help")).answer()
    await user.send("We need a meeting room")
    await user.next_message()
    await user.send_sticker()
    assert "only photos and documents" in ((await user.next_message()).text or "")
    await user.send_photo(b"\xff\xd8jpegdata")
    added = await user.next_message()
    assert "1 so far" in (added.text or "")
    await (await user.press(added, "Done")).answer()
    anon = await user.wait_for(lambda m: m.message_id == added.message_id and "anonymous" in (m.text or ""))
    await (await user.press(anon, "Show my name")).answer()
    preview = await user.wait_for(lambda m: "Attachments: 1" in (m.text or ""))
    await (await user.press(preview, "Send")).answer()
    await user.wait_for(lambda m: "FB-2026-0001" in (m.text or ""))
    kinds = await db_of(bot).fetchall("SELECT type, file_id FROM feedback_attachments")
    assert [r["type"] for r in kinds] == ["photo"] and kinds[0]["file_id"].startswith("SBXPHO")


async def test_daily_limit_is_counted_and_explained(tg: FakeTelegram, start_bot: StartBot) -> None:
    runtime = await start_bot(feedback_daily_limit=1)
    t = await tree(runtime)
    user = tg.create_user("刘洋", language_code="en")
    await add_member(runtime, user, "刘洋", [t.local])
    await submit_feedback(user, "Other", "first")
    await user.send("/feedback")
    assert "daily maximum" in ((await user.next_message()).text or "")


async def test_strangers_cannot_send_feedback(tg: FakeTelegram, bot: BotRuntime) -> None:
    user = tg.create_user("Stranger", language_code="en")
    await user.send("/feedback")
    assert "Only registered members" in ((await user.next_message()).text or "")


async def test_my_feedback_lists_items_with_status(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    user = tg.create_user("Alice", language_code="en")
    await add_member(bot, user, "Alice", [t.local])
    await user.send("/myfeedback")
    assert "not sent any feedback" in ((await user.next_message()).text or "")
    ref = await submit_feedback(user, "Suggestion", "More evening salons 🎉", anonymous=True)
    await user.send("/myfeedback")
    text = (await user.next_message()).text or ""
    assert ref in text and "New" in text and "More evening salons 🎉" in text


async def test_half_written_feedback_survives_a_restart(tg: FakeTelegram, start_bot: StartBot) -> None:
    runtime = await start_bot()
    t = await tree(runtime)
    user = tg.create_user("Restart", language_code="en")
    await add_member(runtime, user, "Restart", [t.local])
    await user.send("/feedback")
    await (await user.press(await user.next_message(), "Suggestion")).answer()
    await user.send("Written before the restart")
    prompt = await user.next_message()
    await runtime.stop()
    restarted = await start_bot()
    await (await user.press(prompt, "Skip")).answer()
    anon = await user.wait_for(lambda m: m.message_id == prompt.message_id and "anonymous" in (m.text or ""))
    await (await user.press(anon, "Show my name")).answer()
    preview = await user.wait_for(
        lambda m: "Written before the restart" in (m.text or "") and "confirm" in (m.text or "")
    )
    await (await user.press(preview, "Send")).answer()
    await user.wait_for(lambda m: "FB-2026-0001" in (m.text or ""))
    assert await db_of(restarted).fetchval("SELECT body FROM feedback_items") == "Written before the restart"


async def test_home_button_starts_feedback_and_control_characters_are_dropped(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    t = await tree(bot)
    user = tg.create_user("مريم", language_code="en")
    await add_member(bot, user, "مريم", [t.local])
    await user.send("/start")
    home = await user.next_message()
    await (await user.press(home, "💬 Feedback")).answer()
    picker = await user.next_message()
    assert "What kind" in (picker.text or "")
    await (await user.press(picker, "Other")).answer()
    await user.send("\u202bمرحبا\x07 bell\x00 and emoji 🎉")
    prompt = await user.next_message()
    await (await user.press(prompt, "Skip")).answer()
    anon = await user.wait_for(lambda m: m.message_id == prompt.message_id and "anonymous" in (m.text or ""))
    await (await user.press(anon, "Show my name")).answer()
    preview = await user.wait_for(lambda m: m.message_id == prompt.message_id and "confirm" in (m.text or ""))
    await (await user.press(preview, "Send")).answer()
    await user.wait_for(lambda m: "FB-2026-0001" in (m.text or ""))
    # issue 16: bidi controls go too (the one cleaning policy, bot/text.clean_member_text)
    assert await db_of(bot).fetchval("SELECT body FROM feedback_items") == "مرحبا bell and emoji 🎉"


async def test_feedback_behind_after_restart_asks_the_current_step_again(
    tg: FakeTelegram, start_bot: StartBot, settings: Settings
) -> None:
    """Killed after the reply but before PTB saved the new state, the conversation is one step behind
    what the chat shows: a press meant for the later step is not taken; that step is asked again."""
    from handlers.feedback.submit import ANON, ATTACH

    runtime = await start_bot()
    t = await tree(runtime)
    user = tg.create_user("Sun", language_code="en")
    await add_member(runtime, user, "孙丽", [t.local])
    await user.send("/feedback")
    await (await user.press(await user.next_message(), "Suggestion")).answer()
    await user.send("More evening events, please")
    attach = await user.wait_for(lambda m: "You may send photos" in (m.text or ""))
    await (await user.press(attach, "Skip")).answer()
    anon = await user.wait_for(lambda m: m.message_id == attach.message_id and "Stay anonymous?" in (m.text or ""))
    await runtime.stop()
    assert stored_state(settings, "feedback_submit", user.id) == ANON
    set_state(settings, "feedback_submit", user.id, ATTACH)

    runtime = await start_bot()
    await (await user.press(anon, "Show my name")).answer()  # meant for the anonymity step, arrives in ATTACH
    await user.wait_for(lambda m: "last step was interrupted" in (m.text or ""))
    again = await user.wait_for(lambda m: "Stay anonymous?" in (m.text or ""))  # the step's question, again
    await (await user.press(again, "Show my name")).answer()
    preview = await user.wait_for(lambda m: "Please confirm" in (m.text or ""))
    await (await user.press(preview, "Send")).answer()
    await user.wait_for(lambda m: "reference number" in (m.text or ""))
    row = await db_of(runtime).fetchone("SELECT body, anonymous FROM feedback_items")
    assert row is not None and tuple(row) == ("More evening events, please", 0)
