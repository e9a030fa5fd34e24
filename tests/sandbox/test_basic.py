"""getMe, updates, send/edit/delete roundtrips through a real PTB Bot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Conflict, EndPointNotFound, Forbidden, InvalidToken

from sandbox.server import FakeTelegram


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 7000000
    assert me.is_bot


async def test_wrong_token_is_invalid_token(tg: FakeTelegram) -> None:
    other = Bot("7000000:other", base_url=tg.api_url)
    with pytest.raises(InvalidToken):
        await other.initialize()
    await other.shutdown()


async def test_unknown_method_404_and_missing_param_400(tg: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    url = f"{tg.api_url}{tg.token}/sendMessage"
    async with aiohttp.ClientSession() as http, http.post(url, data={"text": "hi"}) as resp:
        assert resp.status == 400
        body = await resp.json()
    assert body == {"ok": False, "error_code": 400, "description": "Bad Request: chat_id is empty"}
    assert len(tg.counters.validation_errors) == 2


async def test_spec_methods_the_sandbox_lacks_answer_400(tg: FakeTelegram, bot: Bot) -> None:
    assert tg.spec_loaded, "the Bot API spec ships in sandbox/spec/api.json"
    with pytest.raises(BadRequest, match=r"(?i)not supported by the sandbox"):
        await bot.get_star_transactions()
    assert tg.counters.calls["getStarTransactions"] == 1


async def test_method_name_case_insensitive(tg: FakeTelegram) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{tg.api_url}{tg.token}/GETME") as resp:
        body = await resp.json()
    assert body["ok"] and body["result"]["id"] == 7000000


async def test_get_updates_long_poll_with_offsets(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.create_user("Alice")
    assert await bot.get_updates(timeout=0) == ()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    await alice.send("/start")
    updates = await asyncio.wait_for(poll, 3)
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None and message.text == "/start"
    assert message.entities[0].type == "bot_command"
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [updates[0].update_id]
    await alice.send("second")
    after = await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)
    assert [u.message.text for u in after if u.message] == ["second"]
    await bot.get_updates(offset=after[-1].update_id + 1, timeout=0)
    assert tg.world.updates == []


async def test_second_poller_terminates_first(tg: FakeTelegram, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    async with Bot(tg.token, base_url=tg.api_url) as other_instance:
        second = asyncio.create_task(other_instance.get_updates(timeout=1))
        with pytest.raises(Conflict, match=r"(?i)terminated by other getupdates"):
            await first
        assert await second == ()


async def test_send_edit_delete_roundtrip(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.create_user("Alice")
    await alice.send("/start")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("是", callback_data="yes")]])
    sent = await bot.send_message(alice.id, "<b>你好</b> world", parse_mode="HTML", reply_markup=keyboard)
    seen = await alice.next_message()
    assert seen.message_id == sent.message_id
    assert seen.text == "你好 world" and seen.html == "<b>你好</b> world"
    assert seen.entities == [{"type": "bold", "offset": 0, "length": 2}]
    assert seen.buttons == ["是"]
    await bot.edit_message_text("edited", chat_id=alice.id, message_id=sent.message_id)
    edited = await alice.wait_for(lambda m: m.text == "edited")
    assert edited.edited and edited.reply_markup is None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("edited", chat_id=alice.id, message_id=sent.message_id)
    assert await bot.delete_message(alice.id, sent.message_id)
    assert alice.messages == []
    assert alice.inbox[0].deleted
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(alice.id, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=alice.id, message_id=sent.message_id)


async def test_chat_not_found_blocked_and_never_started(tg: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(123, "hi")
    bob = tg.create_user("Bob")
    with pytest.raises(Forbidden, match=r"(?i)can't initiate conversation"):
        await bot.send_message(bob.id, "hi")
    await bob.send("/start")
    await bot.send_message(bob.id, "hi")
    bob.block_bot()
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(bob.id, "hi")
    updates = await bot.get_updates()
    kicked = [u.my_chat_member for u in updates if u.my_chat_member]
    assert kicked[0].new_chat_member.status == "kicked"


def test_the_spec_ships_with_the_repository(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No 'spec not found' on a fresh clone: the default is the copy in sandbox/spec/;
    TELEGRAM_API_SPEC still names another one."""
    from sandbox.spec import SHIPPED_SPEC, default_spec_path, load_catalogue

    monkeypatch.delenv("TELEGRAM_API_SPEC", raising=False)
    assert default_spec_path() == SHIPPED_SPEC and SHIPPED_SPEC.is_file()
    assert (SHIPPED_SPEC.parent / "LICENSE").is_file()
    methods, loaded = load_catalogue()
    assert loaded and "sendmessage" in methods and "getstartransactions" in methods
    other = tmp_path / "api.json"
    other.write_text('{"methods": {"getMe": {"fields": []}}}', encoding="utf-8")
    monkeypatch.setenv("TELEGRAM_API_SPEC", str(other))
    assert default_spec_path() == other
    assert set(load_catalogue()[0]) == {"getme"}
