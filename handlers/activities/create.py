"""/newactivity: the guided creation of an activity (coordinators).

Title, description, start, end, place, capacity, sign-up deadline, who may sign up (groups and
categories, a picker rendered from the stored draft), reminders, rating survey, seat offers,
repeat; then a summary showing every choice that will take effect, and Publish.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters

from bot import when
from bot.activities import DEFAULT_REMINDERS, MAX_PLACE, MAX_TEXT, MAX_TITLE, parse_capacity, parse_offsets
from bot.activities import callbacks as cb
from bot.context import Ctx, LiaisonApp
from bot.dates import show
from bot.errors import Refusal
from bot.i18n import Translator
from bot.labels import KINDS, label
from bot.roles import AccessDenied
from handlers import common, steps
from handlers import keyboards as kb
from handlers.activities.common import clean, quick_answer, quick_keyboard, refusal_text, typed, typed_date, zone_name
from handlers.activities.summary import show_summary as _show_summary
from handlers.activities.summary import to_draft as _to_draft
from handlers.base import actor, answer, edit_or_reply, refuse, reply, translator
from handlers.buttons import ButtonHandler, on, press
from handlers.flows import guided

(TITLE, DESC, START, END, PLACE, CAPACITY, DEADLINE, ELIG, REMIND, SURVEY, OFFER, REPEAT, CONFIRM) = range(13)
DRAFT = "act_draft"
Parse = Callable[[str], dict[str, Any]]  # a typed answer -> draft fields; ValueError if invalid
# Step journal of /newactivity (handlers/steps.py): restarted one step behind, it asks again.
CREATE = steps.Flow("activity_new")


def _draft(context: Ctx) -> dict[str, Any]:
    data = context.user_data if context.user_data is not None else {}
    draft = data.setdefault(DRAFT, {})
    assert isinstance(draft, dict)
    draft.setdefault("groups", [])
    draft.setdefault("cats", [])
    return draft


async def new_start(update: Update, context: Ctx) -> int:
    who = await actor(update, context)
    if not who.is_coordinator:
        await refuse(update, context)
        return ConversationHandler.END
    if context.user_data is not None:
        context.user_data[DRAFT] = {"groups": [], "cats": []}
    tr = await translator(update, context)
    await CREATE.enter(update, context, TITLE)
    await reply(update, tr("act.new.title"))
    return TITLE


async def _text_step(
    update: Update, context: Ctx, field: str, limit: int, state: int, next_state: int, *, optional: bool = False
) -> tuple[int, Translator]:
    """Store a typed text (`-` skips an optional one) and move on; a bad one is asked for again."""
    tr = await translator(update, context)
    raw = update.message.text if update.message else (typed(update) or None)
    value = "" if optional and raw and raw.strip() == "-" else clean(raw, limit)
    if value is None:
        await reply(update, tr("act.new.bad_text", limit=limit))
        return state, tr
    _draft(context)[field] = value
    await CREATE.enter(update, context, next_state)
    return next_state, tr


async def got_title(update: Update, context: Ctx) -> int:
    state, tr = await _text_step(update, context, "title", MAX_TITLE, TITLE, DESC)
    if state == DESC:
        await reply(update, tr("act.new.description"), quick_keyboard(tr, "desc"))
    return state


async def got_desc(update: Update, context: Ctx) -> int:
    state, tr = await _text_step(update, context, "desc", MAX_TEXT, DESC, START, optional=True)
    if state == START:
        await reply(update, tr("act.new.start", zone=zone_name(tr, context)), quick_keyboard(tr, "start"))
    return state


async def got_start(update: Update, context: Ctx) -> int:
    """The start, or the start and end typed together (明天 09:00-13:00: the end step is skipped)."""
    both = when.split_range(typed(update))
    moment = await typed_date(update, context, text=both[0] if both else None)
    if moment is None:
        return START
    tr = await translator(update, context)
    _draft(context)["start"] = moment.isoformat()
    zone = context.services.settings.zone
    if both:
        end = await typed_date(update, context, after=moment, text=both[1])
        if end is None:
            return START
        if end <= moment:
            await reply(update, tr("act.bad.end_before_start"))
            return START
        _draft(context)["end"] = end.isoformat()
        await CREATE.enter(update, context, PLACE)
        ok = tr("act.new.start_ok", when=show(moment, zone), zone=zone_name(tr, context))
        ok_end = tr("act.new.end_ok", when=show(end, zone), zone=zone_name(tr, context))
        await reply(update, ok + "\n" + ok_end + "\n" + tr("act.new.place"), quick_keyboard(tr, "place"))
        return PLACE
    await CREATE.enter(update, context, END)
    ok = tr("act.new.start_ok", when=show(moment, zone), zone=zone_name(tr, context))
    await reply(update, ok + "\n" + tr("act.new.end"))
    return END


async def got_end(update: Update, context: Ctx) -> int:
    draft = _draft(context)
    moment = await typed_date(update, context, after=datetime.fromisoformat(draft["start"]))
    if moment is None:
        return END
    tr = await translator(update, context)
    if moment <= datetime.fromisoformat(draft["start"]):
        await reply(update, tr("act.bad.end_before_start"))
        return END
    draft["end"] = moment.isoformat()
    zone = context.services.settings.zone
    await CREATE.enter(update, context, PLACE)
    ok = tr("act.new.end_ok", when=show(moment, zone), zone=zone_name(tr, context))
    await reply(update, ok + "\n" + tr("act.new.place"), quick_keyboard(tr, "place"))
    return PLACE


async def got_place(update: Update, context: Ctx) -> int:
    state, tr = await _text_step(update, context, "place", MAX_PLACE, PLACE, CAPACITY, optional=True)
    if state == CAPACITY:
        await reply(update, tr("act.new.capacity"), quick_keyboard(tr, "cap"))
    return state


async def _parsed_step(
    update: Update, context: Ctx, parse: Parse, bad_key: str, state: int, next_state: int
) -> tuple[int, Translator]:
    """Store what `parse` makes of the typed answer and move on; a bad one (ValueError) is asked again."""
    tr = await translator(update, context)
    try:
        values = parse(typed(update))
    except ValueError:
        await reply(update, tr(bad_key))
        return state, tr
    _draft(context).update(values)
    await CREATE.enter(update, context, next_state)
    return next_state, tr


def _capacity(raw: str) -> dict[str, Any]:
    return {"capacity": None if raw == "-" else parse_capacity(raw)}


def _reminders(raw: str) -> dict[str, Any]:
    return {"reminders": list(DEFAULT_REMINDERS if raw == "-" else parse_offsets(raw))}


def _offer(raw: str) -> dict[str, Any]:
    """Hours a freed seat is held for the next on the waitlist (`-`: confirmed at once)."""
    if raw == "-":
        return {"offer": None}
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 168:
        raise ValueError(raw)
    return {"offer": int(raw)}


def _repeat(raw: str) -> dict[str, Any]:
    """`weekly 4` / `monthly 3` (2-52 occurrences), or `-` for once."""
    if raw == "-":
        return {"repeat": "none", "count": 1}
    parts = raw.lower().split()
    if len(parts) != 2 or parts[0] not in ("weekly", "monthly") or not parts[1].isascii() or not parts[1].isdigit():
        raise ValueError(raw)
    if not 2 <= int(parts[1]) <= 52:
        raise ValueError(raw)
    return {"repeat": parts[0], "count": int(parts[1])}


async def got_capacity(update: Update, context: Ctx) -> int:
    state, tr = await _parsed_step(update, context, _capacity, "act.bad.capacity", CAPACITY, DEADLINE)
    if state == DEADLINE:
        await reply(update, tr("act.new.deadline"), quick_keyboard(tr, "dl"))
    return state


async def got_deadline(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    draft = _draft(context)
    start = datetime.fromisoformat(draft["start"])
    if typed(update) == "-":
        moment = start
    else:
        found = await typed_date(update, context)
        if found is None:
            return DEADLINE
        moment = found
    if moment > start:
        await reply(update, tr("act.bad.deadline_after_start"))
        return DEADLINE
    draft["deadline"] = moment.isoformat()
    await CREATE.enter(update, context, ELIG)
    await reply(update, tr("act.new.deadline_ok", when=show(moment, context.services.settings.zone)))
    await _show_elig(update, context, edit=False)
    return ELIG


# --- who may sign up: a picker rendered from the stored draft --------------------------------------
async def _show_elig(update: Update, context: Ctx, *, edit: bool) -> None:
    tr = await translator(update, context)
    draft = _draft(context)
    rows = []
    for g in await context.services.activities.pickable_groups(await actor(update, context)):
        mark = "✅ " if g.id in draft["groups"] else ""
        rows.append([kb.button(mark + g.name, cb.PICK_GROUP.data(id=g.id))])
    cats = [
        kb.button(("✅ " if c in draft["cats"] else "") + label(tr, "category", c), cb.PICK_CATEGORY.data(cat=c))
        for c in KINDS["category"]
    ]
    rows += kb.columns(cats)
    rows.append([kb.button(str(tr("act.btn.done")), cb.ELIGIBILITY_DONE.data())])
    text = tr("act.new.eligibility")
    if edit:
        await edit_or_reply(update, text, kb.inline(rows))
    else:
        await reply(update, text, kb.inline(rows))


def _toggle(values: list[Any], value: Any) -> None:
    if value in values:
        values.remove(value)
    else:
        values.append(value)


async def toggle_group(update: Update, context: Ctx) -> int:
    pressed = press(update, cb.PICK_GROUP)
    groups = await context.services.activities.pickable_groups(await actor(update, context))
    if pressed is None or pressed.num("id") not in {g.id for g in groups}:
        await refuse(update, context)
        return ELIG
    _toggle(_draft(context)["groups"], pressed.num("id"))
    await answer(update)
    await _show_elig(update, context, edit=True)
    return ELIG


async def toggle_cat(update: Update, context: Ctx) -> int:
    pressed = press(update, cb.PICK_CATEGORY)
    if pressed is not None:
        _toggle(_draft(context)["cats"], pressed.text("cat"))
    await answer(update)
    await _show_elig(update, context, edit=True)
    return ELIG


async def elig_done(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    who = await actor(update, context)
    if not who.scope.everything and not _draft(context)["groups"]:
        await answer(update, str(tr("act.new.pick_group")), alert=True)
        return ELIG
    await answer(update)
    await CREATE.enter(update, context, REMIND)
    await reply(update, tr("act.new.reminders"), quick_keyboard(tr, "rem"))
    return REMIND


# --- reminders, survey, offers, repeat --------------------------------------------------------------
async def got_reminders(update: Update, context: Ctx) -> int:
    state, tr = await _parsed_step(update, context, _reminders, "act.bad.reminders", REMIND, SURVEY)
    if state == SURVEY:
        await _ask_survey(update, tr)
    return state


async def _ask_survey(update: Update, tr: Translator) -> None:
    yes, no = cb.SURVEY_CHOICE.data(yes="1"), cb.SURVEY_CHOICE.data(yes="0")
    yes_no = kb.inline([[kb.button(str(tr("act.btn.yes")), yes), kb.button(str(tr("act.btn.no")), no)]])
    await reply(update, tr("act.new.survey"), yes_no)


async def got_survey(update: Update, context: Ctx) -> int:
    pressed = press(update, cb.SURVEY_CHOICE)
    await answer(update)
    if pressed is None:
        return SURVEY
    _draft(context)["survey"] = pressed.text("yes") == "1"
    tr = await translator(update, context)
    await CREATE.enter(update, context, OFFER)
    await edit_or_reply(update, tr("act.new.offer"), quick_keyboard(tr, "off"))
    return OFFER


async def got_offer(update: Update, context: Ctx) -> int:
    state, tr = await _parsed_step(update, context, _offer, "act.bad.offer", OFFER, REPEAT)
    if state == REPEAT:
        await reply(update, tr("act.new.repeat"), quick_keyboard(tr, "rep"))
    return state


async def got_repeat(update: Update, context: Ctx) -> int:
    state, tr = await _parsed_step(update, context, _repeat, "act.bad.repeat", REPEAT, CONFIRM)
    if state == CONFIRM:
        await _show_summary(update, context, tr, _draft(context))
    return state


# --- the summary: every choice that will take effect, from the stored draft -----------------------
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


# Questions of /newactivity asked again after an interrupted step (handlers/steps.py).
_PROMPTS = {
    TITLE: "act.new.title",
    DESC: "act.new.description",
    START: "act.new.start",
    END: "act.new.end",
    PLACE: "act.new.place",
    CAPACITY: "act.new.capacity",
    DEADLINE: "act.new.deadline",
    REMIND: "act.new.reminders",
    OFFER: "act.new.offer",
    REPEAT: "act.new.repeat",
}


# The steps answered with a quick button too (handlers/activities/common.QUICK).
_QUICK_STEP = {
    DESC: "desc",
    START: "start",
    PLACE: "place",
    CAPACITY: "cap",
    DEADLINE: "dl",
    REMIND: "rem",
    OFFER: "off",
    REPEAT: "rep",
}
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


@CREATE.asks(*_PROMPTS, ELIG, SURVEY, CONFIRM)
async def _ask_again(update: Update, context: Ctx, state: int) -> int:
    who = await actor(update, context)
    if not who.is_coordinator:
        await refuse(update, context)
        return ConversationHandler.END
    tr = await translator(update, context)
    if state == ELIG:
        await _show_elig(update, context, edit=False)
    elif state == SURVEY:
        await _ask_survey(update, tr)
    elif state == CONFIRM:
        await _show_summary(update, context, tr, _draft(context))
    else:
        step = _QUICK_STEP.get(state)
        await reply(
            update, tr(_PROMPTS[state], zone=zone_name(tr, context)), quick_keyboard(tr, step) if step else None
        )
    return state


def register(app: LiaisonApp) -> None:
    text = filters.TEXT & ~filters.COMMAND & common.COMMAND_FILTER
    app.add_handler(
        guided(
            app,
            CREATE,
            title_key="flow.activity_new",
            keeps_draft=False,
            entry_points=[CommandHandler("newactivity", new_start, filters=common.COMMAND_FILTER)],
            states={
                TITLE: [MessageHandler(text, got_title)],
                DESC: [MessageHandler(text, got_desc), _quick(DESC, got_desc)],
                START: [MessageHandler(text, got_start), _quick(START, got_start)],
                END: [MessageHandler(text, got_end)],
                PLACE: [MessageHandler(text, got_place), _quick(PLACE, got_place)],
                CAPACITY: [MessageHandler(text, got_capacity), _quick(CAPACITY, got_capacity)],
                DEADLINE: [MessageHandler(text, got_deadline), _quick(DEADLINE, got_deadline)],
                ELIG: [
                    on(cb.PICK_GROUP, toggle_group),
                    on(cb.PICK_CATEGORY, toggle_cat),
                    on(cb.ELIGIBILITY_DONE, elig_done),
                ],
                REMIND: [MessageHandler(text, got_reminders), _quick(REMIND, got_reminders)],
                SURVEY: [on(cb.SURVEY_CHOICE, got_survey)],
                OFFER: [MessageHandler(text, got_offer), _quick(OFFER, got_offer)],
                REPEAT: [MessageHandler(text, got_repeat), _quick(REPEAT, got_repeat)],
                CONFIRM: [on(cb.PUBLISH, got_confirm)],
            },
        )
    )
