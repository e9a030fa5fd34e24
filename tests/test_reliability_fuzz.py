"""Fuzzing: thousands of hostile updates through the real Application against the strict sandbox."""

from __future__ import annotations

import os

import pytest

from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.conftest import StartBot
from tests.reliability_helpers import ErrorLog, discover_callback_prefixes, run_fuzz, wait_idle

COUNT = int(os.environ.get("LIAISON_FUZZ_COUNT", "800"))


def test_every_callback_prefix_of_the_handlers_is_fuzzed() -> None:
    prefixes = discover_callback_prefixes()
    assert {"lang", "home", "noop"} <= set(prefixes)


def test_the_fuzz_sends_unicode_number_forms_typed_and_in_button_data_and_as_another_branch() -> None:
    """The generator's inputs (issue #16): number forms in typed text, in command arguments and in
    button data; and run_fuzz seeds coordinators of another branch who send too."""
    import inspect
    import random

    from tests.reliability_helpers import FuzzConfig, generate, run_fuzz

    users = [{"id": i, "is_bot": False, "first_name": f"u{i}"} for i in range(1, 4)]
    cfg = FuzzConfig(users=users, group_chat_ids=[], commands=["capacity", "editactivity"],
                     callback_prefixes=discover_callback_prefixes())
    sent = [*generate(random.Random(5), cfg, 3000)]
    texts = [str(a.fields.get("text", "")) for a in sent] + [a.data for a in sent]
    for form in ("１２", "١٢", "¹²", "⑫", "Ⅻ"):
        assert any(form in t and not t.startswith("/") and ":" not in t for t in texts), f"typed {form}"
        assert any(t.startswith("/") and form in t for t in texts), f"command argument {form}"
        assert any(":" in t and form in t for t in [a.data for a in sent]), f"button data {form}"
    source = inspect.getsource(run_fuzz)
    assert "seed_coordinator(db, user.id, other)" in source and "scope_probe_data" in source


@pytest.mark.stress
async def test_hostile_updates_cause_no_error_no_rejected_reply_and_no_privileged_change(
    tg: FakeTelegram, start_bot: StartBot
) -> None:
    tg.set_rate_limits(False)  # flood limits have their own tests; here every update reaches a handler
    runtime = await start_bot(flood_per_minute=10_000)
    result = await run_fuzz(tg, runtime, COUNT, seed=20261122)
    print("fuzz:", result.figures())
    assert result.errors == [], "\n".join(result.errors[:5])
    assert result.validation_errors == []
    assert result.unanswered_callbacks == 0, result.unanswered_data
    assert result.privileged_changes == []
    assert not result.bystander_changed


async def test_hostile_updates_with_flood_guard_on_stay_harmless(tg: FakeTelegram, start_bot: StartBot) -> None:
    runtime = await start_bot()
    result = await run_fuzz(tg, runtime, 120, seed=7, users=40)
    # Documents and photos a handler sends itself (/mydata's JSON file, exports, .ics) wait out
    # Telegram's per-chat 429 like replies do (handlers.base.send_direct): no error reaches the log.
    assert result.errors == [], "\n".join(result.errors[:5])
    assert result.validation_errors == []
    assert result.unanswered_callbacks == 0, result.unanswered_data
    assert result.privileged_changes == []
    assert not result.bystander_changed  # also with coordinators of another branch sending


async def test_two_quick_presses_on_one_message_cause_no_error(tg: FakeTelegram, bot: BotRuntime) -> None:
    """Found by the 100k fuzz run: the second press carries a stale copy of the message, and
    editing it to what it already shows is Telegram's 'message is not modified'."""
    user = tg.create_user("Double Du", language_code="en")
    await user.send("/language")
    picker = await user.next_message()
    with ErrorLog() as errors:
        first = await user.press_data(picker, "home")
        second = await user.press_data(picker, "home")
        await first.answer()
        await second.answer()
        assert bot.app is not None
        await wait_idle(tg, bot.app)
    assert errors.records == [], errors.summary()
    assert "Hello, Double Du" in (user.messages[-1].text or "")
    assert [e for e in tg.counters.validation_errors if "message is not modified" not in e[1]] == []


async def test_a_button_pressed_on_a_document_gets_a_new_message(tg: FakeTelegram, bot: BotRuntime) -> None:
    """Found by fuzzing: a document has no text to edit ('there is no text in the message to edit')."""
    user = tg.create_user("Doc Deng", language_code="en")
    await user.send("/start")
    await user.next_message()
    record = tg.world.add_file(b"BEGIN:VCALENDAR", "document", "activity-1.ics", "text/calendar")
    document = tg.world.new_message(user.chat, tg.world.bot_user, {"document": record.info()}, from_bot=True)
    with ErrorLog() as errors:
        pressed = await user.press_data(document, "home")
        await pressed.answer()
        home = await user.wait_for(lambda m: m.message_id > document.message_id and "Hello" in (m.text or ""))
    assert "Hello, Doc Deng" in (home.text or "")
    assert errors.records == [], errors.summary()
    assert tg.counters.validation_errors == []
