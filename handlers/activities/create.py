"""/newactivity: the guided creation of an activity (coordinators), in at most six steps.

Title, time (a start, or a start and end typed together; quick buttons for common days and
times), place, seats (buttons or a typed number), who (the groups, or everyone in one tap); then
the summary with Publish and 更多选项 (description, end, sign-up deadline, reminders, repeat,
rating survey, seat offers, categories: handlers/activities/more.py). Every choice is a button;
typing is for free text and times only.

The stored draft (user_data, persisted) is the source of truth: after each answer the next step
is the first one the draft still lacks (`advance`), and the summary is rendered from it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot import when
from bot.activities import DEFAULT_REMINDERS, MAX_PLACE, MAX_TITLE, parse_capacity
from bot.activities import callbacks as cb
from bot.context import Ctx, LiaisonApp
from bot.errors import Refusal
from bot.i18n import Translator
from bot.roles import AccessDenied
from handlers import common, steps
from handlers import keyboards as kb
from handlers.activities import more
from handlers.activities.common import (
    QUICK,
    clean,
    quick_answer,
    quick_keyboard,
    refusal_text,
    typed,
    typed_date,
    zone_name,
)
from handlers.activities.summary import show_summary as _show_summary
from handlers.activities.summary import to_draft as _to_draft
from handlers.base import actor, answer, edit_or_reply, refuse, reply, translator
from handlers.buttons import ButtonHandler, on, press
from handlers.flows import guided

# State numbers are stored with persisted conversations: the old ones keep their numbers (a
# conversation left in a retired step is taken to the first step its draft lacks, see LEGACY).
(TITLE, DESC, START, END, PLACE, CAPACITY, DEADLINE, ELIG, REMIND, SURVEY, OFFER, REPEAT, CONFIRM) = range(13)
LEGACY = (REMIND, SURVEY, OFFER, REPEAT)
DRAFT = more.DRAFT
Parse = Callable[[str], dict[str, Any]]  # a typed answer -> draft fields; ValueError if invalid
# Step journal of /newactivity (handlers/steps.py): restarted one step behind, it asks again.
CREATE = steps.Flow("activity_new")


def _draft(context: Ctx) -> dict[str, Any]:
    return more.draft_of(context)


def fresh_draft() -> dict[str, Any]:
    """A new draft: the 更多选项 at their defaults (shown in the summary, changed there)."""
    return {
        "groups": [],
        "cats": [],
        "desc": "",
        "end": None,  # None: two hours after the start (summary.DEFAULT_LENGTH)
        "deadline": None,  # None: until the start
        "reminders": list(DEFAULT_REMINDERS),
        "survey": False,
        "offer": None,
        "repeat": "none",
        "count": 1,
    }


async def new_start(update: Update, context: Ctx) -> int:
    who = await actor(update, context)
    if not who.is_coordinator:
        await refuse(update, context)
        return ConversationHandler.END
    if context.user_data is not None:
        context.user_data[DRAFT] = fresh_draft()
    tr = await translator(update, context)
    await CREATE.enter(update, context, TITLE)
    await reply(update, tr("act.new.title"))
    return TITLE


# --- the next step is the first one the draft lacks -------------------------------------------------
def _missing(draft: dict[str, Any]) -> int:
    for key, state in (("title", TITLE), ("start", START), ("place", PLACE), ("capacity", CAPACITY)):
        if key not in draft:
            return state
    return CONFIRM if draft.get("who_done") else ELIG


async def advance(update: Update, context: Ctx, *, lead: str = "", edit: bool = False) -> int:
    """Ask the first step the stored draft lacks (`lead`: a line saying what was just taken)."""
    state = _missing(_draft(context))
    await CREATE.enter(update, context, state)
    await _ask(update, context, state, lead=lead, edit=edit)
    return state


async def _ask(update: Update, context: Ctx, state: int, *, lead: str = "", edit: bool = False) -> None:
    tr = await translator(update, context)
    draft = _draft(context)
    if state == ELIG:
        if lead:
            await reply(update, lead)
        await _show_elig(update, context, edit=edit)
        return
    if state == CONFIRM:
        if lead:
            await reply(update, lead)
        await _show_summary(update, context, tr, draft, edit=edit)
        return
    prompts = {TITLE: "act.new.title", START: "act.new.start", PLACE: "act.new.place", CAPACITY: "act.new.capacity"}
    text = tr(prompts[state], zone=zone_name(tr, context))
    markup: InlineKeyboardMarkup | None = None
    if state == START:
        markup = _start_keyboard(tr, context)
    elif state == PLACE:
        markup = quick_keyboard(tr, "place")
    elif state == CAPACITY:
        markup = quick_keyboard(tr, "cap")
    await reply(update, (lead + "\n" if lead else "") + text, markup)


def _start_keyboard(tr: Translator, context: Ctx) -> InlineKeyboardMarkup:
    """今天/明天/本周六 at common times (a row each), those already past left out; the 下周六 row
    only once 本周六 has passed."""
    services = context.services
    now = services.clock.now()
    today, tomorrow, saturday, next_saturday = (
        [b for b in row if _ahead(b, tr, context, now)] for row in quick_keyboard(tr, "start").inline_keyboard
    )
    return kb.inline([today, tomorrow, saturday or next_saturday])


def _ahead(button: InlineKeyboardButton, tr: Translator, context: Ctx, now: datetime) -> bool:
    pressed = cb.QUICK.parse(button.callback_data)
    text = QUICK["start"][pressed.num("pick")][1] if pressed is not None else ""
    moment = when.parse(text, now, context.services.settings.zone, tr.lang)
    return isinstance(moment, datetime) and moment > now


# --- the steps ----------------------------------------------------------------------------------------
async def got_title(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    value = clean(update.message.text if update.message else None, MAX_TITLE)
    if value is None:
        await reply(update, tr("act.new.bad_text", limit=MAX_TITLE))
        return TITLE
    _draft(context)["title"] = value
    return await advance(update, context)


async def got_start(update: Update, context: Ctx) -> int:
    """The start, or the start and end typed together (明天 09:00-13:00, 12月20日 14:00至16:30)."""
    both = when.split_range(typed(update))
    moment = await typed_date(update, context, text=both[0] if both else None)
    if moment is None:
        return START
    tr = await translator(update, context)
    draft = _draft(context)
    zone = context.services.settings.zone
    end: datetime | None = None
    if both:
        end = await typed_date(update, context, after=moment, text=both[1])
        if end is None:
            return START
        if end <= moment:
            await reply(update, tr("act.bad.end_before_start"))
            return START
    draft["start"] = moment.isoformat()
    draft["end"] = end.isoformat() if end else None
    lines = [str(tr("act.new.start_ok", when=when.moment(tr, moment, zone), zone=zone_name(tr, context)))]
    if end is not None:
        lines.append(str(tr("act.new.end_ok", when=when.moment(tr, end, zone), zone=zone_name(tr, context))))
    return await advance(update, context, lead="\n".join(lines))


async def got_place(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    raw = update.message.text if update.message else (typed(update) or None)
    value = "" if raw and raw.strip() == "-" else clean(raw, MAX_PLACE)
    if value is None:
        await reply(update, tr("act.new.bad_text", limit=MAX_PLACE))
        return PLACE
    _draft(context)["place"] = value
    return await advance(update, context)


async def got_capacity(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    raw = typed(update)
    try:
        value = None if raw == "-" else parse_capacity(raw)
    except ValueError:
        await reply(update, tr("act.bad.capacity"), quick_keyboard(tr, "cap"))
        return CAPACITY
    _draft(context)["capacity"] = value
    return await advance(update, context)


# --- who may sign up: a picker rendered from the stored draft --------------------------------------
async def _show_elig(update: Update, context: Ctx, *, edit: bool) -> None:
    tr = await translator(update, context)
    draft = _draft(context)
    who = await actor(update, context)
    rows = [[kb.button(str(tr("act.btn.who_all" if who.scope.everything else "act.btn.who_mine")), cb.WHO_ALL.data())]]
    for g in await context.services.activities.pickable_groups(who):
        mark = "✅ " if g.id in draft["groups"] else ""
        rows.append([kb.button(mark + g.name, cb.PICK_GROUP.data(id=g.id))])
    rows.append([kb.button(str(tr("act.btn.done")), cb.ELIGIBILITY_DONE.data())])
    text = tr("act.new.eligibility")
    if edit:
        await edit_or_reply(update, text, kb.inline(rows))
    else:
        await reply(update, text, kb.inline(rows))


async def toggle_group(update: Update, context: Ctx) -> int:
    pressed = press(update, cb.PICK_GROUP)
    groups = await context.services.activities.pickable_groups(await actor(update, context))
    if pressed is None or pressed.num("id") not in {g.id for g in groups}:
        await refuse(update, context)
        return ELIG
    more.toggle(_draft(context)["groups"], pressed.num("id"))
    await answer(update)
    await _show_elig(update, context, edit=True)
    return ELIG


async def who_all(update: Update, context: Ctx) -> int:
    """Everyone the coordinator may address: all members (owner) or all their own groups."""
    who = await actor(update, context)
    draft = _draft(context)
    if who.scope.everything:
        draft["groups"] = []
    else:
        mine = await context.services.activities.pickable_groups(who, limit=10_000)
        roots = [g.id for g in mine if g.path in who.scope.paths]  # their own groups (the subtrees' heads)
        draft["groups"] = roots or [g.id for g in mine]
    await answer(update)
    draft["who_done"] = True
    return await advance(update, context, edit=True)


async def elig_done(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    who = await actor(update, context)
    if not who.scope.everything and not _draft(context)["groups"]:
        await answer(update, str(tr("act.new.pick_group")), alert=True)
        return ELIG
    await answer(update)
    _draft(context)["who_done"] = True
    return await advance(update, context, edit=True)


# --- the summary: Publish, 更多选项 or discard -------------------------------------------------------------
async def got_confirm(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    pressed = press(update, cb.PUBLISH)
    await answer(update)
    if pressed is None:
        return CONFIRM
    if pressed.text("choice") != "go":
        await edit_or_reply(update, tr("common.cancelled"))
        _draft(context).clear()
        return ConversationHandler.END
    who = await actor(update, context)
    try:
        result = await context.services.activities.create(who, _to_draft(_draft(context)))
    except AccessDenied:
        await edit_or_reply(update, tr("act.bad.out_of_scope" if who.is_coordinator else "act.bad.not_allowed"))
        return ConversationHandler.END
    except Refusal as refusal:
        await edit_or_reply(update, refusal_text(tr, refusal))
        return CONFIRM
    _draft(context).clear()
    assert result.activity is not None
    await edit_or_reply(
        update,
        tr(
            "act.new.published",
            title=result.activity.title,
            recipients=result.extra["recipients"],
            id=result.activity.id,
        ),
    )
    return ConversationHandler.END


async def legacy_step(update: Update, context: Ctx) -> int:
    """A conversation left in a step this wizard no longer has: on to what the draft lacks."""
    if update.callback_query is not None:
        await answer(update)
    return await advance(update, context)


# The steps answered with a quick button too (handlers/activities/common.QUICK).
_QUICK_STEP = {START: "start", PLACE: "place", CAPACITY: "cap"}
Step = Callable[[Update, Ctx], Awaitable[int]]


def _quick(state: int, step_answer: Step) -> ButtonHandler:
    """A quick button of `state`'s question, answered as if its text had been typed."""

    async def callback(update: Update, context: Ctx) -> int:
        if quick_answer(update, _QUICK_STEP[state]) is None:  # a button of another (earlier) question
            tr = await translator(update, context)
            await answer(update, str(tr("act.new.quick_stale")))
            return state
        await answer(update)
        return await step_answer(update, context)

    callback.__name__ = f"quick_{_QUICK_STEP[state]}"
    return on(cb.QUICK, callback)


@CREATE.asks(TITLE, START, PLACE, CAPACITY, ELIG, CONFIRM, *LEGACY)
async def _ask_again(update: Update, context: Ctx, state: int) -> int:
    who = await actor(update, context)
    if not who.is_coordinator:
        await refuse(update, context)
        return ConversationHandler.END
    if state in LEGACY:
        return await advance(update, context)
    await _ask(update, context, state)
    return state


@CREATE.asks(DESC, END, DEADLINE)
async def _ask_option_again(update: Update, context: Ctx, state: int) -> int:
    who = await actor(update, context)
    if not who.is_coordinator:
        await refuse(update, context)
        return ConversationHandler.END
    await more.ask_typed(update, context, {DESC: "desc", END: "end", DEADLINE: "dl"}[state], edit=False)
    return state


def register(app: LiaisonApp) -> None:
    text = filters.TEXT & ~filters.COMMAND & common.COMMAND_FILTER
    options = more.Options(
        summary=CONFIRM,
        typed={"desc": DESC, "end": END, "dl": DEADLINE},
        journal=CREATE,
        show=_show_summary,
        resume=advance,
    )
    legacy = [MessageHandler(text, legacy_step), CallbackQueryHandler(legacy_step)]
    app.add_handler(
        guided(
            app,
            CREATE,
            title_key="flow.activity_new",
            keeps_draft=False,
            entry_points=[CommandHandler("newactivity", new_start, filters=common.COMMAND_FILTER)],
            states={
                TITLE: [MessageHandler(text, got_title)],
                START: [MessageHandler(text, got_start), _quick(START, got_start)],
                PLACE: [MessageHandler(text, got_place), _quick(PLACE, got_place)],
                CAPACITY: [MessageHandler(text, got_capacity), _quick(CAPACITY, got_capacity)],
                ELIG: [on(cb.WHO_ALL, who_all), on(cb.PICK_GROUP, toggle_group), on(cb.ELIGIBILITY_DONE, elig_done)],
                CONFIRM: [on(cb.PUBLISH, got_confirm), *options.summary_handlers()],
                DESC: options.typed_handlers("desc", text),
                END: options.typed_handlers("end", text),
                DEADLINE: options.typed_handlers("dl", text),
                **{state: list(legacy) for state in LEGACY},
            },
        )
    )
