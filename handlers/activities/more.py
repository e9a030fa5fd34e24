"""/newactivity's 更多选项: the choices a typical activity keeps at their defaults.

Under the summary, 更多选项 opens a menu (in the same message); each option is a screen of
buttons (reminder presets, 不重复/每周/每月 and then how many times, 是/否, seat offers,
categories) or a typed answer where only free text or a time will do (description, end time,
sign-up deadline — these offer their common answers as buttons too). A choice is stored in the
draft and the summary is shown again, rendered from the draft.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot import when
from bot.activities import DEFAULT_REMINDERS, MAX_TEXT
from bot.activities import callbacks as cb
from bot.activities.models import CHECKIN_OPENS as DEFAULT_CHECKIN
from bot.context import Ctx
from bot.i18n import Translator
from bot.labels import KINDS, label
from handlers import keyboards as kb
from handlers import steps
from handlers.activities.common import clean, typed_date, zone_name
from handlers.base import answer, edit_or_reply, reply, translator
from handlers.buttons import on, press

DRAFT = "act_draft"
DEFAULT_LENGTH = timedelta(hours=2)  # an activity without an end typed lasts two hours

# Preset values of the button screens: token -> what is stored.
REMINDERS: dict[str, list[int]] = {
    "d": list(DEFAULT_REMINDERS),
    "1d": [1440],
    "2h": [120],
    "3": [1440, 120, 30],
    "0": [],
}
REMINDER_KEYS = {
    "d": "act.btn.rem_default",
    "1d": "act.btn.rem_1d",
    "2h": "act.btn.rem_2h",
    "3": "act.btn.rem_1d2h30m",
    "0": "act.btn.rem_none",
}
OFFERS: dict[str, int | None] = {"0": None, "12": 12, "24": 24}
OFFER_KEYS = {"0": "act.btn.offer_auto", "12": "act.btn.offer_12", "24": "act.btn.offer_24"}
COUNTS = (2, 3, 4, 6, 8, 12)
CHECKIN_OPENS = (15, 30, 60, 120)  # check-in opens this many minutes before the start
LENGTHS = (60, 120, 180, 240)  # end presets: minutes after the start
DEADLINES = (1440, 120)  # sign-up deadline presets: minutes before the start ("start": until it)
OPTION_KEYS = {opt: f"act.more.opt.{opt}" for opt in cb.MORE_OPTIONS}

Show = Callable[..., Awaitable[None]]
Handler = BaseHandler[Update, Ctx, Any]


def draft_of(context: Ctx) -> dict[str, Any]:
    data = context.user_data if context.user_data is not None else {}
    draft = data.setdefault(DRAFT, {})
    assert isinstance(draft, dict)
    draft.setdefault("groups", [])
    draft.setdefault("cats", [])
    return draft


def toggle(values: list[Any], value: Any) -> None:
    if value in values:
        values.remove(value)
    else:
        values.append(value)


def start_of(draft: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(draft["start"])


def end_of(draft: dict[str, Any]) -> datetime:
    end = draft.get("end")
    return datetime.fromisoformat(end) if end else start_of(draft) + DEFAULT_LENGTH


def deadline_of(draft: dict[str, Any]) -> datetime:
    deadline = draft.get("deadline")
    return datetime.fromisoformat(deadline) if deadline else start_of(draft)


def _back(tr: Translator) -> list[InlineKeyboardButton]:
    return [kb.button(str(tr("act.btn.back_summary")), cb.MORE_BACK.data())]


def _set(tr: Translator, opt: str, val: str, key: str, *, ticked: bool = False, **values: Any) -> InlineKeyboardButton:
    return kb.button(("✅ " if ticked else "") + str(tr(key, **values)), cb.MORE_SET.data(opt=opt, val=val))


@dataclass
class Options:
    """The 更多选项 of one conversation: its summary state, the states of the typed options."""

    summary: int
    typed: dict[str, int]
    journal: steps.Flow
    show: Show  # show_summary(update, context, tr, draft, edit=..., lead=...)
    resume: Callable[[Update, Ctx], Awaitable[int]]  # on to the first main step the draft lacks

    def summary_handlers(self) -> list[Handler]:
        return [
            on(cb.MORE, self.menu),
            on(cb.MORE_OPEN, self.open),
            on(cb.MORE_SET, self.set_value),
            on(cb.MORE_BACK, self.back),
            on(cb.PICK_CATEGORY, self.toggle_category),
        ]

    def typed_handlers(self, opt: str, text: filters.BaseFilter) -> list[Handler]:
        async def got(update: Update, context: Ctx) -> int:
            return await self.got_typed(update, context, opt)

        got.__name__ = f"got_{opt}"
        return [MessageHandler(text, got), on(cb.MORE_SET, self.set_value), on(cb.MORE_BACK, self.back)]

    # --- screens ------------------------------------------------------------------------------------
    async def to_summary(self, update: Update, context: Ctx, *, edit: bool, lead: str = "") -> int:
        tr = await translator(update, context)
        await self.journal.enter(update, context, self.summary)
        await self.show(update, context, tr, draft_of(context), edit=edit, lead=lead)
        return self.summary

    async def menu(self, update: Update, context: Ctx) -> int:
        tr = await translator(update, context)
        await answer(update)
        buttons = [kb.button(str(tr(OPTION_KEYS[o])), cb.MORE_OPEN.data(opt=o)) for o in cb.MORE_OPTIONS]
        await edit_or_reply(update, tr("act.more.menu"), kb.inline([*kb.columns(buttons), _back(tr)]))
        return self.summary

    async def back(self, update: Update, context: Ctx) -> int:
        await answer(update)
        return await self.to_summary(update, context, edit=True)

    async def open(self, update: Update, context: Ctx) -> int:
        pressed = press(update, cb.MORE_OPEN)
        await answer(update)
        if pressed is None:
            return self.summary
        opt = pressed.text("opt")
        if opt in self.typed:
            await self.journal.enter(update, context, self.typed[opt])
            await ask_typed(update, context, opt, edit=True)
            return self.typed[opt]
        await self.button_screen(update, context, opt)
        return self.summary

    async def button_screen(self, update: Update, context: Ctx, opt: str, repeat: str = "") -> None:
        tr = await translator(update, context)
        draft = draft_of(context)
        rows: list[list[InlineKeyboardButton]]
        if opt == "rem":
            now = draft.get("reminders", list(DEFAULT_REMINDERS))
            buttons = [_set(tr, "rem", t, k, ticked=REMINDERS[t] == now) for t, k in REMINDER_KEYS.items()]
            rows = kb.columns(buttons)
        elif opt == "rep" and repeat:
            buttons = [_set(tr, "rep", f"{repeat}.{n}", "act.more.times", n=n) for n in COUNTS]
            rows = kb.columns(buttons, 3)
        elif opt == "rep":
            rows = [
                [
                    _set(tr, "rep", "none", "act.btn.repeat_none", ticked=draft.get("repeat", "none") == "none"),
                    _set(tr, "rep", "weekly", "act.btn.weekly", ticked=draft.get("repeat") == "weekly"),
                    _set(tr, "rep", "monthly", "act.btn.monthly", ticked=draft.get("repeat") == "monthly"),
                ]
            ]
        elif opt == "chk":
            now_opens = draft.get("checkin", DEFAULT_CHECKIN)
            buttons = [
                _set(tr, "chk", str(m), "act.more.checkin_before", ticked=m == now_opens, offset=_offset(tr, m))
                for m in CHECKIN_OPENS
            ]
            rows = kb.columns(buttons)
        elif opt == "sv":
            yes = bool(draft.get("survey"))
            rows = [[_set(tr, "sv", "1", "act.btn.yes", ticked=yes), _set(tr, "sv", "0", "act.btn.no", ticked=not yes)]]
        elif opt == "off":
            now_offer = draft.get("offer")
            rows = kb.columns([_set(tr, "off", t, k, ticked=OFFERS[t] == now_offer) for t, k in OFFER_KEYS.items()])
        else:  # "cat": the categories who may sign up, toggled
            cats = draft["cats"]
            buttons = [
                kb.button(("✅ " if c in cats else "") + label(tr, "category", c), cb.PICK_CATEGORY.data(cat=c))
                for c in KINDS["category"]
            ]
            rows = kb.columns(buttons)
        prompt = tr(f"act.more.ask.{opt}" if not repeat else f"act.more.ask.count.{repeat}")
        done = [kb.button(str(tr("act.btn.done")), cb.MORE_BACK.data())] if opt == "cat" else _back(tr)
        await edit_or_reply(update, prompt, kb.inline([*rows, done]))

    async def toggle_category(self, update: Update, context: Ctx) -> int:
        pressed = press(update, cb.PICK_CATEGORY)
        if pressed is not None:
            toggle(draft_of(context)["cats"], pressed.text("cat"))
        await answer(update)
        await self.button_screen(update, context, "cat")
        return self.summary

    # --- values -------------------------------------------------------------------------------------
    async def set_value(self, update: Update, context: Ctx) -> int:
        """A preset chosen with a button; an unknown token (forged, stale) changes nothing."""
        pressed = press(update, cb.MORE_SET)
        tr = await translator(update, context)
        draft = draft_of(context)
        if pressed is None:
            await answer(update)
            return self.summary
        opt, val = pressed.text("opt"), pressed.text("val")
        if opt == "rep" and val in ("weekly", "monthly"):
            await answer(update)
            await self.journal.enter(update, context, self.summary)
            await self.button_screen(update, context, "rep", repeat=val)
            return self.summary
        if not _apply(draft, opt, val):
            await answer(update, str(tr("act.new.quick_stale")))
            return self.summary
        await answer(update)
        return await self.to_summary(update, context, edit=True)

    async def got_typed(self, update: Update, context: Ctx, opt: str) -> int:
        tr = await translator(update, context)
        draft = draft_of(context)
        zone = context.services.settings.zone
        state = self.typed[opt]
        if "start" not in draft:  # a conversation from the old step order: the description came first
            if opt == "desc":
                draft["desc"] = clean(update.message.text if update.message else None, MAX_TEXT) or ""
            return await self.resume(update, context)
        if opt == "desc":
            text = update.message.text if update.message else None
            value = clean(text, MAX_TEXT)
            if value is None:
                await reply(update, tr("act.new.bad_text", limit=MAX_TEXT))
                return state
            draft["desc"] = value
            return await self.to_summary(update, context, edit=False)
        start = start_of(draft)
        moment = await typed_date(update, context, after=start if opt == "end" else None)
        if moment is None:
            return state
        if opt == "end":
            if moment <= start:
                await reply(update, tr("act.bad.end_before_start"))
                return state
            draft["end"] = moment.isoformat()
            lead = tr("act.new.end_ok", when=when.moment(tr, moment, zone), zone=zone_name(tr, context))
        else:
            if moment > start:
                await reply(update, tr("act.bad.deadline_after_start"))
                return state
            draft["deadline"] = moment.isoformat()
            lead = tr("act.new.deadline_ok", when=when.moment(tr, moment, zone))
        return await self.to_summary(update, context, edit=False, lead=str(lead))


def _apply(draft: dict[str, Any], opt: str, val: str) -> bool:
    """Store preset `val` of option `opt` in the draft; False when it is not one of its presets."""
    if opt == "rem" and val in REMINDERS:
        draft["reminders"] = list(REMINDERS[val])
    elif opt == "off" and val in OFFERS:
        draft["offer"] = OFFERS[val]
    elif opt == "sv" and val in ("0", "1"):
        draft["survey"] = val == "1"
    elif opt == "rep" and val == "none":
        draft["repeat"], draft["count"] = "none", 1
    elif opt == "rep" and val.partition(".")[0] in ("weekly", "monthly") and val.partition(".")[2] in map(str, COUNTS):
        kind, _, count = val.partition(".")
        draft["repeat"], draft["count"] = kind, int(count)
    elif opt == "chk" and val in map(str, CHECKIN_OPENS):
        draft["checkin"] = int(val)
    elif opt == "desc" and val == "clear":
        draft["desc"] = ""
    elif opt == "end" and val in map(str, LENGTHS) and "start" in draft:
        draft["end"] = (start_of(draft) + timedelta(minutes=int(val))).isoformat()
    elif opt == "dl" and val == "start":
        draft["deadline"] = None
    elif opt == "dl" and val in map(str, DEADLINES) and "start" in draft:
        draft["deadline"] = (start_of(draft) - timedelta(minutes=int(val))).isoformat()
    else:
        return False
    return True


async def ask_typed(update: Update, context: Ctx, opt: str, *, edit: bool) -> None:
    """The question of a typed option, with its common answers as buttons."""
    tr = await translator(update, context)
    draft = draft_of(context)
    rows: list[list[InlineKeyboardButton]] = []
    if opt == "desc" and draft.get("desc"):
        rows.append([_set(tr, "desc", "clear", "act.btn.clear_desc")])
    elif opt == "end":
        rows = kb.columns([_set(tr, "end", str(m), "act.more.length", hours=m // 60) for m in LENGTHS], 4)
    elif opt == "dl":
        rows = [[_set(tr, "dl", "start", "act.btn.until_start")]]
        rows.append([_set(tr, "dl", str(m), "act.more.dl_before", offset=_offset(tr, m)) for m in DEADLINES])
    text = tr(f"act.more.ask.{opt}", zone=zone_name(tr, context), limit=MAX_TEXT)
    markup = kb.inline([*rows, _back(tr)])
    if edit:
        await edit_or_reply(update, text, markup)
    else:
        await reply(update, text, markup)


def _offset(tr: Translator, minutes: int) -> str:
    if minutes % 1440 == 0:
        return str(tr("act.offset.d", n=minutes // 1440))
    if minutes % 60 == 0:
        return str(tr("act.offset.h", n=minutes // 60))
    return str(tr("act.offset.m", n=minutes))
