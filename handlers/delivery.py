"""The Telegram side of the delivery engine: sends one outbox row and classifies the result.

python-telegram-bot's exceptions are mapped to `bot.delivery.Outcome` here, so the engine
itself stays free of `telegram` imports:
  RetryAfter -> 'retry_after' (wait, then send again), Forbidden -> 'blocked',
  ChatMigrated -> 'migrated', TimedOut and a connection broken after the request was sent ->
  'unknown' (it may have arrived: no blind retry), other NetworkError (5xx, connection
  refused) -> 'retry', BadRequest and the rest -> 'failed'.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import aiohttp
import httpx
from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.delivery import Outcome
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _lost_answer(exc: NetworkError) -> bool:
    """The connection broke after the request may have been processed (not a refusal to connect).

    5xx answers (no cause) and failures to connect never reached Telegram: safe to retry.
    """
    cause = exc.__cause__
    if cause is None:
        return False
    return not isinstance(cause, aiohttp.ClientConnectorError | httpx.ConnectError | ConnectionRefusedError)


class TelegramTransport:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, item: OutboxItem) -> Outcome:
        markup = InlineKeyboardMarkup.de_json(item.reply_markup, self.bot) if item.reply_markup else None
        paid = True if item.paid else None
        try:
            attachment = item.attachment or {}
            kind = attachment.get("type")
            if kind == "photo":
                message = await self.bot.send_photo(
                    item.chat_id, str(attachment["file_id"]), caption=item.text, parse_mode=ParseMode.HTML,
                    reply_markup=markup, allow_paid_broadcast=paid,
                )
            elif kind == "document":
                message = await self.bot.send_document(
                    item.chat_id, str(attachment["file_id"]), caption=item.text, parse_mode=ParseMode.HTML,
                    reply_markup=markup, allow_paid_broadcast=paid,
                )
            else:
                message = await self.bot.send_message(
                    item.chat_id, item.text, parse_mode=ParseMode.HTML, reply_markup=markup,
                    disable_web_page_preview=True, allow_paid_broadcast=paid,
                )
        except RetryAfter as exc:
            return Outcome("retry_after", error="429", retry_after=_seconds(exc.retry_after))
        except ChatMigrated as exc:
            return Outcome("migrated", new_chat_id=int(exc.new_chat_id))
        except Forbidden as exc:
            return Outcome("blocked", error=exc.message[:200])
        except TimedOut as exc:
            if exc.message.startswith("Pool timeout"):  # waited for a free connection: never sent
                return Outcome("retry", error=exc.message[:200])
            return Outcome("unknown", error=f"timed out: {exc.message}"[:200])
        except BadRequest as exc:
            return Outcome("failed", error=exc.message[:200])
        except NetworkError as exc:
            if _lost_answer(exc):
                return Outcome("unknown", error=f"answer lost: {exc.message}"[:200])
            return Outcome("retry", error=exc.message[:200])
        except TelegramError as exc:
            return Outcome("failed", error=exc.message[:200])
        return Outcome("sent", message_id=message.message_id)

    async def edit(self, chat_id: int, message_id: int, text: str) -> None:
        try:
            await self.bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML
            )
        except TelegramError as exc:
            log.info("could not update progress message %s/%s: %s", chat_id, message_id, exc.message)
