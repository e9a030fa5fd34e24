"""A bare python-telegram-bot echo bot on the default stack (httpx, sequential updates).

The framework as users usually run it: the reference point of bench/ceiling.py.
    python bench/_echo_bot.py TOKEN API_URL [--concurrent]

With --concurrent: PTB's ``concurrent_updates(True)`` (each update its own task, up to 256 at
once; still httpx) -- to show what it costs per update.
"""

from __future__ import annotations

import logging
import os
import sys

os.environ.setdefault("PTB_TIMEDELTA", "1")

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None and update.effective_message.text:
        await update.effective_message.reply_text(update.effective_message.text)


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is not None:
        await query.answer("ok")
        await query.edit_message_text(f"pressed {query.data}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    token, api_url = sys.argv[1], sys.argv[2]
    builder = Application.builder().token(token).base_url(api_url)
    if "--concurrent" in sys.argv[3:]:
        builder = builder.concurrent_updates(True)
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(press))
    app.run_polling(poll_interval=0.0, timeout=10, allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
