"""The rating survey after an activity: ★ buttons (sent by the due work), then an optional comment."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters

from bot.activities import MAX_TEXT
from bot.activities import callbacks as cb
from bot.context import Ctx, LiaisonApp
from bot.errors import Refusal
from handlers import common, steps
from handlers.activities.common import clean, private_chat, tell_refusal
from handlers.base import actor, answer, edit_or_reply, reply, translator
from handlers.buttons import on, press
from handlers.flows import guided

SURVEY_COMMENT = 21
RATED = "act_rated"
RATING = steps.Flow("activity_survey")


async def rate_button(update: Update, context: Ctx) -> int:
    pressed = press(update, cb.RATE)
    if pressed is None or not await private_chat(update, context):
        return ConversationHandler.END
    tr = await translator(update, context)
    who = await actor(update, context)
    aid, stars = pressed.num("id"), pressed.num("stars")
    try:
        result = await context.services.activities.rate(who.user_id, who.member_id, aid, stars)
    except Refusal as refusal:
        await tell_refusal(update, context, refusal)
        return ConversationHandler.END
    await answer(update, str(tr(f"act.r.{result.code}")))
    if context.user_data is not None:
        context.user_data[RATED] = aid
    await RATING.enter(update, context, SURVEY_COMMENT)
    await edit_or_reply(update, tr("act.survey.thanks", rating=stars))
    return SURVEY_COMMENT


@RATING.asks(SURVEY_COMMENT)
async def _ask_again(update: Update, context: Ctx, state: int) -> int:
    tr = await translator(update, context)
    rated = context.user_data.get(RATED) if context.user_data is not None else None
    if rated is None:
        return ConversationHandler.END
    await reply(update, tr("act.survey.thanks", rating="★"))
    return SURVEY_COMMENT


async def survey_comment(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    who = await actor(update, context)
    text = clean(update.message.text if update.message else None, MAX_TEXT)
    aid = context.user_data.pop(RATED, None) if context.user_data is not None else None
    if text is None or aid is None or who.member_id is None:
        await reply(update, tr("act.new.bad_text", limit=MAX_TEXT))
        return ConversationHandler.END
    await context.services.activities.comment(who.member_id, int(aid), text)
    await reply(update, tr("act.survey.comment_saved"))
    return ConversationHandler.END


async def survey_skip(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    if context.user_data is not None:
        context.user_data.pop(RATED, None)
    await reply(update, tr("act.survey.comment_skipped"))
    return ConversationHandler.END


def register(app: LiaisonApp) -> None:
    text = filters.TEXT & ~filters.COMMAND & common.COMMAND_FILTER
    app.add_handler(
        guided(
            app,
            RATING,
            title_key="flow.activity_survey",
            entry_points=[on(cb.RATE, rate_button)],
            states={
                SURVEY_COMMENT: [
                    MessageHandler(text, survey_comment),
                    CommandHandler("skip", survey_skip, filters=common.COMMAND_FILTER),
                ]
            },
        )
    )
