"""A custom period, typed: a tiny guided flow started by the "Custom period" button."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ConversationHandler, MessageHandler, filters

from bot.context import Ctx, LiaisonApp
from bot.errors import Refusal
from bot.ledger.callbacks import CUSTOM_PERIOD
from bot.ledger.periods import parse_period
from handlers import common, flows, steps
from handlers.base import answer, reply, translator
from handlers.buttons import on, press
from handlers.ledger.shared import coordinator
from handlers.ledger.stats import send_stats
from handlers.ledger.summary import send_summary

TYPING_PERIOD = 1
MODE = "ledger_mode"  # user_data: "s" (statistics) or "y" (summary) for the typed period
FLOW = steps.Flow("ledger_period")


@FLOW.asks(TYPING_PERIOD)
async def ask_period(update: Update, context: Ctx, state: int) -> object:
    await reply(update, (await translator(update, context))("ledger.period.ask"))
    return state


async def custom_period(update: Update, context: Ctx) -> int:
    pressed = press(update, CUSTOM_PERIOD)
    who = await coordinator(update, context)
    if who is None or pressed is None:
        await answer(update)
        return ConversationHandler.END
    await answer(update)
    if context.user_data is not None:
        context.user_data[MODE] = pressed.text("mode")
    await ask_period(update, context, await FLOW.enter(update, context, TYPING_PERIOD))
    return TYPING_PERIOD


async def period_typed(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    message = update.effective_message
    try:
        period = parse_period(message.text if message and message.text else "", context.services.ledger.zone)
    except Refusal as refusal:
        await reply(update, tr(refusal.key, **refusal.values))
        return TYPING_PERIOD
    who = await coordinator(update, context)
    mode = context.user_data.pop(MODE, "s") if context.user_data is not None else "s"
    if who is None:
        return ConversationHandler.END
    if mode == "y":
        await send_summary(update, context, who, period, tr)
    else:
        await send_stats(update, context, who, period, tr)
    return ConversationHandler.END


def register(app: LiaisonApp) -> None:
    text_only = filters.TEXT & ~filters.COMMAND & common.COMMAND_FILTER
    app.add_handler(flows.guided(
        app, FLOW, title_key="flow.ledger_period",
        entry_points=[on(CUSTOM_PERIOD, custom_period)],
        states={TYPING_PERIOD: [MessageHandler(text_only, period_typed)]},
    ))
