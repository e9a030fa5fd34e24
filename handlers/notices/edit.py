"""Editing a scheduled or recurring notice from its status view: its text, its time (or repeat
rule) — a guided flow of its own — and its audience (an entry into the /notice flow's audience
screens, applied when the audience is complete)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ConversationHandler, MessageHandler, filters

from bot.callbacks import Button
from bot.context import Ctx, LiaisonApp
from bot.errors import Refusal
from bot.i18n import Translator
from bot.notices import NoticeRow
from bot.notices import callbacks as cb
from bot.notices.timing import parse_repeat
from bot.roles import AccessDenied, Actor
from handlers import common
from handlers.base import answer, edit_or_reply, refuse, reply, translator
from handlers.buttons import on, press
from handlers.flows import guided
from handlers.notices.common import (
    AUDIENCE,
    COMPOSE,
    DRAFT,
    EDIT_TEXT,
    EDIT_WHEN,
    EDITED,
    EDITING,
    RETARGET,
    ask_when_text,
    coordinator,
    local,
    read_moment,
)

LATER = ("scheduled", "recurring")  # what can still be edited


async def _editing(
    update: Update, context: Ctx, button: Button, *, remember: bool = True
) -> tuple[Translator, NoticeRow] | None:
    """The scheduled notice a button names, if the caller may edit it."""
    who = await coordinator(update, context)
    if who is None:
        return None
    pressed = press(update, button)
    tr = await translator(update, context)
    try:
        if pressed is None:
            raise Refusal("notice.error.not_found")
        row = await context.services.notices.get_for(who, pressed.num("id"))
    except Refusal as exc:
        await answer(update, str(tr(exc.key, **exc.values)), alert=True)
        return None
    except AccessDenied:
        await refuse(update, context)
        return None
    await answer(update)
    if remember and context.user_data is not None:
        context.user_data[EDITED] = row.id
    return tr, row


async def edit_start(update: Update, context: Ctx) -> int:
    editing = await _editing(update, context, cb.EDIT_TEXT)
    if editing is None:
        return ConversationHandler.END
    tr, _ = editing
    await EDITING.enter(update, context, EDIT_TEXT)
    await edit_or_reply(update, tr("notice.edit.ask"))
    return EDIT_TEXT


async def edit_when_start(update: Update, context: Ctx) -> int:
    editing = await _editing(update, context, cb.EDIT_TIME)
    if editing is None:
        return ConversationHandler.END
    tr, row = editing
    if row.status not in LATER:
        await edit_or_reply(update, tr("notice.edit.too_late"))
        return ConversationHandler.END
    await EDITING.enter(update, context, EDIT_WHEN)
    if row.status == "scheduled":
        await edit_or_reply(update, ask_when_text(context, tr))
    else:
        await edit_or_reply(update, tr("notice.ask_repeat"))
    return EDIT_WHEN


async def _edit_target(update: Update, context: Ctx) -> tuple[Actor, Translator, int] | None:
    """Caller, translator and the notice being edited (None: not a coordinator, or nothing being edited)."""
    who = await coordinator(update, context)
    if who is None:
        return None
    tr = await translator(update, context)
    notice_id = context.user_data.get(EDITED) if context.user_data is not None else None
    if not isinstance(notice_id, int):
        await reply(update, tr("common.stale_button"))
        return None
    return who, tr, notice_id


async def edit_when(update: Update, context: Ctx) -> int:
    """The new time of a scheduled notice, or the new rule of a recurring one."""
    target = await _edit_target(update, context)
    if target is None:
        return ConversationHandler.END
    who, tr, notice_id = target
    message = update.effective_message
    text = message.text or "" if message is not None else ""
    notices = context.services.notices
    try:
        row = await notices.get_for(who, notice_id)
        if row.status == "recurring":
            parsed = parse_repeat(text, notices.zone, notices.clock.now())
            if parsed is None:
                await reply(update, tr("notice.bad_repeat"))
                return EDIT_WHEN
            due = await notices.change_repeat(who, notice_id, *parsed)
            await reply(update, tr("notice.edit.repeat_changed", id=notice_id, when=local(context, due),
                                   until=local(context, parsed[1])))
        else:
            moment = read_moment(context, tr, text)
            if isinstance(moment, Refusal):
                await reply(update, tr(moment.key, **moment.values))
                return EDIT_WHEN
            due = await notices.move(who, notice_id, moment)
            await reply(update, tr("notice.edit.moved", id=notice_id, when=local(context, due)))
    except Refusal as exc:
        await reply(update, tr(exc.key, **exc.values))
        return ConversationHandler.END if exc.key == "notice.edit.too_late" else EDIT_WHEN
    except AccessDenied:
        await refuse(update, context)
        return ConversationHandler.END
    from handlers.notices.due import arm_alarm  # the exact alarm (the regular tick is the safety net)

    await arm_alarm(context.services, context.job_queue)
    return ConversationHandler.END


async def edit_text(update: Update, context: Ctx) -> int:
    target = await _edit_target(update, context)
    if target is None:
        return ConversationHandler.END
    who, tr, notice_id = target
    message = update.effective_message
    if message is None or not message.text:
        await reply(update, tr("notice.needs_text"))
        return EDIT_TEXT
    try:
        done = await context.services.notices.edit_text(who, notice_id, message.text_html)
    except Refusal as exc:
        await reply(update, tr(exc.key, **exc.values))
        return EDIT_TEXT
    except AccessDenied:
        await refuse(update, context)
        return ConversationHandler.END
    await reply(update, tr("notice.edit.done" if done else "notice.edit.too_late"))
    return ConversationHandler.END


@EDITING.asks(EDIT_TEXT, EDIT_WHEN)
async def _ask_edit_again(update: Update, context: Ctx, state: int) -> int:
    who = await coordinator(update, context)
    notice_id = context.user_data.get(EDITED) if context.user_data is not None else None
    if who is None or not isinstance(notice_id, int):
        return ConversationHandler.END
    tr = await translator(update, context)
    if state == EDIT_TEXT:
        await reply(update, tr("notice.edit.ask"))
        return EDIT_TEXT
    try:
        row = await context.services.notices.get_for(who, notice_id)
    except (Refusal, AccessDenied):
        await reply(update, tr("notice.error.not_found"))
        return ConversationHandler.END
    if row.status == "recurring":
        await reply(update, tr("notice.ask_repeat"))
    else:
        await reply(update, ask_when_text(context, tr))
    return EDIT_WHEN


def conversation(app: LiaisonApp) -> ConversationHandler[Ctx]:
    text = filters.ChatType.PRIVATE & common.COMMAND_FILTER & filters.TEXT & ~filters.COMMAND
    return guided(
        app, EDITING, title_key="flow.notice_edit",
        entry_points=[on(cb.EDIT_TEXT, edit_start), on(cb.EDIT_TIME, edit_when_start)],
        states={EDIT_TEXT: [MessageHandler(text, edit_text)], EDIT_WHEN: [MessageHandler(text, edit_when)]},
    )


# --- change the audience of a scheduled notice (an entry into the /notice flow) ---------------------------
async def retarget_start(update: Update, context: Ctx) -> int | None:
    """`nta:<id>` on a scheduled/recurring notice's view: choose its new audience with the very
    screens of composing; when the audience is complete it is applied (no preview).

    Pressed while a notice is being written, it does not drop that draft: it says so and stays.
    """
    draft = context.user_data.get(DRAFT) if context.user_data is not None else None
    if isinstance(draft, dict) and not isinstance(draft.get(RETARGET), int) and (
        draft.get("text") or draft.get("preset_activity") is not None
    ) and COMPOSE.current(context) is not None:
        tr = await translator(update, context)
        await answer(update, str(tr("notice.audience.busy")), alert=True)
        return None
    editing = await _editing(update, context, cb.CHANGE_AUDIENCE, remember=False)
    if editing is None:
        return ConversationHandler.END
    tr, row = editing
    if row.status not in LATER:
        await edit_or_reply(update, tr("notice.audience.too_late"))
        return ConversationHandler.END
    if context.user_data is not None:
        context.user_data[DRAFT] = {RETARGET: row.id}
    await COMPOSE.enter(update, context, AUDIENCE)
    from handlers.notices.audience import ask_audience  # audience imports the summary; no loop at import

    await ask_audience(update, context, tr, edit=True)
    return AUDIENCE
