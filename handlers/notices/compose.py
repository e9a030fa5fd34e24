"""/notice: write the notice, choose its audience (handlers/notices/audience.py), then send it now,
or type a time or a repeat rule, check the summary and schedule it.

The draft lives in `user_data` (persisted) and every screen is rendered from it; the caller's
role is re-checked on every step. The flow is a guided flow (handlers/flows.py): any other
command closes it and keeps the draft.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from telegram import Message, Update
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters

from bot.context import Ctx, LiaisonApp
from bot.errors import Refusal
from bot.i18n import Translator
from bot.notices import Created, Draft
from bot.notices import callbacks as cb
from bot.notices.service import MAX_CAPTION, MAX_TEXT
from bot.notices.timing import parse_repeat, parse_when
from bot.roles import AccessDenied, Actor
from bot.text import utf16_len
from handlers import common
from handlers import keyboards as kb
from handlers.base import answer, edit_or_reply, refuse, reply, translator
from handlers.buttons import on, press
from handlers.flows import guided
from handlers.notices import audience
from handlers.notices.common import (
    AUDIENCE,
    COMPOSE,
    CONFIRM,
    DRAFT,
    PICK,
    PICK_ACTIVITY,
    PICK_QUESTIONNAIRE,
    PICK_STATUS,
    PREVIEW,
    REPEAT,
    WHEN,
    WRITE,
    ask_when_text,
    clear,
    coordinator,
    draft_of,
    local,
    quick_time_buttons,
    read_moment,
    segment_of,
)
from handlers.notices.edit import retarget_start
from handlers.notices.summary import preview, summary

OPTION_KEYS = {"groups": "post_groups", "nudge": "nudge", "urgent": "urgent", "paid": "paid"}


async def notice_start(update: Update, context: Ctx) -> int:
    if await coordinator(update, context) is None:
        return ConversationHandler.END
    if context.user_data is not None:
        context.user_data[DRAFT] = {}
    tr = await translator(update, context)
    await COMPOSE.enter(update, context, WRITE)
    await reply(update, tr("notice.ask_text"))
    return WRITE


async def got_content(update: Update, context: Ctx) -> int:
    who = await coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    message = update.effective_message
    tr = await translator(update, context)
    if message is None:
        return WRITE
    draft = draft_of(context)
    if message.photo:
        draft["attachment"] = {"type": "photo", "file_id": message.photo[-1].file_id}
        draft["text"] = message.caption_html or ""
        plain, limit = message.caption or "", MAX_CAPTION
    elif message.document:
        draft["attachment"] = {"type": "document", "file_id": message.document.file_id}
        draft["text"] = message.caption_html or ""
        plain, limit = message.caption or "", MAX_CAPTION
    elif message.text:
        draft.pop("attachment", None)
        draft["text"] = message.text_html
        plain, limit = message.text, MAX_TEXT
    else:
        await reply(update, tr("notice.needs_text"))
        return WRITE
    if utf16_len(plain) > limit or len(draft["text"]) > limit + 500:  # Telegram's units
        await reply(update, tr("notice.error.too_long", limit=limit))
        return WRITE
    if not plain.strip() and "attachment" not in draft:
        await reply(update, tr("notice.error.empty"))
        return WRITE
    preset = draft.get("preset_activity")
    if isinstance(preset, int):  # started from an activity's "Notify participants" button
        try:
            choice = await context.services.notices.audiences.activity(who, preset)
        except AccessDenied:
            draft.pop("preset_activity", None)
        else:
            return await audience.show_statuses(update, context, who, tr, choice)
    await COMPOSE.enter(update, context, AUDIENCE)
    await audience.ask_audience(update, context, tr)
    return AUDIENCE


async def notice_for_activity(update: Update, context: Ctx) -> int:
    """Entry from an activity's management view: /notice with its participants preselected."""
    who, choice = await audience.activity_pressed(update, context, cb.NOTIFY_PARTICIPANTS)
    if who is None or choice is None:
        return ConversationHandler.END
    await answer(update)
    if context.user_data is not None:
        context.user_data[DRAFT] = {"preset_activity": choice.id}
    tr = await translator(update, context)
    await COMPOSE.enter(update, context, WRITE)
    await reply(update, tr("notice.ask_text_for_activity", title=choice.title))
    return WRITE


async def not_content(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    await reply(update, tr("notice.needs_text"))
    return WRITE


async def option_toggled(update: Update, context: Ctx) -> int:
    who = await coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    pressed = press(update, cb.OPTION)
    await answer(update)
    if pressed is None:
        return PREVIEW
    draft = draft_of(context)
    key = OPTION_KEYS[pressed.text("name")]
    draft[key] = not draft.get(key)
    return await preview(update, context, who, resend=False)


def make_draft(draft: dict[str, Any], **extra: Any) -> Draft:
    return Draft(
        text=str(draft.get("text", "")),
        segment=segment_of(draft),
        attachment=draft.get("attachment"),
        post_to_groups=bool(draft.get("post_groups")),
        paid=bool(draft.get("paid")),
        urgent=bool(draft.get("urgent")),
        nudge_after_h=24 if draft.get("nudge") else None,
        **extra,
    )


async def send_now(update: Update, context: Ctx) -> int:
    who = await coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    await answer(update)
    tr = await translator(update, context)
    draft = draft_of(context)
    services = context.services
    count = await services.notices.count(who, segment_of(draft))
    if count == 0:
        await reply(update, tr("notice.no_recipients"))
        return PREVIEW
    query = update.callback_query
    status = query.message if query is not None and isinstance(query.message, Message) else None
    if status is None:
        return PREVIEW
    await edit_or_reply(update, tr("notice.sending", total=count))
    try:
        await services.notices.create(who, make_draft(draft), tr.lang, progress=(status.chat_id, status.message_id))
    except Refusal as exc:
        await reply(update, tr(exc.key, **exc.values))
        return PREVIEW
    except AccessDenied:
        await refuse(update, context)
        return ConversationHandler.END
    clear(context)
    return ConversationHandler.END


async def ask_when(update: Update, context: Ctx) -> int:
    if await coordinator(update, context) is None:
        return ConversationHandler.END
    await answer(update)
    tr = await translator(update, context)
    await COMPOSE.enter(update, context, WHEN)
    await edit_or_reply(update, ask_when_text(context, tr), quick_time_buttons(context, tr))
    return WHEN


async def ask_repeat(update: Update, context: Ctx) -> int:
    if await coordinator(update, context) is None:
        return ConversationHandler.END
    await answer(update)
    tr = await translator(update, context)
    await COMPOSE.enter(update, context, REPEAT)
    await edit_or_reply(update, tr("notice.ask_repeat"))
    return REPEAT


def _timed(context: Ctx, draft: dict[str, Any]) -> Draft | None:
    """The draft with the time or repeat rule typed for it (stored as typed), or None."""
    zone = context.services.notices.zone
    if isinstance(draft.get("at_utc"), str):  # the moment read when it was typed
        return make_draft(draft, at=datetime.fromisoformat(draft["at_utc"]))
    if isinstance(draft.get("at"), str):  # a draft from before the date reader: the typed text
        moment = parse_when(draft["at"], zone)
        return None if moment is None else make_draft(draft, at=moment)
    if isinstance(draft.get("repeat"), str):
        parsed = parse_repeat(draft["repeat"], zone, context.services.notices.clock.now())
        return None if parsed is None else make_draft(draft, recurrence=parsed[0], until=parsed[1])
    return None


async def _show_summary(update: Update, context: Ctx, who: Actor, tr: Translator, state: int) -> int:
    """Every choice that will take effect, with the moment it first goes out; then Schedule."""
    draft = draft_of(context)
    timed = _timed(context, draft)
    if timed is None:
        return state
    notices = context.services.notices
    try:
        _, due = notices.planned(timed)
        count = await notices.count(who, timed.segment)
    except Refusal as exc:
        await reply(update, tr(exc.key, **exc.values))
        return state
    except AccessDenied:
        await refuse(update, context)
        return ConversationHandler.END
    if timed.recurrence is not None:
        when = tr("notice.summary.repeat", rule=str(draft.get("repeat", "")), when=local(context, due),
                  until=local(context, timed.until))
    else:
        when = tr("notice.summary.when", when=local(context, due))
    keyboard = kb.inline([[kb.button(tr("notice.btn.confirm_schedule"), cb.CONFIRM_SCHEDULE.data())],
                          [kb.button(tr("notice.btn.cancel"), cb.COMPOSE_CANCEL.data())]])
    await COMPOSE.enter(update, context, CONFIRM)
    await reply(update, tr.join([await summary(context, tr, draft, count), when]), keyboard)
    return CONFIRM


async def _got_time(update: Update, context: Ctx, state: int) -> int:
    """A typed time (WHEN) or repeat rule (REPEAT): kept in the draft as typed, then the summary."""
    who = await coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    message = update.effective_message
    tr = await translator(update, context)
    text = " ".join(((message.text or "") if message else "").split())
    draft = draft_of(context)
    if state == WHEN:
        moment = read_moment(context, tr, text)
        if isinstance(moment, Refusal):  # one wording for "I can't read that time", with an example
            await reply(update, tr(moment.key, **moment.values))
            return state
        draft.pop("repeat", None)
        draft.pop("at", None)
        draft["at_utc"] = moment.isoformat()
    else:
        notices = context.services.notices
        if parse_repeat(text, notices.zone, notices.clock.now()) is None:
            await reply(update, tr("notice.bad_repeat"))
            return state
        draft.pop("at", None)
        draft.pop("at_utc", None)
        draft["repeat"] = text
    return await _show_summary(update, context, who, tr, state)


async def got_quick_time(update: Update, context: Ctx) -> int:
    """A suggested time pressed instead of typing one."""
    who = await coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    pressed = press(update, cb.QUICK_TIME)
    await answer(update)
    if pressed is None:
        return WHEN
    tr = await translator(update, context)
    draft = draft_of(context)
    draft.pop("repeat", None)
    draft.pop("at", None)
    try:
        moment = datetime.fromtimestamp(pressed.num("at") * 60, UTC)
    except (OverflowError, OSError, ValueError):  # forged: no such moment
        return WHEN
    draft["at_utc"] = moment.isoformat()  # a past one is refused by the summary, like a typed one
    return await _show_summary(update, context, who, tr, WHEN)


async def got_when(update: Update, context: Ctx) -> int:
    return await _got_time(update, context, WHEN)


async def got_repeat(update: Update, context: Ctx) -> int:
    return await _got_time(update, context, REPEAT)


async def confirm_schedule(update: Update, context: Ctx) -> int:
    who = await coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    await answer(update)
    tr = await translator(update, context)
    timed = _timed(context, draft_of(context))
    if timed is None:
        await COMPOSE.enter(update, context, PREVIEW)
        return await preview(update, context, who, resend=False)
    state = REPEAT if timed.recurrence is not None else WHEN
    try:
        created: Created = await context.services.notices.create(who, timed, tr.lang)
    except Refusal as exc:
        await reply(update, tr(exc.key, **exc.values))
        await COMPOSE.enter(update, context, state)
        await reply(update, tr("notice.ask_repeat") if state == REPEAT else ask_when_text(context, tr))
        return state
    except AccessDenied:
        await refuse(update, context)
        return ConversationHandler.END
    clear(context)
    if timed.recurrence is not None:
        await reply(update, tr("notice.recurring", when=local(context, created.due_at),
                               until=local(context, timed.until)))
    else:
        await reply(update, tr("notice.scheduled", when=local(context, created.due_at), count=created.recipients))
    if created.due_at is not None:
        from handlers.notices.due import arm_alarm  # the exact alarm (the regular tick is the safety net)

        await arm_alarm(context.services, context.job_queue)
    return ConversationHandler.END


async def cancel_button(update: Update, context: Ctx) -> int:
    await answer(update)
    tr = await translator(update, context)
    clear(context)
    await edit_or_reply(update, tr("common.cancelled"))
    return ConversationHandler.END


# --- asking a step again after an interrupted one (handlers/steps.py) ------------------------------------
@COMPOSE.asks(WRITE)
async def _ask_write(update: Update, context: Ctx, state: int) -> int:
    tr = await translator(update, context)
    await reply(update, tr("notice.ask_text"))
    return WRITE


@COMPOSE.asks(AUDIENCE, PICK_STATUS)
async def _ask_audience_again(update: Update, context: Ctx, state: int) -> int:
    """The audience question (also for the status of an activity: its choice is not kept)."""
    if await coordinator(update, context) is None:
        return ConversationHandler.END
    await audience.ask_audience(update, context, await translator(update, context))
    return AUDIENCE


@COMPOSE.asks(PICK, PICK_ACTIVITY, PICK_QUESTIONNAIRE, PREVIEW, CONFIRM)
async def _show_again(update: Update, context: Ctx, state: int) -> int:
    who = await coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    tr = await translator(update, context)
    if state == PICK:
        return await audience.show_picker(update, context, who, tr)
    if state == PICK_ACTIVITY:
        return await audience.show_activities(update, context, who, tr, 0)
    if state == PICK_QUESTIONNAIRE:
        return await audience.show_questionnaires(update, context, who, tr, 0)
    if state == CONFIRM:
        shown = await _show_summary(update, context, who, tr, CONFIRM)
        if shown == CONFIRM:
            return CONFIRM
    return await preview(update, context, who, resend=False)


@COMPOSE.asks(WHEN, REPEAT)
async def _ask_time_again(update: Update, context: Ctx, state: int) -> int:
    tr = await translator(update, context)
    if state == WHEN:
        await reply(update, ask_when_text(context, tr), quick_time_buttons(context, tr))
    else:
        await reply(update, tr("notice.ask_repeat"))
    return state


def conversation(app: LiaisonApp) -> ConversationHandler[Ctx]:
    """/notice (and re-targeting a scheduled notice, which uses its audience screens).

    Conversations of guided flows allow re-entry: a Change-audience press mid-compose reaches
    `retarget_start`, which keeps a draft being written (see there).
    """
    private = filters.ChatType.PRIVATE & common.COMMAND_FILTER
    text = private & filters.TEXT & ~filters.COMMAND
    return guided(
        app, COMPOSE, title_key="flow.notice",
        entry_points=[CommandHandler("notice", notice_start, filters=common.COMMAND_FILTER),
                      on(cb.NOTIFY_PARTICIPANTS, notice_for_activity),
                      on(cb.CHANGE_AUDIENCE, retarget_start)],
        states={
            WRITE: [
                MessageHandler(private & (filters.TEXT | filters.PHOTO | filters.Document.ALL) & ~filters.COMMAND,
                               got_content),
                MessageHandler(private & ~filters.COMMAND, not_content),
            ],
            AUDIENCE: [on(cb.COMPOSE_AUDIENCE, audience.audience_chosen)],
            PICK: [
                on(cb.PICK_DONE, audience.pick_done),
                on(cb.PICK_GROUP, audience.pick_toggled),
                on(cb.PICK_CATEGORY, audience.pick_toggled),
            ],
            PICK_ACTIVITY: [
                on(cb.ACTIVITY_PAGE, audience.activity_page),
                on(cb.ACTIVITY_PICK, audience.activity_picked),
                on(cb.COMPOSE_BACK, audience.audience_back),
            ],
            PICK_STATUS: [
                on(cb.STATUS_PICK, audience.status_picked),
                on(cb.COMPOSE_BACK, audience.audience_back),
            ],
            PICK_QUESTIONNAIRE: [
                on(cb.QUESTIONNAIRE_PAGE, audience.questionnaire_page),
                on(cb.QUESTIONNAIRE_PICK, audience.questionnaire_picked),
                on(cb.COMPOSE_BACK, audience.audience_back),
            ],
            PREVIEW: [
                on(cb.SEND_NOW, send_now),
                on(cb.SEND_AT, ask_when),
                on(cb.REPEAT, ask_repeat),
                on(cb.OPTION, option_toggled),
            ],
            WHEN: [MessageHandler(text, got_when), on(cb.QUICK_TIME, got_quick_time)],
            REPEAT: [MessageHandler(text, got_repeat)],
            CONFIRM: [on(cb.CONFIRM_SCHEDULE, confirm_schedule)],
        },
        fallbacks=[on(cb.COMPOSE_CANCEL, cancel_button)],
    )

