"""Strictness rules: HTML, lengths, callback data, flood limits."""

from __future__ import annotations

import html

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, RetryAfter

from sandbox.driver import SandboxError, SandboxUser
from sandbox.htmlparse import EntityParseError, parse_html
from sandbox.server import FakeTelegram


async def started_user(tg: FakeTelegram, name: str = "Alice") -> SandboxUser:
    user = tg.create_user(name)
    await user.send("/start")
    return user


def test_html_parser_entities_utf16() -> None:
    text, entities = parse_html('😀 <b>粗<i>斜</i></b> <a href="https://e.x/?a=1&amp;b=2">链接</a>')
    assert text == "😀 粗斜 链接"
    assert {"type": "italic", "offset": 4, "length": 1} in entities
    assert {"type": "bold", "offset": 3, "length": 2} in entities
    assert {"type": "text_link", "offset": 6, "length": 2, "url": "https://e.x/?a=1&b=2"} in entities


def test_html_parser_pre_code_language_and_spoiler() -> None:
    text, entities = parse_html(
        '<pre><code class="language-python">x = 1</code></pre><span class="tg-spoiler">s</span>'
        "<blockquote expandable>q</blockquote>&#20320;&#x597D;")
    assert text == "x = 1sq你好"
    assert entities[0] == {"type": "pre", "language": "python", "offset": 0, "length": 5}
    assert {"type": "spoiler", "offset": 5, "length": 1} in entities
    assert {"type": "expandable_blockquote", "offset": 6, "length": 1} in entities


@pytest.mark.parametrize("bad", ["<div>x</div>", "<b>x", "<b>x</i>", "1 < 2", "a &foo; b", "a & b",
                                 '<span class="x">s</span>', "x</b>"])
def test_html_parser_rejects(bad: str) -> None:
    with pytest.raises(EntityParseError):
        parse_html(bad)


async def test_html_rules_through_ptb(tg: FakeTelegram, bot: Bot) -> None:
    alice = await started_user(tg)
    for bad in ("<div>x</div>", "<b>unclosed", "1 < 2", "&foo;"):
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(alice.id, bad, parse_mode="HTML")
    tg.set_rate_limits(False)
    user_text = "<script>&  a<b"
    await bot.send_message(alice.id, f"<b>名字</b>: {html.escape(user_text)}", parse_mode="HTML")
    assert alice.last_message is not None and alice.last_message.text == f"名字: {user_text}"
    assert len(tg.counters.validation_errors) == 4


async def test_text_length_after_parsing(tg: FakeTelegram, bot: Bot) -> None:
    alice = await started_user(tg)
    tg.set_rate_limits(False)
    await bot.send_message(alice.id, "a" * 4096)
    await bot.send_message(alice.id, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(alice.id, "a" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(alice.id, "<b></b> ", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_document(alice.id, b"data", filename="a.txt", caption="c" * 1025)


async def test_callback_data_bytes(tg: FakeTelegram, bot: Bot) -> None:
    alice = await started_user(tg)
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="中" * 21)]])
    await bot.send_message(alice.id, "fits", reply_markup=ok)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("no", callback_data="中" * 22)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(alice.id, "66 bytes", reply_markup=too_long)


async def test_press_shown_button_versus_forged(tg: FakeTelegram, bot: Bot) -> None:
    alice = await started_user(tg)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("批准", callback_data="approve:1")]])
    sent = await bot.send_message(alice.id, "申请", reply_markup=markup)
    message = await alice.next_message()
    with pytest.raises(SandboxError, match="no button"):
        await alice.press(message, "reject")
    pressed = await alice.press(message, "批准")
    forged = await alice.press_data(sent.message_id, "approve:999")
    updates = await bot.get_updates()
    queries = [u.callback_query for u in updates if u.callback_query]
    assert [q.data for q in queries] == ["approve:1", "approve:999"]
    assert queries[0].message is not None and queries[0].message.message_id == sent.message_id
    await bot.answer_callback_query(queries[0].id, text="已批准")
    answer = await pressed.answer(timeout=1)
    assert answer.text == "已批准" and not answer.show_alert
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(queries[0].id)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query("12345")
    with pytest.raises(TimeoutError):
        await forged.answer(timeout=0.05)


async def test_answer_text_limit(tg: FakeTelegram, bot: Bot) -> None:
    alice = await started_user(tg)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="d")]])
    await bot.send_message(alice.id, "m", reply_markup=markup)
    result = await alice.press(await alice.next_message(), "b")
    with pytest.raises(BadRequest):
        await bot.answer_callback_query(result.query.id, text="x" * 201)
    await bot.answer_callback_query(result.query.id, text="x" * 200, show_alert=True)
    assert (await result.answer()).show_alert


def freeze_clock(tg: FakeTelegram) -> None:
    """Stop the limiter's clock so slow machines cannot refill windows mid-test."""
    tg.limiter.clock = lambda: 1000.0


async def test_private_chat_flood_limit(tg: FakeTelegram, bot: Bot) -> None:
    alice = await started_user(tg)
    freeze_clock(tg)
    for i in range(3):
        await bot.send_message(alice.id, f"burst {i}")
    with pytest.raises(RetryAfter):
        await bot.send_message(alice.id, "one too many")
    assert tg.counters.http_429 == 1
    url = f"{tg.api_url}{tg.token}/sendMessage"
    form = {"chat_id": alice.id, "text": "x"}
    async with aiohttp.ClientSession() as http, http.post(url, data=form) as resp:
        body = await resp.json()
    assert resp.status == 429
    assert body["parameters"]["retry_after"] >= 1
    assert body["description"] == f"Too Many Requests: retry after {body['parameters']['retry_after']}"


async def test_global_limit_and_paid_broadcast(tg: FakeTelegram, bot: Bot) -> None:
    users = [await started_user(tg, f"u{i}") for i in range(40)]
    freeze_clock(tg)
    sent = 0
    with pytest.raises(RetryAfter):
        for user in users:
            await bot.send_message(user.id, "news")
            sent += 1
    assert sent == 30
    for user in users[30:]:
        await bot.send_message(user.id, "paid news", allow_paid_broadcast=True)
    tg.limiter.clock = lambda: 1001.5
    await bot.send_message(users[0].id, "a second later the window has room again")


async def test_group_limit_twenty_per_minute(tg: FakeTelegram, bot: Bot) -> None:
    tg.set_rate_limits(True, global_per_s=1000)
    freeze_clock(tg)
    alice = await started_user(tg)
    group = tg.create_group("新联会", [alice])
    for i in range(20):
        await bot.send_message(group.id, f"g{i}")
    with pytest.raises(RetryAfter):
        await bot.send_message(group.id, "g21")
    assert len(group.messages) == 20
    tg.set_rate_limits(False)
    await bot.send_message(group.id, "unlimited")


async def test_edits_not_rate_limited(tg: FakeTelegram, bot: Bot) -> None:
    alice = await started_user(tg)
    sent = await bot.send_message(alice.id, "v0")
    for i in range(1, 8):
        await bot.edit_message_text(f"v{i}", chat_id=alice.id, message_id=sent.message_id)
    assert tg.counters.http_429 == 0
