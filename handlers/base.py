"""Small helpers every handler uses: who is calling, in which language, and replying."""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from telegram import InlineKeyboardMarkup, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, RetryAfter, TelegramError

from bot.context import Ctx
from bot.i18n import Markup, Translator
from bot.roles import AccessDenied, Actor, Role
from bot.text import ANSWER_LIMIT, truncate_text
from bot.transport import api_call
from handlers import keyboards as kb

Markup_ = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove
Callback = Callable[[Update, Ctx], Awaitable[Any]]
F = TypeVar("F", bound=Callback)
T = TypeVar("T")

log = logging.getLogger(__name__)

# A direct send (reply, edit, document, photo) that hits Telegram's flood limit (429) was not
# delivered: wait as told (plus jitter, so many waiting sends do not all come back in the same
# instant) and send again. Only this user's handling waits (their updates are processed in order
# anyway). A longer wait, or a 429 after the retries, is given up: see `send_direct`.
RETRY_AFTER_MAX_S = 30.0  # longest retry_after waited out inside a handler
RETRY_AFTER_RETRIES = 3  # retries after the first attempt


def retry_after_seconds(exc: RetryAfter) -> float:
    delay = exc.retry_after
    return delay.total_seconds() if isinstance(delay, timedelta) else float(delay)


async def with_retry_after(call: Callable[[], Awaitable[T]]) -> T:
    """Run a Bot API call, waiting out short 429s (a 429 means nothing was sent: no duplicate).

    `call` runs again on each retry, so it must not consume anything a second call needs (pass file
    contents as bytes, not as an already-read stream). A long or repeated 429 is raised.
    """
    for attempt in range(RETRY_AFTER_RETRIES + 1):
        try:
            return await call()
        except RetryAfter as exc:
            seconds = retry_after_seconds(exc)
            if attempt == RETRY_AFTER_RETRIES or seconds > RETRY_AFTER_MAX_S:
                raise
            await asyncio.sleep(seconds + random.uniform(0, 1))
    raise AssertionError("unreachable")  # pragma: no cover


async def send_direct(update: Update, context: Ctx, call: Callable[[], Awaitable[T]], *, what: str) -> T | None:
    """Send something to the caller's chat (document, photo, album, message) surviving short 429s.

    A long or repeated 429 is logged and the caller is told politely to try again later (the
    update is not silently dropped); returns None then.
    """
    try:
        sent = await with_retry_after(call)
    except RetryAfter as exc:
        await flood_limited(update, context, exc, what)
        return None
    if isinstance(sent, Message) and isinstance(sent.reply_markup, InlineKeyboardMarkup):
        note_shown(sent.chat_id, sent.message_id)
    return sent


async def flood_limited(update: Update, context: Ctx, exc: RetryAfter, what: str) -> None:
    """Log a send given up on Telegram's flood limit and tell the caller to try again later."""
    chat = update.effective_chat
    log.warning("%s not sent to chat %s: flood limit, retry after %.0f s", what, chat.id if chat else "-",
                retry_after_seconds(exc))
    tr = await translator(update, context)
    text = tr("common.try_later")
    if chat is not None:
        try:
            await chat.send_message(text, parse_mode=ParseMode.HTML)  # one attempt: no more waiting
            await answer(update)  # stop a pressed button spinning (no-op if answered or no button)
            return
        except TelegramError as err:
            log.warning("could not tell chat %s to try again later: %r", chat.id, err)
    try:
        await answer(update, str(text), alert=True)  # no-op if answered or no button
    except TelegramError as err:
        log.warning("could not answer the button press either: %r", err)


def pressed(update: Update, prefix: str, arity: int) -> list[str] | None:
    """The fields of the pressed button's `prefix:...` data (exactly `arity`); None if forged, stale or no press."""
    query = update.callback_query
    return kb.parse(query.data if query else None, prefix, arity)


def pressed_int(update: Update, prefix: str, arity: int, index: int) -> int | None:
    """Field `index` of the pressed button's `prefix:...` data as a small integer; None if absent or forged."""
    parts = pressed(update, prefix, arity)
    return kb.parse_int(parts[index]) if parts else None


def pressed_ints(update: Update, prefix: str, arity: int) -> list[int] | None:
    """The pressed button's `prefix:n1:n2...` data as exactly `arity` small integers; None if forged or stale."""
    query = update.callback_query
    return kb.parse_ints(query.data if query else None, prefix, arity)


def user_id_of(update: Update) -> int:
    user = update.effective_user
    if user is None:
        raise AccessDenied("update without a user")
    return user.id


async def translator(update: Update, context: Ctx) -> Translator:
    user = update.effective_user
    services = context.services
    if user is None:
        return services.catalog.for_lang(services.settings.language)
    lang = await services.users.language(user.id, user.language_code)
    return services.catalog.for_lang(lang)


async def actor(update: Update, context: Ctx) -> Actor:
    return await context.services.roles.actor(user_id_of(update))


async def reply(
    update: Update, text: str, reply_markup: Markup_ | None = None, *, quote: bool = False
) -> Message | None:
    """Answer in the chat the update came from (HTML parse mode, no link previews)."""
    chat = update.effective_chat
    if chat is None:
        return None
    sent = await with_retry_after(
        lambda: chat.send_message(
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=reply_markup,
            disable_web_page_preview=True,
        )
    )
    if isinstance(reply_markup, InlineKeyboardMarkup):
        shown(chat.get_bot(), chat.id, sent.message_id, text, reply_markup)
    return sent


# What the bot last showed in each of its recent messages (text as sent, keyboard), so an edit is
# compared with that and not with the snapshot a button press carries: two quick taps on a
# toggle carry the same snapshot, and the second one's screen must still be shown. One bounded
# (LRU) record per bot object; after a restart the snapshot is the best knowledge (and "message
# is not modified" is harmless).
_SHOWN: dict[int, OrderedDict[tuple[int, int], tuple[str, InlineKeyboardMarkup | None]]] = {}
_SHOWN_KEEP = 20_000


def _shown_of(bot: object) -> OrderedDict[tuple[int, int], tuple[str, InlineKeyboardMarkup | None]]:
    record = _SHOWN.get(id(bot))
    if record is None:
        record = _SHOWN[id(bot)] = OrderedDict()
        weakref.finalize(bot, _SHOWN.pop, id(bot), None)
    return record


# The messages (chat id, message id) a guided flow's callback shows while it runs (None: no flow
# is collecting), so the flow's step journal knows which messages belong to the open instance
# (handlers/steps.py: a press on another instance's message is stale).
_SHOWING: ContextVar[list[tuple[int, int]] | None] = ContextVar("showing", default=None)


@contextmanager
def collecting_shown() -> Iterator[list[tuple[int, int]]]:
    """Collect the messages with an inline keyboard shown (sent or edited) inside the block."""
    collected: list[tuple[int, int]] = []
    token = _SHOWING.set(collected)
    try:
        yield collected
    finally:
        _SHOWING.reset(token)


def note_shown(chat_id: int, message_id: int) -> None:
    """A message with buttons was shown: tell the flow collecting (if any)."""
    collected = _SHOWING.get()
    if collected is not None and (chat_id, message_id) not in collected:
        collected.append((chat_id, message_id))


def shown(bot: object, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Record what `bot` shows in message `message_id` of `chat_id` now."""
    if markup is not None:
        note_shown(chat_id, message_id)
    record = _shown_of(bot)
    key = (chat_id, message_id)
    record[key] = (text, markup)
    record.move_to_end(key)
    while len(record) > _SHOWN_KEEP:
        record.popitem(last=False)


_EDIT_LOCKS: weakref.WeakValueDictionary[tuple[int, int, int], asyncio.Lock] = weakref.WeakValueDictionary()


def edit_lock(bot: object, chat_id: int, message_id: int) -> asyncio.Lock:
    """One edit of a message at a time: compare with what it shows, edit, record (`shown`). Two
    edits of one message at once (a refresh pressed while the live refresh runs) would both see
    the old content and send the same new one twice ("message is not modified")."""
    key = (id(bot), chat_id, message_id)
    lock = _EDIT_LOCKS.get(key)
    if lock is None:
        lock = _EDIT_LOCKS[key] = asyncio.Lock()
    return lock


def last_shown(bot: object, chat_id: int, message_id: int) -> tuple[str, InlineKeyboardMarkup | None] | None:
    record = _SHOWN.get(id(bot))
    return record.get((chat_id, message_id)) if record is not None else None


async def edit_or_reply(update: Update, text: str, reply_markup: InlineKeyboardMarkup | None = None, *,
                        locked: bool = False) -> None:
    """Edit the message whose button was pressed; otherwise send a new message.

    The new content is compared with what the bot last showed in that message (`shown`), else with
    the press's snapshot of it: only a real change is sent. `locked`: the caller holds the
    message's `edit_lock` (it computed the content under it).
    """
    query = update.callback_query
    # Only a text message can be edited into text (a pressed document or photo gets a new message).
    message = query.message if query is not None else None
    if isinstance(message, Message) and message.text is not None:
        if locked:
            await _edit_if_changed(message, text, reply_markup)
            return
        async with edit_lock(message.get_bot(), message.chat_id, message.message_id):
            await _edit_if_changed(message, text, reply_markup)
        return
    await reply(update, text, reply_markup)


async def _edit_if_changed(message: Message, text: str, reply_markup: InlineKeyboardMarkup | None) -> None:
    before = last_shown(message.get_bot(), message.chat_id, message.message_id)
    if before is not None:
        if before[1] == reply_markup and before[0] == text:
            return
    # Keyboard first: it is cheap to compare and usually differs (then text_html, which parses
    # the message's entities, is not needed).
    elif message.reply_markup == reply_markup and message.text_html == text:
        return
    try:
        await with_retry_after(lambda: _edit_text(message, text, reply_markup))
    except BadRequest as exc:
        # After a restart the press's snapshot may be older than the message: the same content
        # may already be there. Nothing to change is not an error.
        if "message is not modified" not in exc.message.lower():
            raise
    shown(message.get_bot(), message.chat_id, message.message_id, text, reply_markup)


_NO_PREVIEW = {"is_disabled": True}


async def _edit_text(message: Message, text: str, reply_markup: InlineKeyboardMarkup | None) -> None:
    """``editMessageText`` of a message the bot sent, HTML, no link preview.

    Like ``message.edit_text(...)`` but through `api_call` (a ready JSON payload, Telegram's answer
    not turned into a ``Message``: nobody uses it here, and parsing it with all its entities cost
    more CPU than the HTTP call; the same path as the outbox sender in handlers/delivery.py).
    Errors are the same PTB exceptions.
    """
    await api_call(
        message.get_bot(),
        "editMessageText",
        {
            "chat_id": message.chat_id,
            "message_id": message.message_id,
            "text": text,
            "parse_mode": ParseMode.HTML.value,
            "link_preview_options": _NO_PREVIEW,
            "reply_markup": reply_markup,
        },
    )


async def edit_markup(message: Message, reply_markup: InlineKeyboardMarkup | None) -> None:
    """``editMessageReplyMarkup`` of a message the bot sent, through `api_call` like `_edit_text`.

    ``message.edit_reply_markup(...)`` parses Telegram's answer (the whole edited message) into a
    ``Message``: in an acknowledgement storm that parse cost more CPU than the rest of the press
    (bench/ackstorm.py). Errors are the same PTB exceptions.
    """
    await api_call(
        message.get_bot(),
        "editMessageReplyMarkup",
        {"chat_id": message.chat_id, "message_id": message.message_id, "reply_markup": reply_markup},
    )


# Ids of callback queries already answered: Telegram accepts one answer per query, and a second
# one fails ("query is too old"), so helpers that answer check here first. Bounded (FIFO).
_ANSWERED: OrderedDict[str, None] = OrderedDict()
_ANSWERED_KEEP = 10_000


def answered(update: Update) -> bool:
    """Whether this update's callback query has been answered already."""
    query = update.callback_query
    return query is not None and query.id in _ANSWERED


async def answer(update: Update, text: str | None = None, alert: bool = False) -> None:
    """Answer a callback query (always, so the button stops spinning); a second call is a no-op."""
    query = update.callback_query
    if query is None or query.id in _ANSWERED:
        return
    shown = truncate_text(text, ANSWER_LIMIT) if text else None  # Telegram's units
    payload = {"callback_query_id": query.id, "text": shown, "show_alert": alert or None}
    try:
        await with_retry_after(lambda: api_call(query.get_bot(), "answerCallbackQuery", payload))
    except BadRequest as exc:
        # A press from before a restart (or a slow queue) can no longer be answered: the button has
        # stopped spinning on the client already. Everything else about the press still happens.
        if "query is too old" not in exc.message.lower() and "query id is invalid" not in exc.message.lower():
            raise
        log.info("callback query %s expired before it was answered", query.id)
    _ANSWERED[query.id] = None
    while len(_ANSWERED) > _ANSWERED_KEEP:
        _ANSWERED.popitem(last=False)


async def refuse(update: Update, context: Ctx, key: str = "common.not_allowed") -> None:
    """Tell the caller politely that they may not do this (as a message if the button was answered)."""
    tr = await translator(update, context)
    if update.callback_query is not None and not answered(update):
        await answer(update, str(tr(key)), alert=True)
    else:
        await reply(update, tr(key))


def requires(role: Role) -> Callable[[F], F]:
    """Run the handler only for callers with at least `role` (checked on every update)."""

    def decorate(func: F) -> F:
        @wraps(func)
        async def wrapper(update: Update, context: Ctx) -> Any:
            who = await actor(update, context)
            if who.role < role:
                await refuse(update, context)
                return None
            return await func(update, context)

        return wrapper  # type: ignore[return-value]

    return decorate


def private_only(func: F) -> F:
    """Personal flows happen only in the private chat with the bot."""

    @wraps(func)
    async def wrapper(update: Update, context: Ctx) -> Any:
        chat = update.effective_chat
        if chat is None or chat.type != chat.PRIVATE:
            return None
        return await func(update, context)

    return wrapper  # type: ignore[return-value]


def markup(text: str) -> Markup:
    return Markup(text)
