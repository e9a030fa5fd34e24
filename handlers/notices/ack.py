"""A member's "Got it" under a notice (and under its nudges).

The pressed message's button then says so, with the member's own acknowledgement time in the
configured zone ("✅ 已确认 12-03 15:41"); a second tap or an old button (a nudge's, say) shows
the stored state again, never a second time.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.context import Ctx
from bot.i18n import Translator
from bot.notices import callbacks as cb
from handlers import keyboards as kb
from handlers.base import answer, edit_markup, translator, with_retry_after
from handlers.buttons import press
from handlers.notices.status import schedule_live_refresh

log = logging.getLogger(__name__)


async def ack_pressed(update: Update, context: Ctx) -> None:
    pressed = press(update, cb.ACK)
    tr = await translator(update, context)
    user = update.effective_user
    if pressed is None or user is None:
        await answer(update, str(tr("notice.ack.refused")), alert=True)
        return
    notice_id = pressed.num("id")
    result, at = await context.services.notices.ack(user.id, notice_id)
    if result == "not_recipient":
        await answer(update, str(tr("notice.ack.refused")), alert=True)
        return
    await answer(update, str(tr(f"notice.ack.{'ok' if result == 'ok' else 'already'}")))
    query = update.callback_query
    if at is not None and query is not None and isinstance(query.message, Message):
        when = at.astimezone(context.services.notices.zone).strftime("%m-%d %H:%M")
        markup = _done_markup(tr, when, notice_id)
        message = query.message
        if message.reply_markup != markup:
            try:
                await with_retry_after(lambda: edit_markup(message, markup))
            except BadRequest as exc:  # already shows it (a double tap), or the message is gone
                log.debug("ack button of notice %s not updated: %s", notice_id, exc.message)
    if result == "ok":
        schedule_live_refresh(context, notice_id)


# A storm's presses of one minute show the same button: built once (PTB objects are immutable).
_DONE_MARKUPS: dict[tuple[str, str, int], InlineKeyboardMarkup] = {}


def _done_markup(tr: Translator, when: str, notice_id: int) -> InlineKeyboardMarkup:
    key = (tr.lang, when, notice_id)
    markup = _DONE_MARKUPS.get(key)
    if markup is None:
        if len(_DONE_MARKUPS) >= 256:
            _DONE_MARKUPS.clear()
        # The same data: a later tap answers from the stored state again.
        markup = kb.inline([[kb.button(tr("notice.ack.done_button", when=when), cb.ACK.data(id=notice_id))]])
        _DONE_MARKUPS[key] = markup
    return markup
