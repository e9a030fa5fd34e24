"""Basic commands end to end: real Application, real HTTP, the strict sandbox, a real SQLite file."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.conftest import OWNER_ID, StartBot


async def test_start_welcomes_in_chinese_by_default(tg: FakeTelegram, bot: BotRuntime) -> None:
    user = tg.create_user("王芳", language_code="zh-hans")
    await user.send("/start")
    message = await user.next_message()
    assert "您好，王芳" in message.text


async def test_start_welcomes_in_english_for_english_clients(tg: FakeTelegram, bot: BotRuntime) -> None:
    user = tg.create_user("Alice", language_code="en")
    await user.send("/start")
    message = await user.next_message()
    assert "Hello, Alice" in message.text


async def test_hostile_name_is_escaped_not_rejected(tg: FakeTelegram, bot: BotRuntime) -> None:
    user = tg.create_user("<b>x</b> & <script>", language_code="en")
    await user.send("/start")
    message = await user.next_message()
    assert "<b>x</b> & <script>" in message.text
    assert tg.counters.validation_errors == []


async def test_help_lists_commands_for_the_callers_role(tg: FakeTelegram, bot: BotRuntime) -> None:
    stranger = tg.create_user("Bob", language_code="en")
    await stranger.send("/help")
    text = (await stranger.next_message()).text
    assert "/language" in text and "Commands" in text
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send("/help")
    assert "Owner commands" in (await owner.next_message()).text


async def test_language_command_switches_and_remembers(tg: FakeTelegram, start_bot: StartBot) -> None:
    runtime = await start_bot()
    user = tg.create_user("李娜", language_code="zh-hans")
    await user.send("/language")
    picker = await user.next_message()
    result = await user.press(picker, "English")
    assert (await result.answer()).text == "Language set to English."
    await runtime.stop()
    await start_bot()  # the choice is in the database, not in memory
    await user.send("/start")
    assert "Hello, 李娜" in (await user.next_message()).text


async def test_cancel_outside_a_conversation_says_nothing_to_cancel(tg: FakeTelegram, bot: BotRuntime) -> None:
    user = tg.create_user("Carol", language_code="en")
    await user.send("/cancel")
    assert "nothing to cancel" in (await user.next_message()).text


async def test_unknown_command_and_text_get_a_polite_answer(tg: FakeTelegram, bot: BotRuntime) -> None:
    user = tg.create_user("Dan", language_code="en")
    await user.send("/nonsense")
    assert "don't know that command" in (await user.next_message()).text
    await user.send("hello?")
    assert "didn't understand" in (await user.next_message()).text


async def test_forged_button_is_answered_and_changes_nothing(tg: FakeTelegram, bot: BotRuntime) -> None:
    user = tg.create_user("Eve", language_code="en")
    await user.send("/language")
    picker = await user.next_message()
    result = await user.press_data(picker, "lang:xx")
    await result.answer()
    forged = await user.press_data(picker, "admin:delete:everything")
    assert "expired" in ((await forged.answer()).text or "")
    await user.send("/start")
    assert "Hello, Eve" in (await user.next_message()).text


async def test_command_menus_are_set_per_scope_and_language(tg: FakeTelegram, bot: BotRuntime) -> None:
    zh = tg.commands("all_private_chats", "zh")
    en = tg.commands("all_private_chats", "en")
    assert {c["command"] for c in zh} == {c["command"] for c in en} >= {"start", "help", "language", "cancel"}
    assert zh[0]["description"] != en[0]["description"]


async def test_edited_command_does_not_run_again(tg: FakeTelegram, bot: BotRuntime) -> None:
    user = tg.create_user("Fay", language_code="en")
    sent = await user.send("/help")
    await user.next_message()
    await user.send_edited(sent["message_id"], "/help")
    await user.send("/cancel")
    assert "nothing to cancel" in (await user.next_message()).text
    assert sum("Commands" in m.text for m in user.inbox) == 1


async def test_service_identities_are_ignored(tg: FakeTelegram, bot: BotRuntime) -> None:
    group = tg.create_group("陆家嘴金融城新联会")
    await group.send_anonymous_admin("/help")
    user = tg.create_user("Gus", language_code="en")
    await user.send("/help")
    await user.next_message()
    assert group.messages == []


async def test_token_never_appears_in_logs(
    settings: Settings, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    # A token shaped like a real one (built at run time so no token-like string is committed).
    token = "987654321:" + "AAHk3x" * 6
    async with FakeTelegram(token=token, seed=2) as server:
        with caplog.at_level(logging.DEBUG):
            runtime = BotRuntime(settings.model_copy(update={"api_url": server.api_url}), clock=clock, token=token)
            await runtime.start()
            try:
                user = server.create_user("Hal", language_code="en")
                await user.send("/start")
                await user.next_message()
            finally:
                await runtime.stop()
    assert len(caplog.records) > 20, "the run logged its requests at DEBUG"
    assert token not in caplog.text
    assert token.split(":")[1] not in caplog.text


async def test_owner_menu_follows_the_language_they_choose(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner = tg.create_user("Owner", language_code="zh-hans", user_id=OWNER_ID)
    await owner.send("/language")
    picker = await owner.next_message()
    await (await owner.press(picker, "English")).answer()

    def english_everywhere() -> bool:
        menus = [tg.commands("chat", code, chat_id=OWNER_ID) for code in ("", "zh", "en")]
        return all(menu and menu[0]["description"] == "Start / home menu" for menu in menus)

    for _ in range(100):  # the menu is updated right after the answer
        if english_everywhere():
            break
        await asyncio.sleep(0.05)
    assert english_everywhere()


async def test_cancel_leaves_a_conversation_in_progress(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send("/newactivity")
    await owner.next_message()  # the first question of the guided creation
    await owner.send("/cancel")
    assert "Left the current step" in (await owner.next_message()).text
    await owner.send("Reading club")
    assert "didn't understand" in (await owner.next_message()).text
