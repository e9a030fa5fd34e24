"""/summary: the period summary (工作总结) of the caller's scope as a PDF document and an editable .docx."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode

from bot.context import Ctx
from bot.i18n import Translator
from bot.ledger import reports
from bot.ledger.callbacks import SUMMARY
from bot.ledger.periods import Period
from bot.roles import Actor
from handlers.base import answer, reply, send_direct, translator
from handlers.ledger.shared import coordinator, period_keyboard, period_press
from handlers.ledger.stats import typed_period


async def summary_command(update: Update, context: Ctx) -> None:
    who = await coordinator(update, context)
    if who is None:
        return
    tr = await translator(update, context)
    ledger = context.services.ledger
    if context.args:
        period = await typed_period(update, context, tr)
        if period is not None:
            await send_summary(update, context, who, period, tr)
        return
    await reply(update, tr("ledger.summary.choose"),
                period_keyboard(tr, SUMMARY, None, ledger.this_month(), ledger.this_year()))


async def summary_button(update: Update, context: Ctx) -> None:
    found = await period_press(update, context, SUMMARY)
    if found is None:
        return
    who, period = found
    tr = await translator(update, context)
    await answer(update, str(tr("ledger.summary.working")))
    await send_summary(update, context, who, period, tr)


async def send_summary(update: Update, context: Ctx, who: Actor, period: Period, tr: Translator) -> None:
    if update.effective_chat is None:
        return
    pdf, docx = await context.services.ledger.summary_documents(who, period, reports.plain(tr))
    chat_id, caption = update.effective_chat.id, str(tr("ledger.summary.caption", period=period.label))
    await send_direct(
        update, context,
        lambda: context.bot.send_document(chat_id, document=pdf, filename=f"summary-{period.code}.pdf",
                                          caption=caption, parse_mode=ParseMode.HTML),
        what="ledger summary",
    )
    if docx is not None:  # the same summary for the office to edit
        await send_direct(
            update, context,
            lambda: context.bot.send_document(chat_id, document=docx, filename=f"summary-{period.code}.docx"),
            what="ledger summary (docx)",
        )
