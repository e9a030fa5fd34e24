"""Who a notice goes to: the audience question and its pickers (groups, categories, participants of
an activity, non-respondents of a questionnaire). Every screen is rendered from the draft stored in
`user_data`; a toggle changes the draft and the screen is drawn again from it.

The same screens choose the new audience of a scheduled notice (`RETARGET` in the draft): when the
audience is complete it is applied at once instead of showing the preview.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardButton, Update
from telegram.ext import ConversationHandler

from bot.callbacks import Button
from bot.context import Ctx
from bot.errors import Refusal
from bot.i18n import Translator
from bot.labels import label
from bot.notices import (
    ACTIVITY,
    PARTICIPANT_STATUSES,
    QUESTIONNAIRE,
    ActivityChoice,
    activity_segment,
    questionnaire_segment,
)
from bot.notices import callbacks as cb
from bot.roles import AccessDenied, Actor
from handlers import keyboards as kb
from handlers.base import answer, edit_or_reply, refuse, reply, translator
from handlers.buttons import press
from handlers.notices.common import (
    AUDIENCE,
    COMPOSE,
    DRAFT,
    PICK,
    PICK_ACTIVITY,
    PICK_QUESTIONNAIRE,
    PICK_STATUS,
    RETARGET,
    clear,
    coordinator,
    draft_of,
    local,
    segment_of,
    short,
)
from handlers.notices.summary import preview

MAX_PICK = 40
CHOICES_PER_PAGE = 8
STATUS_OF_CODE = {code: status for status, code in cb.STATUS_CODES.items()}


async def ask_audience(update: Update, context: Ctx, tr: Translator, *, edit: bool = False) -> None:
    """Who should receive it? (naming the notice when a scheduled one is being re-targeted)."""
    draft = (context.user_data or {}).get(DRAFT)
    retarget = draft.get(RETARGET) if isinstance(draft, dict) else None
    question = tr("notice.ask_audience_for", id=retarget) if isinstance(retarget, int) else tr("notice.ask_audience")
    keyboard = kb.inline([
        [kb.button(tr("notice.audience.everyone"), cb.COMPOSE_AUDIENCE.data(kind="all"))],
        [kb.button(tr("notice.audience.groups"), cb.COMPOSE_AUDIENCE.data(kind="groups")),
         kb.button(tr("notice.audience.categories"), cb.COMPOSE_AUDIENCE.data(kind="cats"))],
        [kb.button(tr("notice.audience.activity"), cb.COMPOSE_AUDIENCE.data(kind="act"))],
        [kb.button(tr("notice.audience.questionnaire"), cb.COMPOSE_AUDIENCE.data(kind="svy"))],
        [kb.button(tr("notice.btn.cancel"), cb.COMPOSE_CANCEL.data())],
    ])
    if edit:
        await edit_or_reply(update, question, keyboard)
    else:
        await reply(update, question, keyboard)


def _reset_audience(draft: dict[str, Any]) -> None:
    draft["groups"], draft["cats"], draft["everyone"] = [], [], False
    for key in ("kind", "ref", "ref_title", "status", "preset_activity"):
        draft.pop(key, None)


async def audience_chosen(update: Update, context: Ctx) -> int:
    who = await coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    pressed = press(update, cb.COMPOSE_AUDIENCE)
    await answer(update)
    if pressed is None:
        return AUDIENCE
    kind = pressed.text("kind")
    tr = await translator(update, context)
    draft = draft_of(context)
    _reset_audience(draft)
    if kind == "all":
        draft["everyone"] = True
        return await audience_done(update, context, who)
    if kind == "groups":
        draft["mode"] = "g"
        return await show_picker(update, context, who, tr)
    if kind == "cats":
        draft["mode"] = "c"
        draft["cat_list"] = (await context.services.notices.categories(who))[:MAX_PICK]
        return await show_picker(update, context, who, tr)
    if kind == "act":
        return await show_activities(update, context, who, tr, 0)
    return await show_questionnaires(update, context, who, tr, 0)


# --- groups and categories ------------------------------------------------------------------------------
async def _options(context: Ctx, who: Actor, tr: Translator) -> list[tuple[str, int]]:
    """(label, value) pairs of the current picker: groups in scope (by id), or categories (by place)."""
    draft = draft_of(context)
    if draft.get("mode") == "c":
        return [(label(tr, "category", c), i) for i, c in enumerate(draft.get("cat_list", []))]
    groups = await context.services.notices.pickable_groups(who)
    return [(g.name, g.id) for g in groups[:MAX_PICK]]


def _chosen(draft: dict[str, Any]) -> set[int]:
    """What the draft holds, as the picker's values."""
    if draft.get("mode", "g") == "g":
        return {int(g) for g in draft.get("groups", [])}
    cats = set(draft.get("cats", []))
    return {i for i, c in enumerate(draft.get("cat_list", [])) if c in cats}


async def show_picker(update: Update, context: Ctx, who: Actor, tr: Translator) -> int:
    draft = draft_of(context)
    options = await _options(context, who, tr)
    if not options:
        await edit_or_reply(update, tr("notice.nothing_to_pick"))
        await ask_audience(update, context, tr)
        return AUDIENCE
    mode = draft.get("mode", "g")
    chosen = _chosen(draft)
    toggle: Button = cb.PICK_GROUP if mode == "g" else cb.PICK_CATEGORY
    field = "id" if mode == "g" else "index"
    width = 2 if mode == "g" else 1  # categories' names are long: one a row, in full
    buttons = [kb.button(("✅ " if value in chosen else "") + short(text, 64), toggle.data(**{field: value}))
               for text, value in options]
    rows = [*kb.columns(buttons, width), [kb.button(tr("notice.btn.done"), cb.PICK_DONE.data()),
                                   kb.button(tr("notice.btn.cancel"), cb.COMPOSE_CANCEL.data())]]
    key = "notice.pick_groups" if mode == "g" else "notice.pick_categories"
    await COMPOSE.enter(update, context, PICK)
    await edit_or_reply(update, tr(key), kb.inline(rows))
    return PICK


async def pick_toggled(update: Update, context: Ctx) -> int:
    who = await coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    tr = await translator(update, context)
    draft = draft_of(context)
    mode = draft.get("mode", "g")
    pressed = press(update, cb.PICK_GROUP if mode == "g" else cb.PICK_CATEGORY)
    value = None if pressed is None else pressed.num("id" if mode == "g" else "index")
    if value is None or value not in {v for _, v in await _options(context, who, tr)}:
        await answer(update, str(tr("common.stale_button")))
        return PICK
    await answer(update)
    if mode == "g":
        groups = [int(g) for g in draft.get("groups", [])]
        draft["groups"] = [g for g in groups if g != value] if value in groups else [*groups, value]
    else:
        category = draft.get("cat_list", [])[value]
        cats = list(draft.get("cats", []))
        draft["cats"] = [c for c in cats if c != category] if category in cats else [*cats, category]
    return await show_picker(update, context, who, tr)


async def pick_done(update: Update, context: Ctx) -> int:
    who = await coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    tr = await translator(update, context)
    if segment_of(draft_of(context)).empty:
        await answer(update, str(tr("notice.no_selection")), alert=True)
        return PICK
    await answer(update)
    return await audience_done(update, context, who)


# --- audiences borrowed from activities and questionnaires -----------------------------------------------
def _nav(tr: Translator, page_button: Button, page: int, total: int) -> list[InlineKeyboardButton]:
    pages = max(1, (total + CHOICES_PER_PAGE - 1) // CHOICES_PER_PAGE)
    row = []
    if page > 0:
        row.append(kb.button(tr("notice.btn.prev"), page_button.data(page=page - 1)))
    if page + 1 < pages:
        row.append(kb.button(tr("notice.btn.next"), page_button.data(page=page + 1)))
    return row


def _footer(tr: Translator) -> list[InlineKeyboardButton]:
    return [kb.button(tr("notice.btn.back"), cb.COMPOSE_BACK.data()),
            kb.button(tr("notice.btn.cancel"), cb.COMPOSE_CANCEL.data())]


async def show_activities(update: Update, context: Ctx, who: Actor, tr: Translator, page: int) -> int:
    choices, total = await context.services.notices.audiences.activities(who, page, CHOICES_PER_PAGE)
    if total == 0:
        await edit_or_reply(update, tr("notice.no_activities"))
        await ask_audience(update, context, tr)
        return AUDIENCE
    pages = max(1, (total + CHOICES_PER_PAGE - 1) // CHOICES_PER_PAGE)
    rows = [[kb.button(short(f"{local(context, c.starts_at)[:10]} {c.title}"), cb.ACTIVITY_PICK.data(id=c.id))]
            for c in choices]
    rows += [_nav(tr, cb.ACTIVITY_PAGE, page, total), _footer(tr)]
    await COMPOSE.enter(update, context, PICK_ACTIVITY)
    await edit_or_reply(update, tr("notice.pick_activity", page=page + 1, pages=pages), kb.inline(rows))
    return PICK_ACTIVITY


async def show_questionnaires(update: Update, context: Ctx, who: Actor, tr: Translator, page: int) -> int:
    choices, total = await context.services.notices.audiences.questionnaires(who, page, CHOICES_PER_PAGE)
    if total == 0:
        await edit_or_reply(update, tr("notice.no_questionnaires"))
        await ask_audience(update, context, tr)
        return AUDIENCE
    pages = max(1, (total + CHOICES_PER_PAGE - 1) // CHOICES_PER_PAGE)
    rows = [[kb.button(short(c.title), cb.QUESTIONNAIRE_PICK.data(id=c.id))] for c in choices]
    rows += [_nav(tr, cb.QUESTIONNAIRE_PAGE, page, total), _footer(tr)]
    await COMPOSE.enter(update, context, PICK_QUESTIONNAIRE)
    await edit_or_reply(update, tr("notice.pick_questionnaire", page=page + 1, pages=pages), kb.inline(rows))
    return PICK_QUESTIONNAIRE


Shower = Callable[[Update, Ctx, Actor, Translator, int], Awaitable[int]]


async def unavailable(update: Update, context: Ctx) -> None:
    """A forged, stale or no-longer-allowed choice: say so politely and stay where we are."""
    tr = await translator(update, context)
    await answer(update, str(tr("notice.audience.unavailable")), alert=True)


async def _turn_page(update: Update, context: Ctx, button: Button, state: int, show: Shower) -> int:
    """◀ ▶ of a picker: show that page."""
    who = await coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    pressed = press(update, button)
    if pressed is None:
        await unavailable(update, context)
        return state
    await answer(update)
    return await show(update, context, who, await translator(update, context), pressed.num("page"))


async def activity_page(update: Update, context: Ctx) -> int:
    return await _turn_page(update, context, cb.ACTIVITY_PAGE, PICK_ACTIVITY, show_activities)


async def questionnaire_page(update: Update, context: Ctx) -> int:
    return await _turn_page(update, context, cb.QUESTIONNAIRE_PAGE, PICK_QUESTIONNAIRE, show_questionnaires)


async def activity_pressed(
    update: Update, context: Ctx, button: Button
) -> tuple[Actor | None, ActivityChoice | None]:
    """The coordinator and the activity a button names: (None, None) when the caller is no
    coordinator, (who, None) when the id is not theirs (already answered)."""
    who = await coordinator(update, context)
    if who is None:
        return None, None
    pressed = press(update, button)
    try:
        if pressed is None:
            raise AccessDenied("forged")
        return who, await context.services.notices.audiences.activity(who, pressed.num("id"))
    except AccessDenied:
        await unavailable(update, context)
        return who, None


async def activity_picked(update: Update, context: Ctx) -> int:
    who, choice = await activity_pressed(update, context, cb.ACTIVITY_PICK)
    if who is None:
        return ConversationHandler.END
    if choice is None:
        return PICK_ACTIVITY
    await answer(update)
    return await show_statuses(update, context, who, await translator(update, context), choice)


async def show_statuses(update: Update, context: Ctx, who: Actor, tr: Translator, choice: ActivityChoice) -> int:
    rows = []
    for status in PARTICIPANT_STATUSES:
        count = await context.services.notices.count(who, activity_segment(choice.id, status))
        rows.append([kb.button(tr(f"notice.participants.{status}", count=count),
                               cb.STATUS_PICK.data(id=choice.id, status=cb.STATUS_CODES[status]))])
    rows.append(_footer(tr))
    await COMPOSE.enter(update, context, PICK_STATUS)
    await edit_or_reply(update, tr("notice.pick_status", title=choice.title), kb.inline(rows))
    return PICK_STATUS


async def status_picked(update: Update, context: Ctx) -> int:
    who = await coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    pressed = press(update, cb.STATUS_PICK)
    try:
        if pressed is None:
            raise AccessDenied("forged")
        choice = await context.services.notices.audiences.activity(who, pressed.num("id"))
    except AccessDenied:
        await unavailable(update, context)
        return PICK_STATUS
    await answer(update)
    draft = draft_of(context)
    _reset_audience(draft)
    draft.update(kind=ACTIVITY, ref=choice.id, ref_title=choice.title, status=STATUS_OF_CODE[pressed.text("status")])
    return await audience_done(update, context, who)


async def questionnaire_picked(update: Update, context: Ctx) -> int:
    who = await coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    pressed = press(update, cb.QUESTIONNAIRE_PICK)
    segment = questionnaire_segment(pressed.num("id")) if pressed is not None else None
    try:
        if segment is None:
            raise AccessDenied("forged")
        await context.services.notices.count(who, segment)  # checks the questionnaire is visible and open
        title = await context.services.notices.audiences.questionnaire_title(who, pressed.num("id")) if pressed else ""
    except AccessDenied:
        await unavailable(update, context)
        return PICK_QUESTIONNAIRE
    await answer(update)
    draft = draft_of(context)
    _reset_audience(draft)
    draft.update(kind=QUESTIONNAIRE, ref=segment.ref_id, ref_title=title)
    return await audience_done(update, context, who)


async def audience_back(update: Update, context: Ctx) -> int:
    if await coordinator(update, context) is None:
        return ConversationHandler.END
    await answer(update)
    await ask_audience(update, context, await translator(update, context), edit=True)
    return AUDIENCE


# --- the audience is complete ----------------------------------------------------------------------------
async def audience_done(update: Update, context: Ctx, who: Actor) -> int:
    """The preview of a new notice, or re-targeting a scheduled one."""
    notice_id = draft_of(context).get(RETARGET)
    if not isinstance(notice_id, int):
        return await preview(update, context, who)
    return await _retarget(update, context, who, notice_id)


async def _retarget(update: Update, context: Ctx, who: Actor, notice_id: int) -> int:
    tr = await translator(update, context)
    try:
        count = await context.services.notices.change_audience(who, notice_id, segment_of(draft_of(context)))
    except Refusal as exc:
        if exc.key in ("notice.no_selection", "notice.audience.outside_author"):
            await edit_or_reply(update, tr(exc.key, **exc.values))
            await COMPOSE.enter(update, context, AUDIENCE)
            await ask_audience(update, context, tr)
            return AUDIENCE
        await edit_or_reply(update, tr(exc.key, **exc.values))
        clear(context)
        return ConversationHandler.END
    except AccessDenied:
        clear(context)
        await refuse(update, context)
        return ConversationHandler.END
    clear(context)
    await edit_or_reply(update, tr("notice.audience.changed", id=notice_id, count=count),
                        kb.inline([[kb.button(tr("notice.btn.back"), cb.VIEW.data(id=notice_id))]]))
    return ConversationHandler.END
