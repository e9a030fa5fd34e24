"""/checkin (and the Check-in button of a reminder): a member types the activity's code."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters

from bot.activities import callbacks as cb
from bot.context import Ctx, LiaisonApp
from bot.errors import Refusal
from handlers import common, steps
from handlers.activities.common import private_chat, refuse_non_member, tell_refusal
from handlers.base import actor, answer, reply, translator
from handlers.buttons import on
from handlers.flows import guided

CHECKIN_CODE = 20
CHECKIN = steps.Flow("activity_checkin")


async def checkin_command(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    if not await refuse_non_member(update, context):
        return ConversationHandler.END
    if context.args:
        await _do_checkin(update, context, context.args[0])
        return ConversationHandler.END
    await CHECKIN.enter(update, context, CHECKIN_CODE)
    await reply(update, tr("act.checkin.ask"))
    return CHECKIN_CODE


async def checkin_button(update: Update, context: Ctx) -> int:
    if not await private_chat(update, context):
        return ConversationHandler.END
    tr = await translator(update, context)
    await answer(update)
    await CHECKIN.enter(update, context, CHECKIN_CODE)
    await reply(update, tr("act.checkin.ask"))
    return CHECKIN_CODE


@CHECKIN.asks(CHECKIN_CODE)
async def _ask_again(update: Update, context: Ctx, state: int) -> int:
    tr = await translator(update, context)
    await reply(update, tr("act.checkin.ask"))
    return CHECKIN_CODE


async def checkin_text(update: Update, context: Ctx) -> int:
    await _do_checkin(update, context, (update.message.text or "") if update.message else "")
    return ConversationHandler.END


async def _do_checkin(update: Update, context: Ctx, code: str) -> None:
    tr = await translator(update, context)
    who = await actor(update, context)
    try:
        result = await context.services.activities.check_in(who.user_id, who.member_id, code[:20])
    except Refusal as refusal:
        await tell_refusal(update, context, refusal)
        return
    title = result.activity.title if result.activity else ""
    await reply(update, tr(f"act.r.{result.code}", title=title))


def register(app: LiaisonApp) -> None:
    text = filters.TEXT & ~filters.COMMAND & common.COMMAND_FILTER
    app.add_handler(
        guided(
            app,
            CHECKIN,
            title_key="flow.activity_checkin",
            entry_points=[
                CommandHandler("checkin", checkin_command, filters=common.COMMAND_FILTER),
                on(cb.CHECK_IN, checkin_button),
            ],
            states={CHECKIN_CODE: [MessageHandler(text, checkin_text)]},
        )
    )
