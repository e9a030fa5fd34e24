"""Pieces every ledger screen shares: who may see the ledger, the period keyboard, long texts."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.callbacks import Button
from bot.context import Ctx
from bot.errors import Refusal
from bot.i18n import Markup, Translator
from bot.ledger.callbacks import CHARTS, CUSTOM_PERIOD, SUMMARY
from bot.ledger.periods import Period, period_from_code
from bot.roles import Actor
from handlers import keyboards as kb
from handlers.base import actor, answer, refuse
from handlers.buttons import press

MAX_LIST_LINES = 30


async def coordinator(update: Update, context: Ctx) -> Actor | None:
    """The caller when they may read the ledger (a coordinator with a scope), else None after refusing.

    Ledger data is personal data: a press on a message outside the private chat is refused too.
    """
    chat = update.effective_chat
    if update.callback_query is not None and (chat is None or chat.type != chat.PRIVATE):
        await refuse(update, context, "chat.private_only")
        return None
    who = await actor(update, context)
    if not who.is_coordinator or who.scope.empty:
        await refuse(update, context)
        return None
    return who


def period_keyboard(
    tr: Translator, mode: Button, current: Period | None, month: Period, year: Period
) -> InlineKeyboardMarkup:
    """This month / this year / custom period for `mode` (stats or summary); charts and PDF under stats."""
    custom = CUSTOM_PERIOD.data(mode="y" if mode is SUMMARY else "s")
    rows = [
        [
            kb.button(str(tr("ledger.period.month")), mode.data(period=month.code)),
            kb.button(str(tr("ledger.period.year")), mode.data(period=year.code)),
            kb.button(str(tr("ledger.period.custom")), custom),
        ]
    ]
    if mode is not SUMMARY and current is not None:
        rows.append([
            kb.button(str(tr("ledger.stats.charts")), CHARTS.data(period=current.code)),
            kb.button(str(tr("ledger.stats.summary")), SUMMARY.data(period=current.code)),
        ])
    return kb.inline(rows)


def join_within(lines: list[str], limit: int = 4000) -> str:
    """Join whole lines up to Telegram's limit (never cutting a tag or an entity in half)."""
    out: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > limit:
            out.append("…")
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


def capped(items: list[Markup], more_key: str, tr: Translator) -> list[Markup]:
    if len(items) <= MAX_LIST_LINES:
        return items
    return [*items[:MAX_LIST_LINES], tr(more_key, count=len(items) - MAX_LIST_LINES)]


async def period_press(update: Update, context: Ctx, button: Button) -> tuple[Actor, Period] | None:
    """A coordinator's press of a period button: the caller and the period.

    None once the press is refused (not a coordinator) or answered (an impossible period).
    """
    pressed = press(update, button)
    who = await coordinator(update, context)
    if who is None:
        return None  # refused (the callback is answered with the refusal)
    try:
        period = period_from_code(pressed.text("period"), context.services.ledger.zone) if pressed else None
    except Refusal:
        period = None
    if period is None:
        await answer(update)
        return None
    return who, period
