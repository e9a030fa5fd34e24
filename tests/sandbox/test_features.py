"""Webhook, files, menus, chats, keyboards, fault injection and the control API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.error import BadRequest, ChatMigrated, Conflict, NetworkError

from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


async def started_user(tg: FakeTelegram, name: str = "Alice") -> SandboxUser:
    user = tg.create_user(name)
    await user.send("/start")
    return user


async def test_webhook_delivery_with_secret(tg: FakeTelegram, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        with pytest.raises(BadRequest, match=r"(?i)https url"):
            await bot.set_webhook("http://example.com/hook")
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret-token")
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook")
        with pytest.raises(Conflict, match=r"(?i)webhook is active"):
            await bot.get_updates()
        alice = tg.create_user("Alice")
        await alice.send("/start")
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.02)
        assert received[0][0] == "s3cret-token"
        assert received[0][1]["message"]["text"] == "/start"  # type: ignore[index]
        assert (await bot.get_webhook_info()).pending_update_count == 0
        await bot.delete_webhook(drop_pending_updates=True)
        assert await bot.get_updates() == ()
    finally:
        await runner.cleanup()


async def test_document_upload_download_and_resend(tg: FakeTelegram, bot: Bot) -> None:
    alice = await started_user(tg)
    sent = await bot.send_document(alice.id, "名单,1\n".encode(), filename="名单.csv", caption="<b>表</b>",
                                   parse_mode="HTML")
    assert sent.document is not None and sent.document.file_name == "名单.csv"
    message = await alice.next_message()
    assert message.caption == "表" and message.html == "<b>表</b>"
    assert await alice.download(message) == "名单,1\n".encode()
    file = await bot.get_file(sent.document.file_id)
    assert bytes(await file.download_as_bytearray()) == "名单,1\n".encode()
    again = await bot.send_document(alice.id, sent.document.file_id)
    assert again.document is not None and again.document.file_id == sent.document.file_id
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_document(alice.id, "no-such-file-id")
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(alice.id, b"not an image")
    photo = await bot.send_photo(alice.id, PNG, caption="图")
    assert photo.photo and await alice.download(photo.message_id) == PNG


async def test_user_uploads_reach_bot(tg: FakeTelegram, bot: Bot) -> None:
    alice = await started_user(tg)
    await alice.send_document("a.xlsx", b"PK\x03\x04", mime_type="application/vnd.ms-excel")
    await alice.share_contact("+8613800000000")
    await alice.share_contact("+8613900000000", own=False, other_user_id=42)
    updates = await bot.get_updates()
    messages = [u.message for u in updates if u.message]
    document = messages[1].document
    assert document is not None
    data = await (await bot.get_file(document.file_id)).download_as_bytearray()
    assert bytes(data) == b"PK\x03\x04"
    assert messages[2].contact is not None and messages[2].contact.user_id == alice.id
    assert messages[3].contact is not None and messages[3].contact.user_id == 42


async def test_media_group_copy_forward(tg: FakeTelegram, bot: Bot) -> None:
    alice = await started_user(tg)
    bob = await started_user(tg, "Bob")
    tg.set_rate_limits(False)
    group = await bot.send_media_group(alice.id, [InputMediaDocument(b"1", filename="1.txt"),
                                                  InputMediaDocument(b"2", filename="2.txt", caption="二")])
    assert len(group) == 2 and group[0].media_group_id == group[1].media_group_id
    copied = await bot.copy_message(bob.id, alice.id, group[1].message_id)
    assert bob.messages[-1].message_id == copied.message_id and bob.messages[-1].caption == "二"
    forwarded = await bot.forward_message(bob.id, alice.id, group[0].message_id)
    assert forwarded.forward_origin is not None
    with pytest.raises(BadRequest, match=r"(?i)message to copy not found"):
        await bot.copy_message(bob.id, alice.id, 999)


async def test_commands_menu_and_bot_texts(tg: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "开始"), BotCommand("help", "帮助")],
                              scope=BotCommandScopeAllPrivateChats(), language_code="zh")
    assert [c["command"] for c in tg.commands("all_private_chats", "zh")] == ["start", "help"]
    assert tg.commands() == []
    got = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="zh")
    assert [c.description for c in got] == ["开始", "帮助"]
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Command", "x")])
    await bot.delete_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="zh")
    assert tg.commands("all_private_chats", "zh") == []
    assert await bot.set_my_description("新联会助手")
    assert await bot.set_chat_menu_button()


async def test_groups_chats_and_members(tg: FakeTelegram, bot: Bot) -> None:
    alice = await started_user(tg)
    bob = tg.create_user("Bob", username="bob")
    group = tg.create_group("理事会", [alice, bob], admins=[bob], supergroup=True)
    updates = await bot.get_updates()
    assert updates[-1].my_chat_member is not None
    assert updates[-1].my_chat_member.new_chat_member.status == "member"
    chat = await bot.get_chat(group.id)
    assert chat.title == "理事会" and chat.type == "supergroup"
    assert (await bot.get_chat_member(group.id, alice.id)).status == "creator"
    assert (await bot.get_chat_member(group.id, bob.id)).status == "administrator"
    admins = await bot.get_chat_administrators(group.id)
    assert [a.user.id for a in admins] == [alice.id, bob.id]
    await group.send(bob, "/notice@sandbox_bot 开会")
    assert await bot.send_chat_action(group.id, "typing")
    with pytest.raises(BadRequest):
        await bot.send_chat_action(group.id, "dancing")
    assert await bot.leave_chat(group.id)
    with pytest.raises(Exception, match=r"(?i)not a member of the supergroup"):
        await bot.send_message(group.id, "still here?")


async def test_reply_keyboard_and_user_edits(tg: FakeTelegram, bot: Bot) -> None:
    alice = await started_user(tg)
    keyboard = ReplyKeyboardMarkup([[KeyboardButton("分享手机号", request_contact=True), "帮助"]],
                                   one_time_keyboard=True)
    await bot.send_message(alice.id, "请分享", reply_markup=keyboard)
    assert alice.reply_keyboard is not None
    shared = await alice.press_reply_button("分享手机号")
    assert shared["contact"]["user_id"] == alice.id
    assert alice.reply_keyboard is None
    await asyncio.sleep(1.1)
    await bot.send_message(alice.id, "again", reply_markup=ReplyKeyboardMarkup([["帮助"]]))
    await bot.send_message(alice.id, "gone", reply_markup=ReplyKeyboardRemove())
    assert alice.reply_keyboard is None
    first = await alice.send("/notice 旧")
    await alice.send_edited(first["message_id"], "/notice 新")
    updates = await bot.get_updates()
    assert updates[-1].edited_message is not None and updates[-1].edited_message.text == "/notice 新"


async def test_edit_markup_and_caption(tg: FakeTelegram, bot: Bot) -> None:
    alice = await started_user(tg)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="a")]])
    sent = await bot.send_message(alice.id, "t", reply_markup=markup)
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_reply_markup(alice.id, sent.message_id, reply_markup=markup)
    await bot.edit_message_reply_markup(alice.id, sent.message_id)
    assert alice.messages[-1].buttons == []
    with pytest.raises(BadRequest, match=r"(?i)no caption"):
        await bot.edit_message_caption(alice.id, sent.message_id, caption="c")
    doc = await bot.send_document(alice.id, b"x", filename="x.txt", caption="old")
    await bot.edit_message_caption(alice.id, doc.message_id, caption="new")
    assert alice.messages[-1].caption == "new"
    assert await bot.delete_messages(alice.id, [sent.message_id, doc.message_id, 999])
    assert alice.messages == []


async def test_fault_injection_rate_with_seed(tg: FakeTelegram, bot: Bot) -> None:
    tg.set_faults(error_rate=0.3, seed=7)
    failures = 0
    for _ in range(100):
        try:
            await bot.get_me()
        except NetworkError:
            failures += 1
    assert 15 <= failures <= 45
    assert tg.counters.faults_injected == failures
    tg.set_faults(drop_rate=1.0)
    with pytest.raises(NetworkError):
        await bot.get_me()
    tg.set_faults(latency_s=0.05)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await bot.get_me()
    assert loop.time() - start >= 0.05
    tg.set_faults(rate_429=1.0)
    with pytest.raises(Exception, match=r"(?i)flood control"):
        await bot.get_me()


async def test_spec_missing_falls_back(tmp_path: Path) -> None:
    async with FakeTelegram(spec_path=tmp_path / "missing.json") as tg:
        assert not tg.spec_loaded
        async with Bot(tg.token, base_url=tg.api_url) as client:
            assert (await client.get_me()).id == 7000000


async def test_json_body_accepted(tg: FakeTelegram) -> None:
    alice = await started_user(tg)
    url = f"{tg.api_url}{tg.token}/sendMessage"
    markup = {"inline_keyboard": [[{"text": "x", "callback_data": "x"}]]}
    payload = {"chat_id": alice.id, "text": "json", "reply_markup": markup}
    async with aiohttp.ClientSession() as http, http.post(url, json=payload) as resp:
        assert (await resp.json())["ok"]
    assert alice.messages[-1].buttons == ["x"]


async def test_control_api(tg: FakeTelegram, bot: Bot) -> None:
    base = f"{tg.base}/sandbox/api"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/users", json={"first_name": "Web"}) as resp:
            user = await resp.json()
        uid = user["id"]
        async with http.post(f"{base}/users/{uid}/send", json={"text": "/start"}) as resp:
            assert (await resp.json())["text"] == "/start"
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("好", callback_data="ok")]])
        sent = await bot.send_message(uid, "<i>hi</i>", parse_mode="HTML", reply_markup=markup)
        async with http.get(f"{base}/events", params={"after": "0", "timeout": "1"}) as resp:
            events = (await resp.json())["events"]
        assert [e["kind"] for e in events] == ["new", "new"]
        assert events[1]["message"]["html"] == "<i>hi</i>"
        press = {"message_id": sent.message_id, "text": "好"}
        async with http.post(f"{base}/users/{uid}/press", json=press) as resp:
            assert "callback_query_id" in await resp.json()
        async with http.post(f"{base}/users/{uid}/press", json={"message_id": 1, "text": "好"}) as resp:
            assert resp.status == 400
        form = aiohttp.FormData()
        form.add_field("file", b"abc", filename="a.txt", content_type="text/plain")
        async with http.post(f"{base}/users/{uid}/upload", data=form) as resp:
            file_id = (await resp.json())["document"]["file_id"]
        async with http.get(f"{base}/files/{file_id}") as resp:
            assert await resp.read() == b"abc"
        async with http.get(f"{base}/users/{uid}/messages") as resp:
            assert len(await resp.json()) == 3
        async with http.get(f"{base}/users") as resp:
            assert [u["id"] for u in await resp.json()] == [uid]
        async with http.get(f"{base}/counters") as resp:
            assert json.loads(await resp.text())["calls"]["sendMessage"] == 1
        async with http.get(f"{base}/users/999/messages") as resp:
            assert resp.status == 404


async def test_spec_off_still_decodes_json_values(tmp_path: Path) -> None:
    async with FakeTelegram(spec_path=tmp_path / "missing.json") as tg:
        alice = await started_user(tg)
        async with Bot(tg.token, base_url=tg.api_url) as client:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="中" * 22)]])
            with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
                await client.send_message(alice.id, "x", reply_markup=markup)
            with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
                await client.send_message(alice.id, "")


async def test_group_migration_and_anonymous_admin(tg: FakeTelegram, bot: Bot) -> None:
    alice = await started_user(tg)
    group = tg.create_group("旧群", [alice])
    await group.send_anonymous_admin("/notice")
    supergroup = group.migrate_to_supergroup()
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(group.id, "hello")
    assert caught.value.new_chat_id == supergroup.id
    await bot.send_message(supergroup.id, "hello")
    updates = await bot.get_updates()
    anonymous = [u.message for u in updates if u.message and u.message.sender_chat]
    assert anonymous[0].from_user is not None and anonymous[0].from_user.id == 1087968824
