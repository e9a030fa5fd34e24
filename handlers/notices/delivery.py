"""The Telegram side of the delivery engine: sends one outbox row and classifies the result.

python-telegram-bot's exceptions are mapped to `bot.delivery.Outcome` here, so the engine
itself stays free of `telegram` imports:
  RetryAfter -> 'retry_after' (wait, then send again), Forbidden -> 'blocked',
  ChatMigrated -> 'migrated', TimedOut and a connection broken after the request was sent ->
  'unknown' (it may have arrived: no blind retry), no connection at all (refused, unreachable)
  -> 'unreachable' (the engine pauses every send), other NetworkError (5xx) -> 'retry',
  BadRequest and the rest -> 'failed'.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import aiohttp
import httpx
from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.delivery import OutboxItem, Outcome
from bot.transport import api_call

log = logging.getLogger(__name__)


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _never_connected(exc: NetworkError) -> bool:
    """No connection to Telegram could be made (refused, unreachable, no address): the request
    never left, and the next ones will not fare better for a while."""
    return isinstance(exc.__cause__, aiohttp.ClientConnectorError | httpx.ConnectError | ConnectionRefusedError)


def _lost_answer(exc: NetworkError) -> bool:
    """The connection broke after the request may have been processed (not a refusal to connect).

    5xx answers (no cause) and failures to connect never reached Telegram: safe to retry.
    """
    return exc.__cause__ is not None and not _never_connected(exc)


_NO_PREVIEW = json.dumps({"is_disabled": True})


class TelegramTransport:
    """Sends outbox rows.

    Broadcasts are the hot path (up to 1000 calls/s with paid broadcasts), so a send goes
    through `api_call` with a ready payload: the stored reply_markup JSON is passed through
    as is, and the answer's `message_id` is read from the raw result instead of building a
    `Message` (which costs more CPU than the HTTP call). Errors are the same PTB exceptions as
    with `send_message`.
    """

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    @staticmethod
    def _payload(item: OutboxItem) -> tuple[str, dict[str, object]]:
        data: dict[str, object] = {"chat_id": item.chat_id, "parse_mode": ParseMode.HTML.value}
        attachment = item.attachment
        kind = attachment.get("type") if attachment else None
        if attachment and kind in ("photo", "document"):
            method = "sendPhoto" if kind == "photo" else "sendDocument"
            data[str(kind)] = str(attachment["file_id"])
            data["caption"] = item.text
        else:
            method = "sendMessage"
            data["text"] = item.text
            data["link_preview_options"] = _NO_PREVIEW
        if item.markup_json is not None:
            data["reply_markup"] = item.markup_json
        elif item.reply_markup is not None:
            data["reply_markup"] = json.dumps(item.reply_markup, ensure_ascii=False)
        if item.paid:
            data["allow_paid_broadcast"] = True
        return method, data

    async def send(self, item: OutboxItem) -> Outcome:
        method, data = self._payload(item)
        try:
            result = await api_call(self.bot, method, data)  # see the class docstring
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
            if _never_connected(exc):
                return Outcome("unreachable", error=exc.message[:200])
            if _lost_answer(exc):
                return Outcome("unknown", error=f"answer lost: {exc.message}"[:200])
            return Outcome("retry", error=exc.message[:200])
        except TelegramError as exc:
            return Outcome("failed", error=exc.message[:200])
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return Outcome("sent", message_id=None if message_id is None else int(message_id))

    async def edit(self, chat_id: int, message_id: int, text: str,
                   reply_markup: dict[str, object] | None = None) -> None:
        markup = None if reply_markup is None else InlineKeyboardMarkup.de_json(reply_markup, self.bot)
        try:
            await self.bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        except TelegramError as exc:
            log.info("could not update progress message %s/%s: %s", chat_id, message_id, exc.message)

    async def post(self, chat_id: int, text: str) -> int | None:
        try:
            message = await self.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
        except TelegramError as exc:
            log.info("could not post progress message to %s: %s", chat_id, exc.message)
            return None
        return message.message_id
