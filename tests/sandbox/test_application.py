"""A real PTB Application polling the sandbox end to end."""

from __future__ import annotations

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from sandbox.server import FakeTelegram


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat is not None
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="confirm")]])
    await context.bot.send_message(update.effective_chat.id, "<b>欢迎</b>", parse_mode="HTML",
                                   reply_markup=markup)


async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("好的")
    await query.edit_message_text("已确认")


async def test_application_polling_end_to_end(tg: FakeTelegram) -> None:
    app = Application.builder().token(tg.token).base_url(tg.api_url).base_file_url(tg.file_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(confirm))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            alice = tg.create_user("Alice")
            await alice.send("/start")
            welcome = await alice.next_message()
            assert welcome.html == "<b>欢迎</b>" and welcome.buttons == ["确认"]
            result = await alice.press(welcome, "确认")
            assert (await result.answer()).text == "好的"
            done = await alice.wait_for(lambda m: m.text == "已确认")
            assert done.buttons == [] and done.edited
        finally:
            await app.updater.stop()
            await app.stop()
    assert tg.counters.calls["deleteWebhook"] >= 1


async def test_callback_query_expires(tg: FakeTelegram) -> None:
    tg.api.callback_ttl_s = 0.0
    alice = tg.create_user("Alice")
    await alice.send("/start")
    async with Bot(tg.token, base_url=tg.api_url) as bot:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x")]])
        await bot.send_message(alice.id, "m", reply_markup=markup)
        result = await alice.press(await alice.next_message(), "x")
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query(result.query.id)
