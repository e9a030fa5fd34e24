"""Editing an activity (coordinators).

The guided edit: Edit button on the roster view -> choose a field by button -> type the new value
(validated with the creation rules and texts) -> confirm -> saved. Every press carries the
activity id and is re-checked (`ActivityService.manageable`); all the buttons are entry points
(with re-entry), so a stale or forged press is answered the same way whatever the state. The
value waiting for confirmation lives in `user_data` (persisted), so the flow survives a restart.
Saving goes through the same service methods as /editactivity and /capacity (`edit` tells
signed-up members; `change_capacity` promotes the waitlist), which also write the audit log.

/editactivity <id> <title|place|start|end> <value>: the one-line edit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters

from bot import when
from bot.activities import MAX_PLACE, MAX_TEXT, MAX_TITLE, Activity, parse_capacity, plan_edit
from bot.activities import callbacks as cb
from bot.context import Ctx, LiaisonApp
from bot.dates import show
from bot.errors import Refusal
from bot.i18n import Markup, Translator
from bot.roles import AccessDenied
from handlers import common, steps
from handlers import keyboards as kb
from handlers.activities.common import clean, number, private_chat, refusal_text, typed_date, zone_name
from handlers.base import actor, answer, edit_or_reply, refuse, reply, translator
from handlers.buttons import on, press
from handlers.flows import guided

CHOOSE, VALUE, CONFIRM = 40, 41, 42
PENDING = "act_edit"
# Short codes in callback data -> the field names of the model (and of the catalogue keys).
FIELDS: dict[str, str] = dict(
    zip(
        cb.EDIT_FIELD_CODES,
        ("title", "description", "place", "starts_at", "ends_at", "signup_deadline", "capacity"),
        strict=True,
    )
)
TIMES = ("starts_at", "ends_at", "signup_deadline")
# Step journal (handlers/steps.py): restarted one step behind, the flow asks the current step again.
EDIT = steps.Flow("activity_edit")


def _code(field: str) -> str:
    return next(code for code, name in FIELDS.items() if name == field)


def _pending(context: Ctx) -> dict[str, Any] | None:
    data = context.user_data
    value = data.get(PENDING) if data is not None else None
    return value if isinstance(value, dict) else None


def _set_pending(context: Ctx, value: dict[str, Any] | None) -> None:
    if context.user_data is None:
        return
    if value is None:
        context.user_data.pop(PENDING, None)
    else:
        context.user_data[PENDING] = value


async def _manageable(update: Update, context: Ctx, activity_id: int | None) -> Activity | None:
    """The activity if the caller may manage it now; otherwise refuse politely (None)."""
    if not await private_chat(update, context):
        return None
    who = await actor(update, context)
    a = await context.services.activities.manageable(who, activity_id) if activity_id is not None else None
    if a is None:
        await refuse(update, context)
        return None
    if a.status == "cancelled":
        await refuse(update, context, "act.bad.cancelled")
        return None
    return a


def _changes(a: Activity, field: str, value: Any) -> dict[str, Any]:
    """The model changes for one edited field. A new start keeps the duration (the end moves
    with it), so moving an activity to another day is one step, not two."""
    if field == "starts_at":
        start = datetime.fromisoformat(value)
        return {"starts_at": start, "ends_at": start + (a.ends_at - a.starts_at)}
    return {field: datetime.fromisoformat(value) if field in TIMES else value}


def _span(context: Ctx, start: datetime, end: datetime) -> str:
    zone = context.services.settings.zone
    return f"{show(start, zone)} – {show(end, zone)}"


def _current(tr: Translator, context: Ctx, a: Activity, field: str) -> str:
    zone = context.services.settings.zone
    if field == "starts_at":
        return _span(context, a.starts_at, a.ends_at)
    if field in TIMES:
        moment: datetime = getattr(a, field)
        return show(moment, zone)
    if field == "capacity":
        return str(a.capacity) if a.capacity is not None else str(tr("act.edit.unlimited"))
    text = str(getattr(a, field))
    return text if text else "-"


def _shown(tr: Translator, context: Ctx, a: Activity, field: str, value: Any) -> str:
    if field == "starts_at":
        changes = _changes(a, field, value)
        return _span(context, changes["starts_at"], changes["ends_at"])
    if field in TIMES:
        return show(datetime.fromisoformat(value), context.services.settings.zone)
    if field == "capacity":
        return str(value) if value is not None else str(tr("act.edit.unlimited"))
    return str(value) if value else "-"


def _menu(tr: Translator, a: Activity) -> tuple[Markup, InlineKeyboardMarkup]:
    buttons = [
        kb.button(str(tr(f"act.field.{name}")), cb.EDIT_FIELD.data(id=a.id, field=code))
        for code, name in FIELDS.items()
    ]
    rows = kb.columns(buttons)
    rows.append([kb.button(str(tr("act.btn.discard")), cb.EDIT_DISCARD.data(id=a.id))])
    return tr("act.edit.menu", title=a.title), kb.inline(rows)


# --- buttons (all entry points: re-checked on every press) -----------------------------------------
async def open_menu(update: Update, context: Ctx) -> int:
    """The field menu."""
    pressed = press(update, cb.EDIT_MENU)
    a = await _manageable(update, context, pressed.num("id") if pressed else None)
    if a is None:
        return ConversationHandler.END
    _set_pending(context, None)
    tr = await translator(update, context)
    await answer(update)
    text, markup = _menu(tr, a)
    await EDIT.enter(update, context, CHOOSE)
    await edit_or_reply(update, text, markup)
    return CHOOSE


async def choose_field(update: Update, context: Ctx) -> int:
    """Ask for the new value of the chosen field."""
    pressed = press(update, cb.EDIT_FIELD)
    a = await _manageable(update, context, pressed.num("id") if pressed else None)
    if a is None or pressed is None:
        return ConversationHandler.END
    field = FIELDS[pressed.text("field")]
    tr = await translator(update, context)
    await answer(update)
    _set_pending(context, {"aid": a.id, "field": field})
    await EDIT.enter(update, context, VALUE)
    await edit_or_reply(update, _question(tr, context, a, field))
    return VALUE


def _question(tr: Translator, context: Ctx, a: Activity, field: str) -> Markup:
    zone = zone_name(tr, context)
    return tr(f"act.edit.ask.{field}", current=_current(tr, context, a, field), zone=zone)


def _after(tr: Translator, activity_id: int) -> InlineKeyboardMarkup:
    """Buttons under a finished edit: edit something else, or back to the roster view."""
    return kb.inline(
        [
            [
                kb.button(str(tr("act.btn.edit_more")), cb.EDIT_MENU.data(id=activity_id)),
                kb.button(str(tr("act.btn.roster")), cb.ROSTER.data(id=activity_id)),
            ]
        ]
    )


async def save(update: Update, context: Ctx) -> int:
    """Apply the pending change through the service."""
    pressed = press(update, cb.EDIT_SAVE)
    a = await _manageable(update, context, pressed.num("id") if pressed else None)
    if a is None or pressed is None:
        return ConversationHandler.END
    tr = await translator(update, context)
    pending = _pending(context)
    if (
        pending is None
        or pending.get("aid") != a.id
        or FIELDS[pressed.text("field")] != pending.get("field")
        or "value" not in pending
    ):
        await answer(update, str(tr("act.edit.stale")), alert=True)
        return ConversationHandler.END
    field, value = str(pending["field"]), pending["value"]
    who = await actor(update, context)
    service = context.services.activities
    try:
        if field == "capacity":
            result = await service.change_capacity(who, a.id, value)
            line = tr(f"act.r.{result.code}")
        else:
            result = await service.edit(who, a.id, _changes(a, field, value))
            line = tr("act.r.edited", told=result.extra["told"])
    except AccessDenied:
        await refuse(update, context)
        return ConversationHandler.END
    except Refusal as refusal:
        line = refusal_text(tr, refusal)
    await answer(update)
    _set_pending(context, None)
    fresh = await service.get(a.id) or a
    await edit_or_reply(update, line + "\n\n" + service.card(tr.lang, fresh), _after(tr, a.id))
    return ConversationHandler.END


async def discard(update: Update, context: Ctx) -> int:
    """Leave without changing anything."""
    pressed = press(update, cb.EDIT_DISCARD)
    a = await _manageable(update, context, pressed.num("id") if pressed else None)
    if a is None:
        return ConversationHandler.END
    tr = await translator(update, context)
    await answer(update)
    _set_pending(context, None)
    await edit_or_reply(update, tr("act.edit.discarded"), _after(tr, a.id))
    return ConversationHandler.END


# --- typed values ---------------------------------------------------------------------------------
async def got_value(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    pending = _pending(context)
    if pending is None:
        await reply(update, tr("act.edit.stale"))
        return ConversationHandler.END
    a = await _manageable(update, context, int(pending["aid"]))
    if a is None:
        _set_pending(context, None)
        return ConversationHandler.END
    field = str(pending["field"])
    value = await _parse(update, context, tr, a, field)
    if value is _INVALID:
        return VALUE
    pending["value"] = value
    _set_pending(context, pending)
    await EDIT.enter(update, context, CONFIRM)
    await _preview(update, context, tr, a, field, value)
    return CONFIRM


async def _preview(update: Update, context: Ctx, tr: Translator, a: Activity, field: str, value: Any) -> None:
    buttons = kb.inline(
        [
            [kb.button(str(tr("act.btn.save")), cb.EDIT_SAVE.data(id=a.id, field=_code(field)))],
            [
                kb.button(str(tr("act.btn.other_field")), cb.EDIT_MENU.data(id=a.id)),
                kb.button(str(tr("act.btn.discard")), cb.EDIT_DISCARD.data(id=a.id)),
            ],
        ]
    )
    text = tr(
        "act.edit.preview",
        title=a.title,
        field=tr(f"act.field.{field}"),
        old=_current(tr, context, a, field),
        new=_shown(tr, context, a, field, value),
    )
    await reply(update, text, buttons)


@EDIT.asks(CHOOSE, VALUE, CONFIRM)
async def _ask_again(update: Update, context: Ctx, state: int) -> int:
    """The current step's question again, after an interrupted one (handlers/steps.py)."""
    tr = await translator(update, context)
    pending = _pending(context)
    if state == CHOOSE or pending is None:
        await reply(update, tr("act.edit.use_buttons"))
        return CHOOSE
    a = await _manageable(update, context, int(pending["aid"]))
    if a is None:
        _set_pending(context, None)
        return ConversationHandler.END
    field = str(pending["field"])
    if state == CONFIRM and "value" in pending:
        await _preview(update, context, tr, a, field, pending["value"])
        return CONFIRM
    await reply(update, _question(tr, context, a, field))
    return VALUE


_INVALID = object()


async def _parse(update: Update, context: Ctx, tr: Translator, a: Activity, field: str) -> Any:
    """The new value (JSON-friendly: times as ISO text), or _INVALID after telling what is wrong."""
    raw = update.message.text if update.message else None
    stripped = (raw or "").strip()
    if field in ("title", "description", "place"):
        limit = {"title": MAX_TITLE, "description": MAX_TEXT, "place": MAX_PLACE}[field]
        value = "" if field != "title" and stripped == "-" else clean(raw, limit)
        if value is None:
            await reply(update, tr("act.new.bad_text", limit=limit))
            return _INVALID
        return value
    if field == "capacity":
        if stripped == "-":
            return None
        try:
            seats = parse_capacity(stripped)
        except ValueError:
            await reply(update, tr("act.bad.capacity"))
            return _INVALID
        if seats is not None and seats < a.seats_taken:
            await reply(update, tr("act.r.capacity_below_taken"))
            return _INVALID
        return seats
    if field == "signup_deadline" and stripped == "-":
        moment: datetime | None = a.starts_at
    else:
        moment = await typed_date(update, context, after=a.starts_at if field == "ends_at" else None)
    if moment is None:
        return _INVALID
    _planned, problem = plan_edit(a, _changes(a, field, moment.isoformat()), context.services.clock.now())
    if problem:
        await reply(update, tr(f"act.bad.{problem}"))
        return _INVALID
    return moment.isoformat()


async def use_buttons(update: Update, context: Ctx) -> int | None:
    tr = await translator(update, context)
    await reply(update, tr("act.edit.use_buttons"))
    return None


# --- /editactivity ------------------------------------------------------------------------------------
async def edit_command(update: Update, context: Ctx) -> None:
    """/editactivity <id> <title|place|start|end> <value>"""
    tr = await translator(update, context)
    who = await actor(update, context)
    text = update.message.text if update.message else ""
    if not who.is_coordinator:
        await refuse(update, context)
        return
    parts = (text or "").split(maxsplit=3)
    aid = number(parts[1]) if len(parts) > 1 else None
    if aid is None:
        await reply(update, tr("act.edit.usage"))
        return
    service = context.services.activities
    if await service.manageable(who, aid) is None:
        await refuse(update, context)
        return
    if len(parts) < 4 or parts[2] not in ("title", "place", "start", "end"):
        await reply(update, tr("act.edit.usage"))
        return
    field, raw = parts[2], parts[3]
    changes: dict[str, Any] = {}
    if field in ("start", "end"):
        moment = when.parse(raw, context.services.clock.now(), context.services.settings.zone, tr.lang)
        if isinstance(moment, Refusal):
            await reply(update, tr(moment.key, **moment.values))
            return
        changes[f"{field}s_at"] = moment
    else:
        value = clean(raw, MAX_TITLE if field == "title" else MAX_PLACE)
        if value is None:
            await reply(update, tr("act.new.bad_text", limit=MAX_TITLE))
            return
        changes[field] = value
    try:
        result = await service.edit(who, aid, changes)
    except AccessDenied:
        await refuse(update, context)
        return
    except Refusal as refusal:
        await reply(update, refusal_text(tr, refusal))
        return
    await reply(update, tr("act.r.edited", told=result.extra["told"]))


def register(app: LiaisonApp) -> None:
    text = filters.TEXT & ~filters.COMMAND & common.COMMAND_FILTER
    app.add_handler(
        guided(
            app,
            EDIT,
            title_key="flow.activity_edit",
            entry_points=[
                on(cb.EDIT_MENU, open_menu),
                on(cb.EDIT_FIELD, choose_field),
                on(cb.EDIT_SAVE, save),
                on(cb.EDIT_DISCARD, discard),
            ],
            states={
                CHOOSE: [MessageHandler(text, use_buttons)],
                VALUE: [MessageHandler(text, got_value)],
                CONFIRM: [MessageHandler(text, got_value)],  # typing again replaces the value
            },
        )
    )
    # Forged or unknown acte data (none of the declarations above) is left to the stale-button answer.
    app.add_handler(CommandHandler("editactivity", edit_command, filters=common.COMMAND_FILTER))
