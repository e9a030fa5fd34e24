"""Cancelling an activity: one tap asks first.

"取消活动" shows how many people will be told and offers to add a reason (typed, it goes into
their message); only "确认取消" cancels. The confirmation works from its button alone (the reason
typed before is kept in user_data until then), so a restart in between loses nothing.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import ConversationHandler, MessageHandler, filters

from bot.activities import MAX_TEXT
from bot.activities import callbacks as cb
from bot.context import Ctx, LiaisonApp
from bot.errors import Refusal
from bot.roles import AccessDenied
from handlers import common, steps
from handlers import keyboards as kb
from handlers.activities.common import clean, private_chat, tell_refusal, typed
from handlers.base import actor, answer, edit_or_reply, refuse, reply, translator
from handlers.buttons import on, press
from handlers.flows import guided

REASON = 50
PENDING = "act_cancel"
MAX_REASON = min(MAX_TEXT, 300)
CANCEL = steps.Flow("activity_cancel")


def _pending(context: Ctx) -> dict[str, Any]:
    data = context.user_data if context.user_data is not None else {}
    pending = data.setdefault(PENDING, {})
    assert isinstance(pending, dict)
    return pending


async def ask(update: Update, context: Ctx) -> int:
    """The press of 取消活动: who will be told, and the way to add a reason."""
    pressed = press(update, cb.CANCEL_ACTIVITY)
    if pressed is None or not await private_chat(update, context):
        return ConversationHandler.END
    try:
        await context.services.activities.cancel_preview(await actor(update, context), pressed.num("id"))
    except AccessDenied:
        await refuse(update, context)
        return ConversationHandler.END
    except Refusal as refusal:
        await tell_refusal(update, context, refusal)
        return ConversationHandler.END
    await answer(update)
    _pending(context).clear()
    _pending(context).update({"id": pressed.num("id"), "reason": ""})
    await CANCEL.enter(update, context, REASON)
    await _show_confirm(update, context)
    return REASON


async def _show_confirm(update: Update, context: Ctx) -> None:
    pending = _pending(context)
    tr = await translator(update, context)
    try:
        a, told = await context.services.activities.cancel_preview(await actor(update, context), int(pending["id"]))
    except (AccessDenied, Refusal, KeyError):
        await reply(update, tr("act.cancel.gone"))
        return
    lines = [tr("act.cancel.ask", title=a.title, count=told)]
    if pending.get("reason"):
        lines.append(tr("act.cancel.reason", reason=pending["reason"]))
    lines.append(tr("act.cancel.how", limit=MAX_REASON))
    buttons = kb.inline(
        [
            [kb.button(str(tr("act.btn.cancel_confirm", count=told)), cb.CANCEL_CONFIRM.data(id=a.id))],
            [kb.button(str(tr("act.btn.cancel_keep")), cb.CANCEL_KEEP.data(id=a.id))],
        ]
    )
    await reply(update, tr.join(lines), buttons)


async def got_reason(update: Update, context: Ctx) -> int:
    """A typed reason: kept for the confirmation (a too long one is refused with the limit)."""
    tr = await translator(update, context)
    reason = clean(typed(update), MAX_REASON)
    if reason is None:
        await reply(update, tr("act.new.bad_text", limit=MAX_REASON))
        return REASON
    _pending(context)["reason"] = reason
    await CANCEL.enter(update, context, REASON)
    await _show_confirm(update, context)
    return REASON


async def confirm(update: Update, context: Ctx) -> int:
    pressed = press(update, cb.CANCEL_CONFIRM)
    if pressed is None or not await private_chat(update, context):
        return ConversationHandler.END
    tr = await translator(update, context)
    pending = _pending(context)
    reason = str(pending.get("reason") or "") if pending.get("id") == pressed.num("id") else ""
    try:
        result = await context.services.activities.cancel_activity(
            await actor(update, context), pressed.num("id"), reason
        )
    except AccessDenied:
        await refuse(update, context)
        return ConversationHandler.END
    except Refusal as refusal:
        await tell_refusal(update, context, refusal)
        return ConversationHandler.END
    pending.clear()
    await answer(update, str(tr(f"act.r.{result.code}")))
    assert result.activity is not None
    await edit_or_reply(update, tr("act.manage.cancelled", title=result.activity.title, told=result.extra["told"]))
    return ConversationHandler.END


async def keep(update: Update, context: Ctx) -> int:
    if press(update, cb.CANCEL_KEEP) is None:
        return ConversationHandler.END
    tr = await translator(update, context)
    _pending(context).clear()
    await answer(update)
    await edit_or_reply(update, tr("act.cancel.kept"))
    return ConversationHandler.END


@CANCEL.asks(REASON)
async def _ask_again(update: Update, context: Ctx, state: int) -> int:
    if not (await actor(update, context)).is_coordinator or not _pending(context).get("id"):
        await refuse(update, context)
        return ConversationHandler.END
    await _show_confirm(update, context)
    return REASON


def register(app: LiaisonApp) -> None:
    text = filters.TEXT & ~filters.COMMAND & common.COMMAND_FILTER
    app.add_handler(
        guided(
            app,
            CANCEL,
            title_key="flow.activity_cancel",
            entry_points=[on(cb.CANCEL_ACTIVITY, ask)],
            states={
                REASON: [MessageHandler(text, got_reason), on(cb.CANCEL_CONFIRM, confirm), on(cb.CANCEL_KEEP, keep)]
            },
        )
    )
    # The confirmation works from its button alone too (after the flow ended, e.g. another command).
    app.add_handler(on(cb.CANCEL_CONFIRM, confirm))
    app.add_handler(on(cb.CANCEL_KEEP, keep))
