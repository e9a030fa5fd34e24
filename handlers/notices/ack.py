"""A member's "Got it" under a notice (and under its nudges)."""

from __future__ import annotations

from telegram import Update

from bot.context import Ctx
from bot.notices import callbacks as cb
from handlers.base import answer, translator
from handlers.buttons import press
from handlers.notices.status import schedule_live_refresh


async def ack_pressed(update: Update, context: Ctx) -> None:
    pressed = press(update, cb.ACK)
    tr = await translator(update, context)
    user = update.effective_user
    if pressed is None or user is None:
        await answer(update, str(tr("notice.ack.refused")), alert=True)
        return
    notice_id = pressed.num("id")
    result = await context.services.notices.ack(user.id, notice_id)
    if result == "not_recipient":
        await answer(update, str(tr("notice.ack.refused")), alert=True)
    else:
        await answer(update, str(tr(f"notice.ack.{'ok' if result == 'ok' else 'already'}")))
        if result == "ok":
            schedule_live_refresh(context, notice_id)
