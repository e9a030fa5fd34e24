"""/notice (compose and send), /notices (status, who has not, nudge, cancel, edit), the
"Got it" button, and tracking of the group chats the bot is in.

The conversation keeps its draft in `user_data` (persisted), re-checks the caller's role on
every step, and renders the preview with the very text and button members will get.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, RetryAfter
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.audiences import (
    ACTIVITY,
    PARTICIPANT_STATUSES,
    QUESTIONNAIRE,
    ActivityChoice,
    activity_segment,
    questionnaire_segment,
)
from bot.context import Ctx, LiaisonApp
from bot.i18n import Markup, Translator
from bot.notices import Created, Draft, NoticeError, NoticeRow, parse_repeat, parse_when
from bot.roles import AccessDenied, Actor, Role
from bot.segments import Segment
from handlers import common, steps
from handlers import keyboards as kb
from handlers.base import (
    actor,
    answer,
    edit_or_reply,
    pressed,
    refuse,
    reply,
    send_direct,
    translator,
    with_retry_after,
)
from handlers.delivery import TelegramTransport
from handlers.menu import CommandMenu

log = logging.getLogger(__name__)
_TAG = re.compile(r"<[^>]*>")

WRITE, AUDIENCE, PICK, PREVIEW, WHEN, REPEAT, PICK_ACTIVITY, PICK_STATUS, PICK_QUESTIONNAIRE = range(9)
EDIT_TEXT = 10
EDIT_WHEN = 11
DRAFT = "notice_draft"
RETARGET = "retarget"  # in a draft: the scheduled/recurring notice whose audience is being changed
PER_PAGE = 20
MAX_PICK = 40
CHOICES_PER_PAGE = 8
# participant status <-> its one-letter code in callback data
STATUS_CODES = {"confirmed": "c", "waitlisted": "w", "attended": "a"}
# Step journals (handlers/steps.py): a restart one step behind asks the current step again.
COMPOSE = steps.Flow("notice")
EDITING = steps.Flow("notice_edit")
TICK_S = 30.0  # safety net: the due work is also checked this often
ALARM_SLACK_S = 0.05  # fire just after the due moment, so the row is due when we look


def _draft(context: Ctx) -> dict[str, Any]:
    data = context.user_data if context.user_data is not None else {}
    draft = data.get(DRAFT)
    if not isinstance(draft, dict):
        draft = {}
        data[DRAFT] = draft
    return draft


def _segment(draft: dict[str, Any]) -> Segment:
    kind, ref = draft.get("kind"), draft.get("ref")
    if kind == ACTIVITY and isinstance(ref, int):
        return activity_segment(ref, str(draft.get("status", "")))
    if kind == QUESTIONNAIRE and isinstance(ref, int):
        return questionnaire_segment(ref)
    return Segment(
        everyone=bool(draft.get("everyone")),
        group_ids=tuple(int(g) for g in draft.get("groups", [])),
        categories=tuple(str(c) for c in draft.get("cats", [])),
    )


async def _coordinator(update: Update, context: Ctx) -> Actor | None:
    who = await actor(update, context)
    if not who.is_coordinator:
        await refuse(update, context)
        return None
    return who


# --- /notice conversation -------------------------------------------------------------------------
async def notice_start(update: Update, context: Ctx) -> int:
    if await _coordinator(update, context) is None:
        return ConversationHandler.END
    if context.user_data is not None:
        context.user_data[DRAFT] = {}
    tr = await translator(update, context)
    await COMPOSE.enter(update, context, WRITE)
    await reply(update, tr("notice.ask_text"))
    return WRITE


async def got_content(update: Update, context: Ctx) -> int:
    who = await _coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    message = update.effective_message
    tr = await translator(update, context)
    if message is None:
        return WRITE
    draft = _draft(context)
    if message.photo:
        draft["attachment"] = {"type": "photo", "file_id": message.photo[-1].file_id}
        draft["text"] = message.caption_html or ""
        plain = message.caption or ""
        limit = 1000
    elif message.document:
        draft["attachment"] = {"type": "document", "file_id": message.document.file_id}
        draft["text"] = message.caption_html or ""
        plain = message.caption or ""
        limit = 1000
    elif message.text:
        draft.pop("attachment", None)
        draft["text"] = message.text_html
        plain = message.text
        limit = 3500
    else:
        await reply(update, tr("notice.needs_text"))
        return WRITE
    if len(plain) > limit or len(draft["text"]) > limit + 500:
        await reply(update, tr("notice.error.too_long"))
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
            return await _show_statuses(update, context, who, tr, choice)
    await COMPOSE.enter(update, context, AUDIENCE)
    await _ask_audience(update, context, tr)
    return AUDIENCE


async def notice_for_activity(update: Update, context: Ctx) -> int:
    """Entry from an activity's management view: /notice with its participants preselected."""
    who, choice = await _activity_pressed(update, context)
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


async def _ask_audience(update: Update, context: Ctx, tr: Translator, *, edit: bool = False) -> None:
    """Who should receive it? (naming the notice when a scheduled one is being re-targeted)."""
    draft = (context.user_data or {}).get(DRAFT)
    retarget = draft.get(RETARGET) if isinstance(draft, dict) else None
    question = tr("notice.ask_audience_for", id=retarget) if isinstance(retarget, int) else tr("notice.ask_audience")
    keyboard = kb.inline([
        [kb.button(tr("notice.audience.everyone"), kb.cb("ntc", "a", "all"))],
        [kb.button(tr("notice.audience.groups"), kb.cb("ntc", "a", "groups")),
         kb.button(tr("notice.audience.categories"), kb.cb("ntc", "a", "cats"))],
        [kb.button(tr("notice.audience.activity"), kb.cb("ntc", "a", "act"))],
        [kb.button(tr("notice.audience.questionnaire"), kb.cb("ntc", "a", "svy"))],
        [kb.button(tr("notice.btn.cancel"), kb.cb("ntc", "x"))],
    ])
    if edit:
        await edit_or_reply(update, question, keyboard)
    else:
        await reply(update, question, keyboard)


def _reset_audience(draft: dict[str, Any]) -> None:
    draft["groups"], draft["cats"], draft["everyone"] = [], [], False
    for key in ("kind", "ref", "status", "preset_activity"):
        draft.pop(key, None)


async def audience_chosen(update: Update, context: Ctx) -> int:
    who = await _coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    parts = pressed(update, "ntc", 2)
    await answer(update)
    tr = await translator(update, context)
    draft = _draft(context)
    _reset_audience(draft)
    if parts == ["a", "all"]:
        draft["everyone"] = True
        return await _audience_done(update, context, who)
    if parts == ["a", "groups"]:
        draft["mode"] = "g"
        return await _show_picker(update, context, who, tr)
    if parts == ["a", "cats"]:
        draft["mode"] = "c"
        draft["cat_list"] = (await context.services.notices.categories(who))[:MAX_PICK]
        return await _show_picker(update, context, who, tr)
    if parts == ["a", "act"]:
        return await _show_activities(update, context, who, tr, 0)
    if parts == ["a", "svy"]:
        return await _show_questionnaires(update, context, who, tr, 0)
    return AUDIENCE


# --- audiences borrowed from activities and questionnaires ------------------------------------------------
def _nav(tr: Translator, action: str, page: int, total: int) -> list[Any]:
    pages = max(1, (total + CHOICES_PER_PAGE - 1) // CHOICES_PER_PAGE)
    row = []
    if page > 0:
        row.append(kb.button(tr("notice.btn.prev"), kb.cb("ntc", action, page - 1)))
    if page + 1 < pages:
        row.append(kb.button(tr("notice.btn.next"), kb.cb("ntc", action, page + 1)))
    return row


def _footer(tr: Translator) -> list[Any]:
    return [kb.button(tr("notice.btn.back"), kb.cb("ntc", "back")),
            kb.button(tr("notice.btn.cancel"), kb.cb("ntc", "x"))]


def _label(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def _show_activities(update: Update, context: Ctx, who: Actor, tr: Translator, page: int) -> int:
    notices = context.services.notices
    choices, total = await notices.audiences.activities(who, page, CHOICES_PER_PAGE)
    if total == 0:
        await edit_or_reply(update, tr("notice.no_activities"))
        await _ask_audience(update, context, tr)
        return AUDIENCE
    pages = max(1, (total + CHOICES_PER_PAGE - 1) // CHOICES_PER_PAGE)
    rows = [[kb.button(_label(f"{_local(context, c.starts_at)[:10]} {c.title}"), kb.cb("ntc", "ai", c.id))]
            for c in choices]
    rows += [_nav(tr, "ap", page, total), _footer(tr)]
    await COMPOSE.enter(update, context, PICK_ACTIVITY)
    await edit_or_reply(update, tr("notice.pick_activity", page=page + 1, pages=pages), kb.inline(rows))
    return PICK_ACTIVITY


async def _show_questionnaires(update: Update, context: Ctx, who: Actor, tr: Translator, page: int) -> int:
    notices = context.services.notices
    choices, total = await notices.audiences.questionnaires(who, page, CHOICES_PER_PAGE)
    if total == 0:
        await edit_or_reply(update, tr("notice.no_questionnaires"))
        await _ask_audience(update, context, tr)
        return AUDIENCE
    pages = max(1, (total + CHOICES_PER_PAGE - 1) // CHOICES_PER_PAGE)
    rows = [[kb.button(_label(c.title), kb.cb("ntc", "qi", c.id))] for c in choices]
    rows += [_nav(tr, "qp", page, total), _footer(tr)]
    await COMPOSE.enter(update, context, PICK_QUESTIONNAIRE)
    await edit_or_reply(update, tr("notice.pick_questionnaire", page=page + 1, pages=pages), kb.inline(rows))
    return PICK_QUESTIONNAIRE


def _numbers(update: Update, arity: int) -> list[int] | None:
    parts = pressed(update, "ntc", arity)
    if parts is None:
        return None
    numbers = [kb.parse_int(p) for p in parts[1:]]
    return None if any(n is None for n in numbers) else [n for n in numbers if n is not None]


Shower = Callable[[Update, Ctx, Actor, Translator, int], Awaitable[int]]


async def _unavailable(update: Update, context: Ctx) -> None:
    """A forged, stale or no-longer-allowed choice: say so politely and stay where we are."""
    tr = await translator(update, context)
    await answer(update, str(tr("notice.audience.unavailable")), alert=True)


async def _turn_page(update: Update, context: Ctx, state: int, show: Shower) -> int:
    """◀ ▶ of a picker (`ntc:<x>:<page>`): show that page, or stay on a forged press."""
    who = await _coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    numbers = _numbers(update, 2)
    if numbers is None:
        await _unavailable(update, context)
        return state
    await answer(update)
    return await show(update, context, who, await translator(update, context), numbers[0])


async def activity_page(update: Update, context: Ctx) -> int:
    return await _turn_page(update, context, PICK_ACTIVITY, _show_activities)


async def _activity_pressed(update: Update, context: Ctx) -> tuple[Actor | None, ActivityChoice | None]:
    """The coordinator and the activity an `ntc:<x>:<id>` button names: (None, None) when the caller
    is no coordinator, (who, None) when the id is forged or not theirs (already answered)."""
    who = await _coordinator(update, context)
    if who is None:
        return None, None
    numbers = _numbers(update, 2)
    try:
        if numbers is None:
            raise AccessDenied("forged")
        return who, await context.services.notices.audiences.activity(who, numbers[0])
    except AccessDenied:
        await _unavailable(update, context)
        return who, None


async def activity_picked(update: Update, context: Ctx) -> int:
    who, choice = await _activity_pressed(update, context)
    if who is None:
        return ConversationHandler.END
    if choice is None:
        return PICK_ACTIVITY
    await answer(update)
    return await _show_statuses(update, context, who, await translator(update, context), choice)


async def _show_statuses(update: Update, context: Ctx, who: Actor, tr: Translator, choice: ActivityChoice) -> int:
    rows = []
    for status in PARTICIPANT_STATUSES:
        count = await context.services.notices.count(who, activity_segment(choice.id, status))
        rows.append([kb.button(tr(f"notice.participants.{status}", count=count),
                               kb.cb("ntc", "as", choice.id, STATUS_CODES[status]))])
    rows.append(_footer(tr))
    await COMPOSE.enter(update, context, PICK_STATUS)
    await edit_or_reply(update, tr("notice.pick_status", title=choice.title), kb.inline(rows))
    return PICK_STATUS


async def status_picked(update: Update, context: Ctx) -> int:
    who = await _coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    parts = pressed(update, "ntc", 3)
    activity_id = kb.parse_int(parts[1]) if parts else None
    status = next((s for s, code in STATUS_CODES.items() if parts and code == parts[2]), None)
    try:
        if activity_id is None or status is None:
            raise AccessDenied("forged")
        await context.services.notices.audiences.activity(who, activity_id)
    except AccessDenied:
        await _unavailable(update, context)
        return PICK_STATUS
    await answer(update)
    draft = _draft(context)
    _reset_audience(draft)
    draft.update(kind=ACTIVITY, ref=activity_id, status=status)
    return await _audience_done(update, context, who)


async def questionnaire_page(update: Update, context: Ctx) -> int:
    return await _turn_page(update, context, PICK_QUESTIONNAIRE, _show_questionnaires)


async def questionnaire_picked(update: Update, context: Ctx) -> int:
    who = await _coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    numbers = _numbers(update, 2)
    segment = questionnaire_segment(numbers[0]) if numbers else None
    try:
        if segment is None:
            raise AccessDenied("forged")
        await context.services.notices.count(who, segment)  # checks the questionnaire is visible and open
    except AccessDenied:
        await _unavailable(update, context)
        return PICK_QUESTIONNAIRE
    await answer(update)
    draft = _draft(context)
    _reset_audience(draft)
    draft.update(kind=QUESTIONNAIRE, ref=segment.ref_id)
    return await _audience_done(update, context, who)


async def audience_back(update: Update, context: Ctx) -> int:
    if await _coordinator(update, context) is None:
        return ConversationHandler.END
    await answer(update)
    await _ask_audience(update, context, await translator(update, context), edit=True)
    return AUDIENCE


async def _options(context: Ctx, who: Actor) -> list[tuple[str, str]]:
    """(label, value) pairs of the current picker: groups in scope, or categories."""
    draft = _draft(context)
    if draft.get("mode") == "c":
        return [(c, str(i)) for i, c in enumerate(draft.get("cat_list", []))]
    groups = await context.services.notices.pickable_groups(who)
    return [(g.name, str(g.id)) for g in groups[:MAX_PICK]]


async def _show_picker(update: Update, context: Ctx, who: Actor, tr: Translator) -> int:
    draft = _draft(context)
    options = await _options(context, who)
    if not options:
        await edit_or_reply(update, tr("notice.nothing_to_pick"))
        await _ask_audience(update, context, tr)
        return AUDIENCE
    mode = draft.get("mode", "g")
    chosen = {str(g) for g in draft.get("groups", [])} if mode == "g" else {
        str(i) for i, c in enumerate(draft.get("cat_list", [])) if c in draft.get("cats", [])}
    buttons = [kb.button(("✅ " if value in chosen else "") + label[:40], kb.cb("ntc", mode, value))
               for label, value in options]
    rows = [*kb.columns(buttons), [kb.button(tr("notice.btn.done"), kb.cb("ntc", "done")),
                                   kb.button(tr("notice.btn.cancel"), kb.cb("ntc", "x"))]]
    key = "notice.pick_groups" if mode == "g" else "notice.pick_categories"
    await COMPOSE.enter(update, context, PICK)
    await edit_or_reply(update, tr(key), kb.inline(rows))
    return PICK


async def pick_toggled(update: Update, context: Ctx) -> int:
    who = await _coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    parts = pressed(update, "ntc", 2)
    tr = await translator(update, context)
    draft = _draft(context)
    if parts is None or parts[0] != draft.get("mode") or parts[1] not in {v for _, v in await _options(context, who)}:
        await answer(update, str(tr("common.stale_button")))
        return PICK
    await answer(update)
    if parts[0] == "g":
        groups = [int(g) for g in draft.get("groups", [])]
        value = int(parts[1])
        draft["groups"] = [g for g in groups if g != value] if value in groups else [*groups, value]
    else:
        category = draft.get("cat_list", [])[int(parts[1])]
        cats = list(draft.get("cats", []))
        draft["cats"] = [c for c in cats if c != category] if category in cats else [*cats, category]
    return await _show_picker(update, context, who, tr)


async def pick_done(update: Update, context: Ctx) -> int:
    who = await _coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    tr = await translator(update, context)
    if _segment(_draft(context)).empty:
        await answer(update, str(tr("notice.no_selection")), alert=True)
        return PICK
    await answer(update)
    return await _audience_done(update, context, who)


async def _audience_done(update: Update, context: Ctx, who: Actor) -> int:
    """The audience is complete: the preview of a new notice, or re-targeting a scheduled one."""
    notice_id = _draft(context).get(RETARGET)
    if not isinstance(notice_id, int):
        return await _preview(update, context, who)
    return await _retarget(update, context, who, notice_id)


def _state(tr: Translator, on: object) -> Markup:
    return tr("notice.on") if on else tr("notice.off")


async def _preview(update: Update, context: Ctx, who: Actor, *, resend: bool = True) -> int:
    tr = await translator(update, context)
    draft = _draft(context)
    services = context.services
    try:
        count = await services.notices.count(who, _segment(draft))
    except AccessDenied:
        await refuse(update, context)
        return ConversationHandler.END
    groups = await services.notices.group_chat_count() if draft.get("post_groups") else 0
    await COMPOSE.enter(update, context, PREVIEW)
    chat = update.effective_chat
    if resend and chat is not None:
        # The notice exactly as members get it (the button does nothing here).
        label = services.catalog.text(tr.lang, "notice.ack_button")
        markup = kb.inline([[kb.button(label, kb.cb("noop"))]])
        attachment = draft.get("attachment") or {}
        if attachment.get("type") == "photo":
            preview = partial(chat.send_photo, attachment["file_id"], caption=draft.get("text", ""),
                              parse_mode=ParseMode.HTML, reply_markup=markup)
        elif attachment.get("type") == "document":
            preview = partial(chat.send_document, attachment["file_id"], caption=draft.get("text", ""),
                              parse_mode=ParseMode.HTML, reply_markup=markup)
        else:
            preview = partial(chat.send_message, draft.get("text", ""), parse_mode=ParseMode.HTML,
                              reply_markup=markup, disable_web_page_preview=True)
        await send_direct(update, context, preview, what="notice preview")
    keyboard = kb.inline([
        [kb.button(tr("notice.btn.send_now"), kb.cb("ntc", "send"))],
        [kb.button(tr("notice.btn.schedule"), kb.cb("ntc", "when")),
         kb.button(tr("notice.btn.repeat"), kb.cb("ntc", "rep"))],
        [kb.button(tr("notice.btn.groups", state=_state(tr, draft.get("post_groups"))), kb.cb("ntc", "t", "groups"))],
        [kb.button(tr("notice.btn.nudge", state=_state(tr, draft.get("nudge"))), kb.cb("ntc", "t", "nudge"))],
        [kb.button(tr("notice.btn.urgent", state=_state(tr, draft.get("urgent"))), kb.cb("ntc", "t", "urgent"))],
        [kb.button(tr("notice.btn.paid", state=_state(tr, draft.get("paid"))), kb.cb("ntc", "t", "paid"))],
        [kb.button(tr("notice.btn.cancel"), kb.cb("ntc", "x"))],
    ])
    # The question message becomes the control panel (Telegram allows ~1 new message/s per chat).
    await edit_or_reply(update, tr("notice.preview", count=count, groups=groups), keyboard)
    return PREVIEW


async def option_toggled(update: Update, context: Ctx) -> int:
    who = await _coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    parts = pressed(update, "ntc", 2)
    await answer(update)
    names = {"groups": "post_groups", "nudge": "nudge", "urgent": "urgent", "paid": "paid"}
    if parts is None or parts[1] not in names:
        return PREVIEW
    draft = _draft(context)
    key = names[parts[1]]
    draft[key] = not draft.get(key)
    return await _preview(update, context, who, resend=False)


def _make_draft(draft: dict[str, Any], **extra: Any) -> Draft:
    return Draft(
        text=str(draft.get("text", "")),
        segment=_segment(draft),
        attachment=draft.get("attachment"),
        post_to_groups=bool(draft.get("post_groups")),
        paid=bool(draft.get("paid")),
        urgent=bool(draft.get("urgent")),
        nudge_after_h=24 if draft.get("nudge") else None,
        **extra,
    )


async def send_now(update: Update, context: Ctx) -> int:
    who = await _coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    await answer(update)
    tr = await translator(update, context)
    draft = _draft(context)
    services = context.services
    count = await services.notices.count(who, _segment(draft))
    if count == 0:
        await reply(update, tr("notice.no_recipients"))
        return PREVIEW
    query = update.callback_query
    status = query.message if query is not None and isinstance(query.message, Message) else None
    if status is None:
        return PREVIEW
    await edit_or_reply(update, tr("notice.sending", total=count))
    try:
        await services.notices.create(who, _make_draft(draft), tr.lang, progress=(status.chat_id, status.message_id))
    except NoticeError as exc:
        await reply(update, tr(exc.key))
        return PREVIEW
    except AccessDenied:
        await refuse(update, context)
        return ConversationHandler.END
    _clear(context)
    return ConversationHandler.END


async def ask_when(update: Update, context: Ctx) -> int:
    if await _coordinator(update, context) is None:
        return ConversationHandler.END
    await answer(update)
    tr = await translator(update, context)
    await COMPOSE.enter(update, context, WHEN)
    await edit_or_reply(update, tr("notice.ask_when", zone=context.services.settings.tz))
    return WHEN


async def ask_repeat(update: Update, context: Ctx) -> int:
    if await _coordinator(update, context) is None:
        return ConversationHandler.END
    await answer(update)
    tr = await translator(update, context)
    await COMPOSE.enter(update, context, REPEAT)
    await edit_or_reply(update, tr("notice.ask_repeat"))
    return REPEAT


def _local(context: Ctx, moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(context.services.notices.zone).strftime("%Y-%m-%d %H:%M")


async def _schedule(update: Update, context: Ctx, draft: Draft, state: int) -> int:
    who = await _coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    tr = await translator(update, context)
    try:
        created: Created = await context.services.notices.create(who, draft, tr.lang)
    except NoticeError as exc:
        await reply(update, tr(exc.key))
        return state
    except AccessDenied:
        await refuse(update, context)
        return ConversationHandler.END
    if draft.recurrence is not None:
        await reply(update, tr("notice.recurring", when=_local(context, created.due_at),
                               until=_local(context, draft.until)))
    else:
        await reply(update, tr("notice.scheduled", when=_local(context, created.due_at), count=created.recipients))
    _clear(context)
    return ConversationHandler.END


async def got_when(update: Update, context: Ctx) -> int:
    message = update.effective_message
    tr = await translator(update, context)
    moment = parse_when(message.text or "", context.services.notices.zone) if message else None
    if moment is None:
        await reply(update, tr("notice.bad_when"))
        return WHEN
    return await _schedule(update, context, _make_draft(_draft(context), at=moment), WHEN)


async def got_repeat(update: Update, context: Ctx) -> int:
    message = update.effective_message
    tr = await translator(update, context)
    parsed = parse_repeat(message.text or "", context.services.notices.zone) if message else None
    if parsed is None:
        await reply(update, tr("notice.bad_repeat"))
        return REPEAT
    recurrence, until = parsed
    return await _schedule(update, context, _make_draft(_draft(context), recurrence=recurrence, until=until), REPEAT)


async def cancel_button(update: Update, context: Ctx) -> int:
    await answer(update)
    tr = await translator(update, context)
    _clear(context)
    await edit_or_reply(update, tr("common.cancelled"))
    return ConversationHandler.END


def _clear(context: Ctx) -> None:
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)
    COMPOSE.clear(context)


# --- asking a step again after an interrupted one (handlers/steps.py) ------------------------------------
@COMPOSE.asks(WRITE)
async def _ask_write(update: Update, context: Ctx, state: int) -> int:
    tr = await translator(update, context)
    await reply(update, tr("notice.ask_text"))
    return WRITE


@COMPOSE.asks(AUDIENCE, PICK_STATUS)
async def _ask_audience_again(update: Update, context: Ctx, state: int) -> int:
    """The audience question (also for the status of an activity: its choice is not kept)."""
    if await _coordinator(update, context) is None:
        return ConversationHandler.END
    await _ask_audience(update, context, await translator(update, context))
    return AUDIENCE


@COMPOSE.asks(PICK, PICK_ACTIVITY, PICK_QUESTIONNAIRE, PREVIEW)
async def _show_again(update: Update, context: Ctx, state: int) -> int:
    who = await _coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    tr = await translator(update, context)
    if state == PICK:
        return await _show_picker(update, context, who, tr)
    if state == PICK_ACTIVITY:
        return await _show_activities(update, context, who, tr, 0)
    if state == PICK_QUESTIONNAIRE:
        return await _show_questionnaires(update, context, who, tr, 0)
    return await _preview(update, context, who, resend=False)


@COMPOSE.asks(WHEN, REPEAT)
async def _ask_time_again(update: Update, context: Ctx, state: int) -> int:
    tr = await translator(update, context)
    if state == WHEN:
        await reply(update, tr("notice.ask_when", zone=context.services.settings.tz))
    else:
        await reply(update, tr("notice.ask_repeat"))
    return state


@EDITING.asks(EDIT_TEXT, EDIT_WHEN)
async def _ask_edit_again(update: Update, context: Ctx, state: int) -> int:
    who = await _coordinator(update, context)
    notice_id = context.user_data.get("notice_edit") if context.user_data is not None else None
    if who is None or not isinstance(notice_id, int):
        return ConversationHandler.END
    tr = await translator(update, context)
    if state == EDIT_TEXT:
        await reply(update, tr("notice.edit.ask"))
        return EDIT_TEXT
    try:
        row = await context.services.notices.get_for(who, notice_id)
    except (NoticeError, AccessDenied):
        await reply(update, tr("notice.error.not_found"))
        return ConversationHandler.END
    if row.status == "recurring":
        await reply(update, tr("notice.ask_repeat"))
    else:
        await reply(update, tr("notice.ask_when", zone=context.services.settings.tz))
    return EDIT_WHEN


# --- acknowledgements ---------------------------------------------------------------------------------
async def ack_pressed(update: Update, context: Ctx) -> None:
    parts = pressed(update, "ack", 1)
    notice_id = kb.parse_int(parts[0]) if parts else None
    tr = await translator(update, context)
    user = update.effective_user
    if notice_id is None or user is None:
        await answer(update, str(tr("notice.ack.refused")), alert=True)
        return
    result = await context.services.notices.ack(user.id, notice_id)
    if result == "not_recipient":
        await answer(update, str(tr("notice.ack.refused")), alert=True)
    else:
        await answer(update, str(tr(f"notice.ack.{'ok' if result == 'ok' else 'already'}")))
        if result == "ok":
            _schedule_live_refresh(context, notice_id)


# --- /notices ------------------------------------------------------------------------------------------
def _status_label(tr: Translator, row: NoticeRow) -> Markup:
    return tr(f"notice.state.{row.status}")


async def notices_list(update: Update, context: Ctx) -> None:
    who = await _coordinator(update, context)
    if who is None:
        return
    if update.callback_query:
        await answer(update)
    tr = await translator(update, context)
    rows = await context.services.notices.listing(who)
    if not rows:
        await edit_or_reply(update, tr("notice.list.empty"))
        return
    buttons = [[kb.button(str(tr("notice.list.item", id=r.id, status=_status_label(tr, r),
                                     excerpt=_plain(r.text, 30)))[:64], kb.cb("ntl", "v", r.id))] for r in rows]
    await edit_or_reply(update, tr("notice.list.title"), kb.inline(buttons))


def _plain(html_text: str, limit: int) -> str:
    text = html.unescape(_TAG.sub("", html_text)).replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"


async def _load(update: Update, context: Ctx, arity: int) -> tuple[Actor, list[str], NoticeRow] | None:
    """Parse `ntl:<action>:<id>...`, check the caller may manage that notice."""
    who = await _coordinator(update, context)
    if who is None:
        return None
    parts = pressed(update, "ntl", arity)
    notice_id = kb.parse_int(parts[1]) if parts else None
    tr = await translator(update, context)
    if parts is None or notice_id is None:
        await answer(update, str(tr("common.stale_button")))
        return None
    try:
        row = await context.services.notices.get_for(who, notice_id)
    except NoticeError as exc:
        await answer(update, str(tr(exc.key)), alert=True)
        return None
    except AccessDenied:
        await refuse(update, context)
        return None
    return who, parts, row


async def notice_view(update: Update, context: Ctx) -> None:
    loaded = await _load(update, context, 2)
    if loaded is None:
        return
    who, _, row = loaded
    await answer(update)
    await _render_view(update, context, who, row)


async def _view_content(
    context: Ctx, tr: Translator, who: Actor, row: NoticeRow
) -> tuple[Markup, InlineKeyboardMarkup]:
    """The status text and buttons of one notice (shared by the view and its live refresh)."""
    excerpt = _plain(row.text, 200)
    back = kb.button(tr("notice.btn.back"), kb.cb("ntl", "list"))
    if row.status in ("scheduled", "recurring"):
        text = tr("notice.status_due", id=row.id, status=_status_label(tr, row), excerpt=excerpt,
                  when=_local(context, row.next_due_at))
        timing = "notice.btn.edit_time" if row.status == "scheduled" else "notice.btn.edit_repeat"
        return text, kb.inline([
            [kb.button(tr("notice.btn.edit"), kb.cb("nte", row.id)),
             kb.button(tr("notice.btn.change_audience"), kb.cb("nta", row.id))],
            [kb.button(tr(timing), kb.cb("ntt", row.id))],
            [kb.button(tr("notice.btn.cancel_notice"), kb.cb("ntl", "x", row.id))],
            [back],
        ])
    _, stats = await context.services.notices.stats(who, row.id)
    text = tr("notice.status", id=row.id, status=_status_label(tr, row), excerpt=excerpt,
              recipients=stats.recipients, delivered=stats.delivered, failed=stats.failed,
              acked=stats.acknowledged, pending=stats.recipients - stats.acknowledged)
    return text, kb.inline([
        [kb.button(tr("notice.btn.refresh"), kb.cb("ntl", "v", row.id)),
         kb.button(tr("notice.btn.who"), kb.cb("ntl", "w", row.id, 0))],
        [kb.button(tr("notice.btn.nudge_now"), kb.cb("ntl", "n", row.id))] if row.status == "sent" else [],
        [back],
    ])


async def _render_view(update: Update, context: Ctx, who: Actor, row: NoticeRow) -> None:
    tr = await translator(update, context)
    text, keyboard = await _view_content(context, tr, who, row)
    await edit_or_reply(update, text, keyboard)
    query = update.callback_query
    if row.status not in ("scheduled", "recurring") and query is not None and isinstance(query.message, Message):
        # Remember the open view, so arriving acknowledgements update it (a live summary).
        await context.services.notices.remember_view(
            who, row.id, query.message.chat.id, query.message.message_id, tr.lang
        )


LIVE_REFRESH_DELAY_S = 1.5  # acknowledgements arriving together cause one edit per open view


def _schedule_live_refresh(context: Ctx, notice_id: int) -> None:
    queue = context.application.job_queue
    name = f"notice-view-{notice_id}"
    if queue is None or queue.get_jobs_by_name(name):
        return
    queue.run_once(_refresh_views, LIVE_REFRESH_DELAY_S, data=notice_id, name=name)  # type: ignore[arg-type]


async def _refresh_views(context: Ctx) -> None:
    """Re-render every open status view of a notice with the current counts."""
    job = context.job
    if job is None or not isinstance(job.data, int):
        return
    services = context.services
    for view in await services.notices.views(job.data):
        who = await services.roles.actor(view.user_id)
        try:
            row = await services.notices.get_for(who, view.notice_id)
        except (NoticeError, AccessDenied):
            continue
        tr = services.catalog.for_lang("en" if view.lang == "en" else "zh-Hans")
        text, keyboard = await _view_content(context, tr, who, row)
        try:
            await with_retry_after(partial(
                context.bot.edit_message_text, text, chat_id=view.chat_id, message_id=view.message_id,
                parse_mode=ParseMode.HTML, reply_markup=keyboard,
            ))
        except (BadRequest, RetryAfter) as exc:  # not modified, gone, or flood-limited: not updated now
            log.debug("live notice view %s not updated: %s", view.notice_id, exc.message)


async def who_has_not(update: Update, context: Ctx) -> None:
    loaded = await _load(update, context, 3)
    if loaded is None:
        return
    who, parts, row = loaded
    await answer(update)
    tr = await translator(update, context)
    page = kb.parse_int(parts[2]) or 0
    people, total = await context.services.notices.pending(who, row.id, page, PER_PAGE)
    if total == 0:
        text = tr("notice.who.none")
    else:
        lines: list[str] = []
        current: str | None = None
        for person in people:
            group = person.group_name or str(tr("notice.who.no_group"))
            if group != current:
                lines.append(f"\n<b>{tr.join([group], '')}</b>")
                current = group
            lines.append("• " + tr.join([person.name or str(person.user_id)], ""))
        text = Markup(tr("notice.who.title", total=total) + "\n".join(lines))
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    nav = []
    if page > 0:
        nav.append(kb.button(tr("notice.btn.prev"), kb.cb("ntl", "w", row.id, page - 1)))
    if page + 1 < pages:
        nav.append(kb.button(tr("notice.btn.next"), kb.cb("ntl", "w", row.id, page + 1)))
    keyboard = kb.inline([nav, [kb.button(tr("notice.btn.back"), kb.cb("ntl", "v", row.id))]])
    await edit_or_reply(update, text, keyboard)


async def nudge_pressed(update: Update, context: Ctx) -> None:
    loaded = await _load(update, context, 2)
    if loaded is None:
        return
    who, _, row = loaded
    tr = await translator(update, context)
    try:
        count = await context.services.notices.nudge(who, row.id)
    except NoticeError as exc:
        await answer(update, str(tr(exc.key)), alert=True)
        return
    await answer(update, str(tr("notice.nudged", count=count)))
    await edit_or_reply(update, tr("notice.nudged", count=count),
                        kb.inline([[kb.button(tr("notice.btn.back"), kb.cb("ntl", "v", row.id))]]))


async def cancel_notice(update: Update, context: Ctx) -> None:
    loaded = await _load(update, context, 2)
    if loaded is None:
        return
    who, _, row = loaded
    tr = await translator(update, context)
    done = await context.services.notices.cancel(who, row.id)
    await answer(update, str(tr("notice.cancelled" if done else "notice.not_cancellable")))
    await edit_or_reply(update, tr("notice.cancelled" if done else "notice.not_cancellable"))


# --- edit text of a scheduled notice (its own small conversation) ----------------------------------------
async def _editing(
    update: Update, context: Ctx, prefix: str, *, remember: bool = True
) -> tuple[Translator, NoticeRow] | None:
    """The scheduled notice a `nte:`/`ntt:`/`nta:` button names, if the caller may edit it."""
    who = await _coordinator(update, context)
    if who is None:
        return None
    parts = pressed(update, prefix, 1)
    notice_id = kb.parse_int(parts[0]) if parts else None
    tr = await translator(update, context)
    try:
        if notice_id is None:
            raise NoticeError("notice.error.not_found")
        row = await context.services.notices.get_for(who, notice_id)
    except NoticeError as exc:
        await answer(update, str(tr(exc.key)), alert=True)
        return None
    except AccessDenied:
        await refuse(update, context)
        return None
    await answer(update)
    if remember and context.user_data is not None:
        context.user_data["notice_edit"] = row.id
    return tr, row


async def edit_start(update: Update, context: Ctx) -> int:
    editing = await _editing(update, context, "nte")
    if editing is None:
        return ConversationHandler.END
    tr, _ = editing
    await EDITING.enter(update, context, EDIT_TEXT)
    await edit_or_reply(update, tr("notice.edit.ask"))
    return EDIT_TEXT


async def edit_when_start(update: Update, context: Ctx) -> int:
    editing = await _editing(update, context, "ntt")
    if editing is None:
        return ConversationHandler.END
    tr, row = editing
    if row.status in ("scheduled", "recurring"):
        await EDITING.enter(update, context, EDIT_WHEN)
    if row.status == "scheduled":
        await edit_or_reply(update, tr("notice.ask_when", zone=context.services.settings.tz))
    elif row.status == "recurring":
        await edit_or_reply(update, tr("notice.ask_repeat"))
    else:
        await edit_or_reply(update, tr("notice.edit.too_late"))
        return ConversationHandler.END
    return EDIT_WHEN


async def _edit_target(update: Update, context: Ctx) -> tuple[Actor, Translator, int] | None:
    """Caller, translator and the notice being edited (None: not a coordinator, or nothing being edited)."""
    who = await _coordinator(update, context)
    if who is None:
        return None
    tr = await translator(update, context)
    notice_id = context.user_data.get("notice_edit") if context.user_data is not None else None
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
            parsed = parse_repeat(text, notices.zone)
            if parsed is None:
                await reply(update, tr("notice.bad_repeat"))
                return EDIT_WHEN
            due = await notices.change_repeat(who, notice_id, *parsed)
            await reply(update, tr("notice.edit.repeat_changed", id=notice_id, when=_local(context, due),
                                   until=_local(context, parsed[1])))
            return ConversationHandler.END
        moment = parse_when(text, notices.zone)
        if moment is None:
            await reply(update, tr("notice.bad_when"))
            return EDIT_WHEN
        due = await notices.move(who, notice_id, moment)
    except NoticeError as exc:
        await reply(update, tr(exc.key))
        return ConversationHandler.END if exc.key == "notice.edit.too_late" else EDIT_WHEN
    except AccessDenied:
        await refuse(update, context)
        return ConversationHandler.END
    await reply(update, tr("notice.edit.moved", id=notice_id, when=_local(context, due)))
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
    except NoticeError as exc:
        await reply(update, tr(exc.key))
        return EDIT_TEXT
    except AccessDenied:
        await refuse(update, context)
        return ConversationHandler.END
    await reply(update, tr("notice.edit.done" if done else "notice.edit.too_late"))
    return ConversationHandler.END


# --- change the audience of a scheduled notice (an entry into the /notice conversation) ----------------
async def retarget_start(update: Update, context: Ctx) -> int:
    """`nta:<id>` on a scheduled/recurring notice's view: choose its new audience with the very
    screens of composing; when the audience is complete `_retarget` applies it (no preview)."""
    editing = await _editing(update, context, "nta", remember=False)
    if editing is None:
        return ConversationHandler.END
    tr, row = editing
    if row.status not in ("scheduled", "recurring"):
        await edit_or_reply(update, tr("notice.audience.too_late"))
        return ConversationHandler.END
    if context.user_data is not None:
        context.user_data[DRAFT] = {RETARGET: row.id}
    await COMPOSE.enter(update, context, AUDIENCE)
    await _ask_audience(update, context, tr, edit=True)
    return AUDIENCE


async def retarget_busy(update: Update, context: Ctx) -> int | None:
    """`nta:` pressed while /notice is under way: restart a re-targeting, never drop a draft being written."""
    draft = context.user_data.get(DRAFT) if context.user_data is not None else None
    if not isinstance(draft, dict):
        draft = {}
    retargeting = isinstance(draft.get(RETARGET), int)
    writing = bool(draft.get("text")) or draft.get("preset_activity") is not None
    if retargeting or not writing:
        return await retarget_start(update, context)
    tr = await translator(update, context)
    await answer(update, str(tr("notice.audience.busy")), alert=True)
    return None


async def _retarget(update: Update, context: Ctx, who: Actor, notice_id: int) -> int:
    tr = await translator(update, context)
    try:
        count = await context.services.notices.change_audience(who, notice_id, _segment(_draft(context)))
    except NoticeError as exc:
        if exc.key in ("notice.no_selection", "notice.audience.outside_author"):
            await edit_or_reply(update, tr(exc.key))
            await COMPOSE.enter(update, context, AUDIENCE)
            await _ask_audience(update, context, tr)
            return AUDIENCE
        await edit_or_reply(update, tr(exc.key))
        _clear(context)
        return ConversationHandler.END
    except AccessDenied:
        _clear(context)
        await refuse(update, context)
        return ConversationHandler.END
    _clear(context)
    await edit_or_reply(update, tr("notice.audience.changed", id=notice_id, count=count),
                        kb.inline([[kb.button(tr("notice.btn.back"), kb.cb("ntl", "v", notice_id))]]))
    return ConversationHandler.END


# --- group chats -------------------------------------------------------------------------------------------
async def my_chat_member(update: Update, context: Ctx) -> None:
    change = update.my_chat_member
    if change is None or change.chat.type not in ("group", "supergroup"):
        return
    status = change.new_chat_member.status
    present = status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)
    services = context.services
    await services.notices.group_chat_changed(change.chat.id, change.chat.title or "", present)


async def chat_migrated(update: Update, context: Ctx) -> None:
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    services = context.services
    await services.notices.group_chat_migrated(message.chat.id, message.migrate_to_chat_id)


# --- wiring -----------------------------------------------------------------------------------------------
def _handlers(*handlers: BaseHandler[Update, Ctx, Any]) -> list[BaseHandler[Update, Ctx, Any]]:
    return list(handlers)


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    private = filters.ChatType.PRIVATE & common.COMMAND_FILTER
    text = private & filters.TEXT & ~filters.COMMAND
    conversation = ConversationHandler(
        entry_points=[CommandHandler("notice", notice_start, filters=private),
                      CallbackQueryHandler(notice_for_activity, pattern=r"^ntc:pre:"),
                      CallbackQueryHandler(retarget_start, pattern=r"^nta:")],
        states={
            WRITE: [
                MessageHandler(private & (filters.TEXT | filters.PHOTO | filters.Document.ALL) & ~filters.COMMAND,
                               got_content),
                MessageHandler(private & ~filters.COMMAND, not_content),
            ],
            AUDIENCE: [CallbackQueryHandler(audience_chosen, pattern=r"^ntc:a:")],
            PICK: [
                CallbackQueryHandler(pick_done, pattern=r"^ntc:done$"),
                CallbackQueryHandler(pick_toggled, pattern=r"^ntc:[gc]:"),
            ],
            PICK_ACTIVITY: [
                CallbackQueryHandler(activity_page, pattern=r"^ntc:ap:"),
                CallbackQueryHandler(activity_picked, pattern=r"^ntc:ai:"),
                CallbackQueryHandler(audience_back, pattern=r"^ntc:back$"),
            ],
            PICK_STATUS: [
                CallbackQueryHandler(status_picked, pattern=r"^ntc:as:"),
                CallbackQueryHandler(audience_back, pattern=r"^ntc:back$"),
            ],
            PICK_QUESTIONNAIRE: [
                CallbackQueryHandler(questionnaire_page, pattern=r"^ntc:qp:"),
                CallbackQueryHandler(questionnaire_picked, pattern=r"^ntc:qi:"),
                CallbackQueryHandler(audience_back, pattern=r"^ntc:back$"),
            ],
            PREVIEW: [
                CallbackQueryHandler(send_now, pattern=r"^ntc:send$"),
                CallbackQueryHandler(ask_when, pattern=r"^ntc:when$"),
                CallbackQueryHandler(ask_repeat, pattern=r"^ntc:rep$"),
                CallbackQueryHandler(option_toggled, pattern=r"^ntc:t:"),
            ],
            WHEN: [MessageHandler(text, got_when)],
            REPEAT: [MessageHandler(text, got_repeat)],
        },
        fallbacks=_handlers(common.cancel_fallback(), CallbackQueryHandler(cancel_button, pattern=r"^ntc:x$"),
                            CallbackQueryHandler(retarget_busy, pattern=r"^nta:")),
        name="notice",
        persistent=True,
        per_message=False,
    )
    edit = ConversationHandler(
        entry_points=[CallbackQueryHandler(edit_start, pattern=r"^nte:"),
                      CallbackQueryHandler(edit_when_start, pattern=r"^ntt:")],
        states={EDIT_TEXT: [MessageHandler(text, edit_text)], EDIT_WHEN: [MessageHandler(text, edit_when)]},
        fallbacks=_handlers(common.cancel_fallback()),
        name="notice_edit",
        persistent=True,
        per_message=False,
    )
    app.add_handler(COMPOSE.protect(app, conversation))
    app.add_handler(EDITING.protect(app, edit))
    app.add_handler(CommandHandler("notices", notices_list, filters=private))
    app.add_handler(CallbackQueryHandler(notices_list, pattern=r"^ntl:list$"))
    app.add_handler(CallbackQueryHandler(notice_view, pattern=r"^ntl:v:"))
    app.add_handler(CallbackQueryHandler(who_has_not, pattern=r"^ntl:w:"))
    app.add_handler(CallbackQueryHandler(nudge_pressed, pattern=r"^ntl:n:"))
    app.add_handler(CallbackQueryHandler(cancel_notice, pattern=r"^ntl:x:"))
    app.add_handler(CallbackQueryHandler(ack_pressed, pattern=r"^ack:"))
    app.add_handler(ChatMemberHandler(my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, chat_migrated))
    menu.add("notice", "cmd.notice", Role.COORDINATOR)
    menu.add("notices", "cmd.notices", Role.COORDINATOR)


# --- start-up ---------------------------------------------------------------------------------------------
async def on_startup(app: LiaisonApp) -> None:
    """Mark interrupted deliveries, fire what fell due while down, arm the worker and the tick."""
    services = app.bot_data.services
    if services is None:
        return
    await services.delivery.recover()
    await services.notices.run_due()
    queue = app.job_queue
    if queue is None:
        raise RuntimeError("the job queue is required (python-telegram-bot[job-queue])")

    async def start_worker(context: Ctx) -> None:
        services.delivery.start(TelegramTransport(app.bot), running=lambda: app.running, spawn=app.create_task)

    async def tick(context: Ctx) -> None:
        await services.notices.run_due()
        await arm_alarm()

    async def arm_alarm() -> None:
        """The database holds what is due; the job queue only wakes us at the next due moment."""
        due = await services.notices.next_due()
        if due is None:
            return
        delay = (due - services.clock.now()).total_seconds()
        if delay >= TICK_S:
            return  # the regular tick gets there first
        for job in queue.get_jobs_by_name("notices-alarm"):
            job.schedule_removal()
        queue.run_once(tick, max(0.0, delay) + ALARM_SLACK_S, name="notices-alarm")

    services.notices.on_schedule = arm_alarm
    queue.run_once(start_worker, 0, name="delivery-worker")
    queue.run_repeating(tick, interval=TICK_S, first=TICK_S, name="notices-due")
    await arm_alarm()
