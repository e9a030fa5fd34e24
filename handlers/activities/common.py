"""Pieces every activities flow shares: cleaning typed text, reading a typed date, pagers from
button declarations, and showing a refusal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import when
from bot.activities import callbacks as cb
from bot.callbacks import NOOP, Button
from bot.context import Ctx
from bot.errors import Refusal
from bot.i18n import Markup, Translator
from bot.text import utf16_len
from handlers import keyboards as kb
from handlers.base import actor, answer, refuse, reply, translator


def clean(text: str | None, limit: int) -> str | None:
    """User text without control characters; None when empty or too long."""
    if text is None:
        return None
    value = "".join(ch for ch in text if ch == "\n" or ch.isprintable()).strip()
    return value if value and utf16_len(value) <= limit else None  # Telegram's units


# Quick answers of /newactivity's steps: (button text key, or "=" and the text itself, or "@" a key
# and a time after a space; the answer it stands for, as it would be typed — bot/when.py reads the
# English words in any language). Typing stays possible for anything else.
QUICK: dict[str, tuple[tuple[str, str], ...]] = {
    # 今天/明天/本周六 at common times; 下周六 stands in once this week's Saturday has passed.
    "start": tuple(
        (f"@{day} {clock}", f"{typed_day} {clock}")
        for day, typed_day in (
            ("when.btn.today", "today"),
            ("when.btn.tomorrow", "tomorrow"),
            ("when.btn.saturday", "this sat"),
            ("act.btn.next_saturday", "next sat"),
        )
        for clock in ("09:00", "14:00", "19:00")
    ),
    "place": (("act.btn.skip", "-"),),
    "cap": (("act.btn.unlimited", "-"), ("=10", "10"), ("=20", "20"), ("=30", "30"), ("=50", "50")),
}


def quick_keyboard(tr: Translator, step: str) -> InlineKeyboardMarkup:
    """The quick answers of a /newactivity step as buttons (three a row for the times, else two)."""
    buttons = [
        kb.button(_quick_label(tr, key), cb.QUICK.data(step=step, pick=i)) for i, (key, _) in enumerate(QUICK[step])
    ]
    return kb.inline(kb.columns(buttons, 3 if step == "start" else 2))


def _quick_label(tr: Translator, key: str) -> str:
    if key.startswith("="):
        return key[1:]
    if key.startswith("@"):
        word, time = key[1:].split(" ", 1)
        return f"{tr(word)} {time}"
    return str(tr(key))


def quick_answer(update: Update, step: str) -> str | None:
    """The answer a quick button of `step` stands for; None when the press is not one of them."""
    query = update.callback_query
    pressed = cb.QUICK.parse(query.data) if query is not None else None
    if pressed is None or pressed.text("step") != step or not 0 <= pressed.num("pick") < len(QUICK.get(step, ())):
        return None
    return QUICK[step][pressed.num("pick")][1]


def typed(update: Update) -> str:
    """The text the user typed (stripped), or the answer a quick button stands for."""
    if update.message:
        return (update.message.text or "").strip()
    query = update.callback_query
    pressed = cb.QUICK.parse(query.data) if query is not None else None
    return (quick_answer(update, pressed.text("step")) or "") if pressed is not None else ""


async def typed_date(
    update: Update, context: Ctx, *, after: datetime | None = None, text: str | None = None
) -> datetime | None:
    """A future moment typed in the configured zone (bot/when.py; a bare time is on the day of
    `after`); None after saying what is wrong, with an example."""
    tr = await translator(update, context)
    services = context.services
    raw = typed(update) if text is None else text
    moment = when.parse(raw, services.clock.now(), services.settings.zone, tr.lang, after=after)
    if isinstance(moment, Refusal):
        await reply(update, tr(moment.key, **moment.values))
        return None
    if moment <= services.clock.now():
        await reply(update, tr("act.bad.start_past"))
        return None
    return moment


def zone_name(tr: Translator, context: Ctx) -> str:
    """The configured zone as people call it (北京时间)."""
    return when.zone_name(tr, context.services.settings.zone)


def pager(
    tr: Translator,
    button: Button,
    page: int,
    pages: int,
    *,
    texts: tuple[str, str] = ("act.btn.page_prev", "act.btn.page_next"),
    **fixed: int | str,
) -> list[InlineKeyboardButton]:
    """◀ x/y ▶ for a paged list whose pages are `button` presses (its `page` field)."""
    row: list[InlineKeyboardButton] = []
    if page > 0:
        row.append(kb.button(str(tr(texts[0])), button.data(**fixed, page=page - 1)))
    if pages > 1:
        row.append(kb.button(f"{page + 1}/{pages}", NOOP.data()))
    if page + 1 < pages:
        row.append(kb.button(str(tr(texts[1])), button.data(**fixed, page=page + 1)))
    return row


def page_line(tr: Translator, page: kb.Page[Any]) -> list[Markup]:
    return [tr("act.list.page", page=page.page + 1, pages=page.pages)] if page.pages > 1 else []


def refusal_text(tr: Translator, refusal: Refusal) -> Markup:
    """The refusal in the reader's words (the activity and status it carries are for re-showing)."""
    values = {k: v for k, v in refusal.values.items() if k not in ("activity", "status")}
    return tr(refusal.key, **values)


async def tell_refusal(update: Update, context: Ctx, refusal: Refusal, *, alert: bool = True) -> None:
    """A refusal as the answer of a press (an alert) or as a message."""
    tr = await translator(update, context)
    if update.callback_query is not None:
        await answer(update, str(refusal_text(tr, refusal)), alert=alert)
    else:
        await reply(update, refusal_text(tr, refusal))


def number(text: str) -> int | None:
    """A non-negative number typed with ASCII digits (``²`` is not one), or None."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


async def refuse_non_member(update: Update, context: Ctx) -> bool:
    """For a member command: True for an active member; otherwise say what to do (an unregistered
    person is pointed to /start, a pending one told the request is being reviewed) and False."""
    who = await actor(update, context)
    if who.member_id is not None and who.is_member:
        return True
    key = {None: "act.r.not_registered", "pending": "act.r.pending_not_member"}.get(
        who.member_status, "act.r.not_member"
    )
    await refuse(update, context, key)
    return False


async def private_chat(update: Update, context: Ctx) -> bool:
    """Whether the press came from a private chat; otherwise answer so (an alert) and do nothing.

    Commands in groups are answered by handlers/chatpolicy.py; this covers buttons pressed on a
    message in a group, so nothing personal or administrative is ever posted there.
    """
    chat = update.effective_chat
    if chat is None or chat.type == chat.PRIVATE:
        return True
    tr = await translator(update, context)
    await answer(update, str(tr("chat.private_only")), alert=True)
    return False
