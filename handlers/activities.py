"""Activities: /newactivity (coordinators), /activities (members), sign-up buttons, rosters,
exports, check-in, surveys. Thin: parse, check the caller, call ActivityService, render."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, cast

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.activities import (
    CATEGORIES,
    DEFAULT_REMINDERS,
    MAX_TEXT,
    MAX_TITLE,
    Activity,
    Draft,
    Result,
    RosterEntry,
    parse_capacity,
    parse_offsets,
)
from bot.context import Ctx, LiaisonApp
from bot.dates import DateError, parse_local, show
from bot.i18n import Markup, Translator
from bot.ics import activity_ics
from bot.roles import Role
from handlers import common, steps
from handlers import keyboards as kb
from handlers.base import actor, answer, edit_or_reply, refuse, reply, send_direct, translator, user_id_of
from handlers.menu import CommandMenu

PAGE = 5
(TITLE, DESC, START, END, PLACE, CAPACITY, DEADLINE, ELIG, REMIND, SURVEY, OFFER, REPEAT, CONFIRM) = range(13)
CHECKIN_CODE, SURVEY_COMMENT = 20, 21
DRAFT = "act_draft"
DUE_TICK_S = 30.0
# Step journal of /newactivity (handlers/steps.py): restarted one step behind, it asks again.
CREATE = steps.Flow("activity_new")


def _clean(text: str | None, limit: int) -> str | None:
    """User text without control characters; None when empty or too long."""
    if text is None:
        return None
    value = "".join(ch for ch in text if ch == "\n" or ch.isprintable()).strip()
    return value if 0 < len(value) <= limit else None


def _draft(context: Ctx) -> dict[str, Any]:
    data = context.user_data if context.user_data is not None else {}
    draft = data.setdefault(DRAFT, {})
    assert isinstance(draft, dict)
    return draft


def _when(context: Ctx, value: str) -> datetime:
    return datetime.fromisoformat(value)


# --- /newactivity ---------------------------------------------------------------------------------
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
    raw = update.message.text if update.message else None
    value = "" if optional and raw and raw.strip() == "-" else _clean(raw, limit)
    if value is None:
        await reply(update, tr("act.new.bad_text", limit=limit))
        return state, tr
    _draft(context)[field] = value
    await CREATE.enter(update, context, next_state)
    return next_state, tr


async def got_title(update: Update, context: Ctx) -> int:
    state, tr = await _text_step(update, context, "title", MAX_TITLE, TITLE, DESC)
    if state == DESC:
        await reply(update, tr("act.new.description"))
    return state


async def got_desc(update: Update, context: Ctx) -> int:
    state, tr = await _text_step(update, context, "desc", MAX_TEXT, DESC, START, optional=True)
    if state == START:
        await reply(update, tr("act.new.start", zone=str(context.services.settings.zone)))
    return state


async def _date(update: Update, context: Ctx) -> datetime | None:
    tr = await translator(update, context)
    services = context.services
    try:
        moment = parse_local(
            update.message.text or "" if update.message else "", services.settings.zone, services.clock.now()
        )
    except DateError:
        await reply(update, tr("act.new.bad_date"))
        return None
    if moment <= services.clock.now():
        await reply(update, tr("act.bad.start_past"))
        return None
    return moment


async def got_start(update: Update, context: Ctx) -> int:
    moment = await _date(update, context)
    if moment is None:
        return START
    tr = await translator(update, context)
    _draft(context)["start"] = moment.isoformat()
    zone = context.services.settings.zone
    await CREATE.enter(update, context, END)
    await reply(update, tr("act.new.start_ok", when=show(moment, zone), zone=str(zone)) + "\n" + tr("act.new.end"))
    return END


async def got_end(update: Update, context: Ctx) -> int:
    moment = await _date(update, context)
    if moment is None:
        return END
    tr = await translator(update, context)
    draft = _draft(context)
    if moment <= _when(context, draft["start"]):
        await reply(update, tr("act.bad.end_before_start"))
        return END
    draft["end"] = moment.isoformat()
    zone = context.services.settings.zone
    await CREATE.enter(update, context, PLACE)
    await reply(update, tr("act.new.end_ok", when=show(moment, zone), zone=str(zone)) + "\n" + tr("act.new.place"))
    return PLACE


async def got_place(update: Update, context: Ctx) -> int:
    state, tr = await _text_step(update, context, "place", 300, PLACE, CAPACITY, optional=True)
    if state == CAPACITY:
        await reply(update, tr("act.new.capacity"))
    return state


async def got_capacity(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    raw = (update.message.text or "").strip() if update.message else ""
    if raw == "-":
        capacity = None
    else:
        try:
            capacity = parse_capacity(raw)
        except ValueError:
            await reply(update, tr("act.bad.capacity"))
            return CAPACITY
    _draft(context)["capacity"] = capacity
    await CREATE.enter(update, context, DEADLINE)
    await reply(update, tr("act.new.deadline"))
    return DEADLINE


async def got_deadline(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    draft = _draft(context)
    raw = (update.message.text or "").strip() if update.message else ""
    if raw == "-":
        moment = _when(context, draft["start"])
    else:
        found = await _date(update, context)
        if found is None:
            return DEADLINE
        moment = found
    if moment > _when(context, draft["start"]):
        await reply(update, tr("act.bad.deadline_after_start"))
        return DEADLINE
    draft["deadline"] = moment.isoformat()
    await CREATE.enter(update, context, ELIG)
    await reply(update, tr("act.new.deadline_ok", when=show(moment, context.services.settings.zone)))
    await _show_elig(update, context, edit=False)
    return ELIG


async def _scope_groups(context: Ctx, update: Update) -> list[tuple[int, str, str]]:
    return await context.services.activities.pickable_groups(await actor(update, context))


async def _show_elig(update: Update, context: Ctx, *, edit: bool) -> None:
    tr = await translator(update, context)
    draft = _draft(context)
    rows = []
    for gid, name, _path in await _scope_groups(context, update):
        mark = "[x] " if gid in draft["groups"] else ""
        rows.append([kb.button(mark + name, kb.cb("actg", gid))])
    cats = [
        kb.button(("[x] " if c in draft["cats"] else "") + str(tr(f"act.cat.{c}")), kb.cb("actc", c))
        for c in CATEGORIES
    ]
    rows += kb.columns(cats)
    rows.append([kb.button(str(tr("act.btn.done")), kb.cb("actd"))])
    text = tr("act.new.eligibility")
    if edit:
        await edit_or_reply(update, text, kb.inline(rows))
    else:
        await reply(update, text, kb.inline(rows))


async def toggle_group(update: Update, context: Ctx) -> int:
    parts = kb.parse(update.callback_query.data if update.callback_query else None, "actg", 1)
    gid = kb.parse_int(parts[0]) if parts else None
    allowed = {g[0] for g in await _scope_groups(context, update)}
    if gid is None or gid not in allowed:
        await refuse(update, context)
        return ELIG
    groups: list[int] = _draft(context)["groups"]
    groups.remove(gid) if gid in groups else groups.append(gid)
    await answer(update)
    await _show_elig(update, context, edit=True)
    return ELIG


async def toggle_cat(update: Update, context: Ctx) -> int:
    parts = kb.parse(update.callback_query.data if update.callback_query else None, "actc", 1)
    if parts is None or parts[0] not in CATEGORIES:
        await answer(update)
        return ELIG
    cats: list[str] = _draft(context)["cats"]
    cats.remove(parts[0]) if parts[0] in cats else cats.append(parts[0])
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
    await reply(update, tr("act.new.reminders"))
    return REMIND


async def got_reminders(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    raw = (update.message.text or "").strip() if update.message else ""
    try:
        offsets = DEFAULT_REMINDERS if raw == "-" else parse_offsets(raw)
    except ValueError:
        await reply(update, tr("act.bad.reminders"))
        return REMIND
    _draft(context)["reminders"] = list(offsets)
    await CREATE.enter(update, context, SURVEY)
    await _ask_survey(update, tr)
    return SURVEY


async def _ask_survey(update: Update, tr: Translator) -> None:
    yes_no = kb.inline([[kb.button(str(tr("act.btn.yes")), "acts:1"), kb.button(str(tr("act.btn.no")), "acts:0")]])
    await reply(update, tr("act.new.survey"), yes_no)


async def got_survey(update: Update, context: Ctx) -> int:
    parts = kb.parse(update.callback_query.data if update.callback_query else None, "acts", 1)
    if parts is None or parts[0] not in ("0", "1"):
        await answer(update)
        return SURVEY
    _draft(context)["survey"] = parts[0] == "1"
    await answer(update)
    tr = await translator(update, context)
    await CREATE.enter(update, context, OFFER)
    await edit_or_reply(update, tr("act.new.offer"))
    return OFFER


async def got_offer(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    raw = (update.message.text or "").strip() if update.message else ""
    hours: int | None = None
    if raw != "-":
        if not raw.isdigit() or not 1 <= int(raw) <= 168:
            await reply(update, tr("act.bad.offer"))
            return OFFER
        hours = int(raw)
    _draft(context)["offer"] = hours
    await CREATE.enter(update, context, REPEAT)
    await reply(update, tr("act.new.repeat"))
    return REPEAT


async def got_repeat(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    raw = (update.message.text or "").strip().lower() if update.message else ""
    draft = _draft(context)
    if raw == "-":
        draft["repeat"], draft["count"] = "none", 1
    else:
        parts = raw.split()
        if (
            len(parts) != 2
            or parts[0] not in ("weekly", "monthly")
            or not parts[1].isdigit()
            or not 2 <= int(parts[1]) <= 52
        ):
            await reply(update, tr("act.bad.repeat"))
            return REPEAT
        draft["repeat"], draft["count"] = parts[0], int(parts[1])
    await CREATE.enter(update, context, CONFIRM)
    await _show_summary(update, context, tr)
    return CONFIRM


async def _show_summary(update: Update, context: Ctx, tr: Translator) -> None:
    draft_obj = _to_draft(_draft(context))
    zone = context.services.settings.zone
    summary = tr(
        "act.new.summary",
        title=draft_obj.title,
        start=show(draft_obj.starts_at, zone),
        end=show(draft_obj.ends_at, zone),
        zone=str(zone),
        place=draft_obj.place or "-",
        capacity=draft_obj.capacity or "-",
        deadline=show(draft_obj.signup_deadline, zone),
        count=draft_obj.occurrences,
    )
    buttons = kb.inline(
        [[kb.button(str(tr("act.btn.publish")), "actp:go"), kb.button(str(tr("act.btn.discard")), "actp:no")]]
    )
    await reply(update, summary, buttons)


def _to_draft(d: dict[str, Any]) -> Draft:
    return Draft(
        title=d["title"],
        description=d["desc"],
        place=d["place"],
        starts_at=datetime.fromisoformat(d["start"]),
        ends_at=datetime.fromisoformat(d["end"]),
        signup_deadline=datetime.fromisoformat(d["deadline"]),
        capacity=d["capacity"],
        group_ids=tuple(d["groups"]),
        categories=tuple(d["cats"]),
        reminder_offsets=tuple(d["reminders"]),
        survey=bool(d["survey"]),
        offer_hours=d["offer"],
        repeat=d["repeat"],
        occurrences=int(d["count"]),
    )


async def got_confirm(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    parts = kb.parse(update.callback_query.data if update.callback_query else None, "actp", 1)
    if parts is None:
        await answer(update)
        return CONFIRM
    await answer(update)
    if parts[0] != "go":
        await edit_or_reply(update, tr("common.cancelled"))
        _draft(context).clear()
        return ConversationHandler.END
    who = await actor(update, context)
    result = await context.services.activities.create(who, _to_draft(_draft(context)))
    if not result.ok:
        await edit_or_reply(update, tr(f"act.bad.{result.code}"))
        return ConversationHandler.END if result.code in ("not_allowed", "out_of_scope") else CONFIRM
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
_PROMPTS = {TITLE: "act.new.title", DESC: "act.new.description", START: "act.new.start", END: "act.new.end",
            PLACE: "act.new.place", CAPACITY: "act.new.capacity", DEADLINE: "act.new.deadline",
            REMIND: "act.new.reminders", OFFER: "act.new.offer", REPEAT: "act.new.repeat"}


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
        await _show_summary(update, context, tr)
    else:
        await reply(update, tr(_PROMPTS[state], zone=str(context.services.settings.zone)))
    return state


# --- member buttons (sign-up is the hot path) --------------------------------------------------------
def _status_line(tr: Translator, result: Result) -> Markup:
    if result.code in ("waiting", "already_waiting"):
        return tr(f"act.r.{result.code}", position=result.position)
    return tr(f"act.r.{result.code}")


def member_keyboard(tr: Translator, a: Activity, status: str | None) -> InlineKeyboardMarkup | None:
    if a.status == "cancelled":
        return None
    rows = []
    if status in ("confirmed", "waiting", "offered"):
        if status == "offered":
            rows.append([kb.button(str(tr("act.btn.accept")), kb.cb("act", "ac", a.id))])
        rows.append(
            [
                kb.button(str(tr("act.btn.cancel_signup")), kb.cb("act", "cx", a.id)),
                kb.button(str(tr("act.btn.ics")), kb.cb("act", "ics", a.id)),
            ]
        )
    else:
        row = [kb.button(str(tr("act.btn.signup")), kb.cb("act", "su", a.id))]
        if status != "not_going":
            row.append(kb.button(str(tr("act.btn.not_going")), kb.cb("act", "ng", a.id)))
        rows.append(row)
        if a.series_id is not None:
            rows.append([kb.button(str(tr("act.btn.signup_series")), kb.cb("act", "ss", a.id))])
    return kb.inline(rows)


async def member_button(update: Update, context: Ctx) -> None:
    query = update.callback_query
    parts = kb.parse(query.data if query else None, "act", 2)
    activity_id = kb.parse_int(parts[1]) if parts else None
    tr = await translator(update, context)
    if parts is None or activity_id is None:
        await answer(update, str(tr("common.stale_button")))
        return
    action = parts[0]
    service = context.services.activities
    user_id = user_id_of(update)
    if action == "su":
        result = await service.sign_up(user_id, activity_id)
    elif action == "ng":
        result = await service.not_going(user_id, activity_id)
    elif action == "cx":
        result = await service.cancel_signup(user_id, activity_id)
    elif action == "ac":
        result = await service.accept_offer(user_id, activity_id)
    elif action == "ss":
        result = await service.sign_up_series(user_id, activity_id)
    elif action == "ics":
        await send_ics(update, context, activity_id)
        return
    elif action == "op":
        await open_activity(update, context, activity_id)
        return
    else:
        await answer(update, str(tr("common.stale_button")))
        return
    line = (
        tr("act.r.series", count=result.extra.get("count", 0)) if result.code == "series" else _status_line(tr, result)
    )
    await answer(update, str(line), alert=not result.ok)
    if result.activity is None or (not result.ok and result.status is None and result.code != "cancelled"):
        return
    a = result.activity
    status = result.status if result.code != "series" else "confirmed"
    text = line + "\n\n" + service.card(tr.lang, a)
    await edit_or_reply(update, text, member_keyboard(tr, a, status))


async def open_activity(update: Update, context: Ctx, activity_id: int) -> None:
    tr = await translator(update, context)
    who = await actor(update, context)
    service = context.services.activities
    view = await service.member_view(who.member_id, activity_id) if who.member_id is not None else None
    if view is None:
        await answer(update, str(tr("act.r.no_activity")))
        return
    await answer(update)
    a, status = view
    line = tr(f"act.status.{status}") if status else tr("act.status.none")
    await edit_or_reply(update, line + "\n\n" + service.card(tr.lang, a), member_keyboard(tr, a, status))


async def send_ics(update: Update, context: Ctx, activity_id: int) -> None:
    tr = await translator(update, context)
    who = await actor(update, context)
    service = context.services.activities
    a = await service.held_by(who.member_id, activity_id)
    if a is None:
        await answer(update, str(tr("act.r.not_signed_up")), alert=True)
        return
    await answer(update)
    data = activity_ics(
        uid=f"activity-{a.id}@liaison-bot",
        title=a.title,
        description=a.description,
        place=a.place,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        stamp=service.clock.now(),
        cancelled=a.status == "cancelled",
    )
    if (chat := update.effective_chat) is not None:
        name = f"activity-{a.id}.ics"
        await send_direct(update, context, lambda: chat.send_document(data, filename=name), what="activity .ics")


# --- /activities ---------------------------------------------------------------------------------------
async def list_command(update: Update, context: Ctx) -> None:
    await show_list(update, context, 0)


async def list_page(update: Update, context: Ctx) -> None:
    parts = kb.parse(update.callback_query.data if update.callback_query else None, "actl", 1)
    page = kb.parse_int(parts[0]) if parts else None
    await answer(update)
    await show_list(update, context, page or 0)


async def show_list(update: Update, context: Ctx, page: int) -> None:
    tr = await translator(update, context)
    who = await actor(update, context)
    if who.member_id is None or not who.is_member:
        await refuse(update, context, "act.r.not_member")
        return
    items = await context.services.activities.visible_for(who.member_id)
    if not items:
        await edit_or_reply(update, tr("act.list.empty"))
        return
    shown = kb.page_of(items, page, PAGE)
    zone = context.services.settings.zone
    lines = [tr("act.list.header")]
    buttons = []
    for a, status in shown.items:
        state = tr(f"act.status.{status}") if status else tr("act.status.none")
        lines.append(tr("act.list.item", title=a.title, start=show(a.starts_at, zone), status=state))
        buttons.append([kb.button(a.title[:40], kb.cb("act", "op", a.id))])
    nav = shown.nav("actl", str(tr("act.btn.prev")), str(tr("act.btn.next")))
    await edit_or_reply(update, Markup("\n".join(lines)), kb.inline([*buttons, nav]))


# --- check-in and survey conversations -------------------------------------------------------------
async def checkin_command(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    if not (await actor(update, context)).is_member:
        await refuse(update, context)
        return ConversationHandler.END
    if context.args:
        await _do_checkin(update, context, context.args[0])
        return ConversationHandler.END
    await reply(update, tr("act.checkin.ask"))
    return CHECKIN_CODE


async def checkin_button(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    await answer(update)
    await reply(update, tr("act.checkin.ask"))
    return CHECKIN_CODE


async def checkin_text(update: Update, context: Ctx) -> int:
    await _do_checkin(update, context, (update.message.text or "") if update.message else "")
    return ConversationHandler.END


async def _do_checkin(update: Update, context: Ctx, code: str) -> None:
    tr = await translator(update, context)
    who = await actor(update, context)
    result = await context.services.activities.check_in(who.user_id, who.member_id, code[:20])
    title = result.activity.title if result.activity else ""
    await reply(update, tr(f"act.r.{result.code}", title=title))


async def rate_button(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    parts = kb.parse(update.callback_query.data if update.callback_query else None, "act", 3)
    aid = kb.parse_int(parts[1]) if parts else None
    rating = kb.parse_int(parts[2]) if parts else None
    who = await actor(update, context)
    if parts is None or aid is None or rating is None:
        await answer(update, str(tr("common.stale_button")))
        return ConversationHandler.END
    result = await context.services.activities.rate(who.user_id, who.member_id, aid, rating)
    await answer(update, str(tr(f"act.r.{result.code}")), alert=not result.ok)
    if not result.ok:
        return ConversationHandler.END
    if context.user_data is not None:
        context.user_data["act_rated"] = aid
    await edit_or_reply(update, tr("act.survey.thanks", rating=rating))
    return SURVEY_COMMENT


async def survey_comment(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    who = await actor(update, context)
    text = _clean(update.message.text if update.message else None, MAX_TEXT)
    aid = context.user_data.pop("act_rated", None) if context.user_data is not None else None
    if text is None or aid is None or who.member_id is None:
        await reply(update, tr("act.new.bad_text", limit=MAX_TEXT))
        return ConversationHandler.END
    await context.services.activities.comment(who.member_id, int(aid), text)
    await reply(update, tr("act.survey.comment_saved"))
    return ConversationHandler.END


async def survey_skip(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    await reply(update, tr("act.survey.comment_skipped"))
    return ConversationHandler.END


# --- coordinators: roster, exports, code, close, cancel, capacity ------------------------------------
MANAGE_PAGE = 15
ATTEND_PAGE = 20
SURVEY_PAGE = 10
SURVEY_COMMENT_SHOWN = 300
# The coordinator lists opened from a roster: action -> (paging action, list to show).
FIRST_PAGE = {"ro": "rp", "att": "ap", "sv": "sp"}


def _nav(tr: Translator, prefix: str, page: kb.Page[Any]) -> list[InlineKeyboardButton]:
    return page.nav(prefix, str(tr("act.btn.page_prev")), str(tr("act.btn.page_next")))


def _page_line(tr: Translator, page: kb.Page[Any]) -> list[Markup]:
    return [tr("act.list.page", page=page.page + 1, pages=page.pages)] if page.pages > 1 else []


async def manage_command(update: Update, context: Ctx) -> None:
    await show_manage(update, context, 0, edit=False)


async def manage_page(update: Update, context: Ctx) -> None:
    """actml:<page> - another page of the /manage list (a forged page is clamped)."""
    parts = kb.parse(update.callback_query.data if update.callback_query else None, "actml", 1)
    page = kb.parse_int(parts[0]) if parts else None
    if page is None:
        tr = await translator(update, context)
        await answer(update, str(tr("common.stale_button")))
        return
    await show_manage(update, context, page, edit=True)


async def show_manage(update: Update, context: Ctx, page_no: int, *, edit: bool) -> None:
    tr = await translator(update, context)
    who = await actor(update, context)
    if not who.is_coordinator:
        await refuse(update, context)
        return
    if edit:
        await answer(update)
    activities = await context.services.activities.manageable_upcoming(who)
    if not activities:
        await edit_or_reply(update, tr("act.list.empty")) if edit else await reply(update, tr("act.list.empty"))
        return
    page = kb.page_of(activities, page_no, MANAGE_PAGE)
    rows = [[kb.button(a.title[:40], kb.cb("actm", "ro", a.id))] for a in page.items]
    rows.append(_nav(tr, "actml", page))
    text = tr.join([tr("act.manage.header"), *_page_line(tr, page)])
    await (edit_or_reply if edit else reply)(update, text, kb.inline(rows))


async def manage_button(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    data = update.callback_query.data if update.callback_query else None
    parts = kb.parse(data, "actm", 2) or kb.parse(data, "actm", 3)
    aid = kb.parse_int(parts[1]) if parts else None
    if parts is None or aid is None:
        await refuse(update, context)
        return
    action = parts[0]
    if action in FIRST_PAGE or action in FIRST_PAGE.values():
        # The paged lists: the first page opens a new message, ◀ ▶ edit it. A forged page number
        # is clamped into range; a non-number is a stale button. The service re-checks the role.
        page = 0 if action in FIRST_PAGE else (kb.parse_int(parts[2]) if len(parts) == 3 else None)
        if page is None or (action in FIRST_PAGE and len(parts) != 2):
            await answer(update, str(tr("common.stale_button")))
            return
        await show_managed_list(update, context, action, aid, page)
        return
    who = await actor(update, context)
    service = context.services.activities
    a = await service.manageable(who, aid)
    if a is None:
        await refuse(update, context)
        return
    if action in ("csv", "xlsx"):
        await answer(update)
        await send_export(update, context, a, action)
    elif action == "code":
        code = await service.checkin_code(who, a.id)
        await answer(update)
        await reply(update, tr("act.manage.code", code=code, title=a.title))
    elif action == "close":
        result = await service.close_signup(who, a.id)
        await answer(update, str(tr(f"act.r.{result.code}")), alert=True)
    elif action == "cancel":
        result = await service.cancel_activity(who, a.id)
        await answer(update, str(tr(f"act.r.{result.code}")), alert=True)
        if result.ok:
            await reply(update, tr("act.manage.cancelled", title=a.title, told=result.extra["told"]))
    elif action == "mk" and len(parts) == 3 and (mid := kb.parse_int(parts[2])) is not None:
        result = await service.mark_attended(who, a.id, mid)
        await answer(update, str(tr(f"act.r.{result.code}")))
    else:
        await refuse(update, context)


async def show_managed_list(update: Update, context: Ctx, action: str, aid: int, page_no: int) -> None:
    """The roster (ro/rp), the names to mark attended (att/ap) or the survey answers (sv/sp)."""
    tr = await translator(update, context)
    who = await actor(update, context)
    service = context.services.activities
    edit = action not in FIRST_PAGE
    paging = FIRST_PAGE.get(action, action)
    if paging == "rp":
        found = await service.roster(who, aid)
        if found is None:
            await refuse(update, context)
            return
        await answer(update)
        await show_roster(update, context, found[0], found[1], page_no, edit=edit)
        return
    if paging == "ap":
        to_mark = await service.to_mark(who, aid)
        if to_mark is None:
            await refuse(update, context)
            return
        a, people = to_mark
        names = kb.page_of(people, page_no, ATTEND_PAGE)
        rows = [
            [kb.button(r.name[:40] or str(r.member_id), kb.cb("actm", "mk", a.id, r.member_id))] for r in names.items
        ]
        rows.append(_nav(tr, f"actm:ap:{a.id}", names))
        text = tr.join([tr("act.manage.attendance"), *_page_line(tr, names)])
    else:
        answers = await service.survey_results(who, aid)
        if answers is None:
            await refuse(update, context)
            return
        a, results = answers
        avg = sum(r for r, _ in results) / len(results) if results else 0
        shown = kb.page_of(results, page_no, SURVEY_PAGE)
        lines: list[str] = [tr("act.manage.survey", count=len(results), average=f"{avg:.1f}"), *_page_line(tr, shown)]
        lines += [f"{'*' * r} {(c or '')[:SURVEY_COMMENT_SHOWN]}" for r, c in shown.items]
        text = tr.join(lines)
        rows = [_nav(tr, f"actm:sp:{a.id}", shown)]
    await answer(update)
    # Telegram refuses an empty inline keyboard: one page and nothing to tap means no keyboard.
    await (edit_or_reply if edit else reply)(update, text, kb.inline(rows) if any(rows) else None)


ROSTER_PAGE = 20
ROSTER_ORDER = ("confirmed", "offered", "waiting", "not_going")


RosterPage = tuple[int, int, dict[str, tuple[int, list[str]]]]


def roster_page(entries: list[RosterEntry], page: int, ended: bool) -> RosterPage:
    """One page of the roster: (page clamped into range, pages, status -> (total, names on the page)).

    People are listed in status order (confirmed, offered, waiting in waitlist order, not going),
    `ROSTER_PAGE` a page; totals always count everyone. Checked-in and no-show are among the
    confirmed, so they have their own totals and show the names of this page.
    """
    listed = kb.page_of([e for status in ROSTER_ORDER for e in entries if e.status == status], page, ROSTER_PAGE)
    out: dict[str, tuple[int, list[str]]] = {}
    for key in (*ROSTER_ORDER, "checked_in", "no_show"):
        total = sum(1 for e in entries if _roster_has(key, e, ended))
        names = [(e.name or str(e.member_id))[:40] for e in listed.items if _roster_has(key, e, ended)]
        out[key] = (total, names)
    return listed.page, listed.pages, out


def _roster_has(key: str, e: RosterEntry, ended: bool) -> bool:
    if key == "checked_in":
        return e.checked_in_at is not None
    if key == "no_show":
        return ended and e.status == "confirmed" and e.checked_in_at is None
    return e.status == key


async def show_roster(
    update: Update, context: Ctx, a: Activity, roster: list[RosterEntry], page: int = 0, *, edit: bool = False
) -> None:
    tr = await translator(update, context)
    service = context.services.activities
    ended = service.clock.now() >= a.ends_at
    page, pages, groups = roster_page(roster, page, ended)
    lines: list[str] = [service.card(tr.lang, a)]
    for key, (total, names) in groups.items():
        if total or key in ("confirmed", "waiting"):
            shown = ", ".join(names) or ("…" if total else "-")
            lines.append(tr(f"act.roster.{key}", count=total, names=shown))
    if pages > 1:
        lines.append(tr("act.roster.page", page=page + 1, pages=pages, size=ROSTER_PAGE))
    buttons = [
        kb.pager(f"actm:rp:{a.id}", page, pages, str(tr("act.btn.page_prev")), str(tr("act.btn.page_next"))),
        [kb.button(str(tr("act.btn.edit")), kb.cb("acte", a.id))],
        [kb.button("CSV", kb.cb("actm", "csv", a.id)), kb.button("XLSX", kb.cb("actm", "xlsx", a.id))],
        [
            kb.button(str(tr("act.btn.code")), kb.cb("actm", "code", a.id)),
            kb.button(str(tr("act.btn.attendance")), kb.cb("actm", "att", a.id)),
        ],
        [
            kb.button(str(tr("act.btn.close")), kb.cb("actm", "close", a.id)),
            kb.button(str(tr("act.btn.cancel_activity")), kb.cb("actm", "cancel", a.id)),
        ],
        [kb.button(str(tr("act.btn.survey_results")), kb.cb("actm", "sv", a.id))],
    ]
    # Starts /notice (handlers/notices.py) with this activity's participants as the audience.
    buttons.append([kb.button(str(tr("notice.btn.notify_participants")), kb.cb("ntc", "pre", a.id))])
    text = Markup("\n".join(lines))
    if edit:
        await edit_or_reply(update, text, kb.inline(buttons))
    else:
        await reply(update, text, kb.inline(buttons))


def roster_rows(entries: list[Any], zone: Any) -> list[list[str]]:
    return [
        [
            str(i),
            e.name,
            str(e.user_id or ""),
            e.status,
            show(e.created_at, zone),
            show(e.checked_in_at, zone) if e.checked_in_at else "",
        ]
        for i, e in enumerate(entries, 1)
    ]


async def send_export(update: Update, context: Ctx, a: Activity, kind: str) -> None:
    tr = await translator(update, context)
    service = context.services.activities
    header = [str(tr(f"act.col.{c}")) for c in ("n", "name", "user", "status", "signed_up", "checked_in")]
    who = await actor(update, context)
    rows = roster_rows(await service.export_roster(who, a.id, kind), context.services.settings.zone)
    if kind == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        # Cells starting with = + - @ would run as formulas in spreadsheets: neutralise them.
        writer.writerows([[("'" + c if c[:1] in "=+-@" else c) for c in row] for row in rows])
        data = buffer.getvalue().encode("utf-8-sig")
    else:
        # Imported here: openpyxl (and the numpy it loads) cost ~0.3 s of every start-up.
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(header)
        for row in rows:
            sheet.append([("'" + c if c[:1] in "=+-@" else c) for c in row])
        out = io.BytesIO()
        book.save(out)
        data = out.getvalue()
    if (chat := update.effective_chat) is not None:
        name = f"roster-{a.id}.{kind}"
        await send_direct(update, context, lambda: chat.send_document(data, filename=name), what="roster export")


async def capacity_command(update: Update, context: Ctx) -> None:
    """/capacity <activity id> <seats>"""
    tr = await translator(update, context)
    who = await actor(update, context)
    if not who.is_coordinator:
        await refuse(update, context)
        return
    args = context.args or []
    aid = kb.parse_int(args[0]) if args else None
    if aid is None:
        await reply(update, tr("act.capacity.usage"))
        return
    a = await context.services.activities.manageable(who, aid)
    if a is None:
        await refuse(update, context)
        return
    try:
        capacity = parse_capacity(args[1]) if len(args) == 2 else None
    except ValueError:
        capacity = None
    if capacity is None:
        await reply(update, tr("act.bad.capacity"))
        return
    result = await context.services.activities.change_capacity(who, a.id, capacity)
    await reply(update, tr(f"act.r.{result.code}"))


async def edit_command(update: Update, context: Ctx) -> None:
    """/editactivity <id> <title|place|start|end> <value>"""
    tr = await translator(update, context)
    who = await actor(update, context)
    text = update.message.text if update.message else ""
    if not who.is_coordinator:
        await refuse(update, context)
        return
    parts = (text or "").split(maxsplit=3)
    aid = kb.parse_int(parts[1]) if len(parts) > 1 else None
    if aid is None:
        await reply(update, tr("act.edit.usage"))
        return
    a = await context.services.activities.manageable(who, aid)
    if a is None:
        await refuse(update, context)
        return
    if len(parts) < 4 or parts[2] not in ("title", "place", "start", "end"):
        await reply(update, tr("act.edit.usage"))
        return
    field, raw = parts[2], parts[3]
    changes: dict[str, Any] = {}
    if field in ("start", "end"):
        try:
            changes[f"{field}s_at"] = parse_local(raw, context.services.settings.zone, context.services.clock.now())
        except DateError:
            await reply(update, tr("act.new.bad_date"))
            return
    else:
        value = _clean(raw, MAX_TITLE if field == "title" else 300)
        if value is None:
            await reply(update, tr("act.new.bad_text", limit=MAX_TITLE))
            return
        changes[field] = value
    result = await context.services.activities.edit(who, a.id, changes)
    if not result.ok:
        await reply(update, tr(f"act.bad.{result.code}"))
        return
    await reply(update, tr("act.r.edited", told=result.extra["told"]))


# --- due items --------------------------------------------------------------------------------------
async def due_tick(context: Ctx) -> None:
    await context.services.activities.run_due()


async def on_startup(app: LiaisonApp) -> None:
    """Handle what fell due while the bot was down, then check due rows every few seconds."""
    services = app.bot_data.services
    assert services is not None
    await services.activities.run_due()
    if app.job_queue is not None:
        app.job_queue.run_repeating(due_tick, interval=DUE_TICK_S, first=DUE_TICK_S, name="activities_due")


def _cancel() -> BaseHandler[Update, Ctx, object]:
    # cancel_fallback() is typed CommandHandler[Ctx, int]; the handler lists are invariant in
    # the return type, so widen it here (the callback's int is what ConversationHandler wants).
    return cast("BaseHandler[Update, Ctx, object]", common.cancel_fallback())


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    text = filters.TEXT & ~filters.COMMAND & common.COMMAND_FILTER
    app.add_handler(CREATE.protect(app,
        ConversationHandler(
            name="activity_new",
            persistent=True,
            per_message=False,
            entry_points=[CommandHandler("newactivity", new_start, filters=common.COMMAND_FILTER)],
            states={
                TITLE: [MessageHandler(text, got_title)],
                DESC: [MessageHandler(text, got_desc)],
                START: [MessageHandler(text, got_start)],
                END: [MessageHandler(text, got_end)],
                PLACE: [MessageHandler(text, got_place)],
                CAPACITY: [MessageHandler(text, got_capacity)],
                DEADLINE: [MessageHandler(text, got_deadline)],
                ELIG: [
                    CallbackQueryHandler(toggle_group, pattern=r"^actg:"),
                    CallbackQueryHandler(toggle_cat, pattern=r"^actc:"),
                    CallbackQueryHandler(elig_done, pattern=r"^actd$"),
                ],
                REMIND: [MessageHandler(text, got_reminders)],
                SURVEY: [CallbackQueryHandler(got_survey, pattern=r"^acts:")],
                OFFER: [MessageHandler(text, got_offer)],
                REPEAT: [MessageHandler(text, got_repeat)],
                CONFIRM: [CallbackQueryHandler(got_confirm, pattern=r"^actp:")],
            },
            fallbacks=[_cancel()],
        )
    ))
    app.add_handler(
        ConversationHandler(
            name="activity_checkin",
            persistent=True,
            per_message=False,
            entry_points=[
                CommandHandler("checkin", checkin_command, filters=common.COMMAND_FILTER),
                CallbackQueryHandler(checkin_button, pattern=r"^act:ci:\d+$"),
            ],
            states={CHECKIN_CODE: [MessageHandler(text, checkin_text)]},
            fallbacks=[_cancel()],
        )
    )
    app.add_handler(
        ConversationHandler(
            name="activity_survey",
            persistent=True,
            per_message=False,
            entry_points=[CallbackQueryHandler(rate_button, pattern=r"^act:rt:")],
            states={
                SURVEY_COMMENT: [
                    MessageHandler(text, survey_comment),
                    CommandHandler("skip", survey_skip, filters=common.COMMAND_FILTER),
                ]
            },
            fallbacks=[_cancel()],
        )
    )
    app.add_handler(CallbackQueryHandler(member_button, pattern=r"^act:"))
    app.add_handler(CallbackQueryHandler(list_page, pattern=r"^actl:"))
    app.add_handler(CallbackQueryHandler(manage_button, pattern=r"^actm:"))
    app.add_handler(CallbackQueryHandler(manage_page, pattern=r"^actml:"))
    app.add_handler(CommandHandler("activities", list_command, filters=common.COMMAND_FILTER))
    app.add_handler(CommandHandler("manage", manage_command, filters=common.COMMAND_FILTER))
    app.add_handler(CommandHandler("capacity", capacity_command, filters=common.COMMAND_FILTER))
    app.add_handler(CommandHandler("editactivity", edit_command, filters=common.COMMAND_FILTER))
    menu.add("activities", "cmd.activities", Role.MEMBER)
    menu.add("checkin", "cmd.checkin", Role.MEMBER)
    menu.add("newactivity", "cmd.newactivity", Role.COORDINATOR)
    menu.add("manage", "cmd.manage", Role.COORDINATOR)
    menu.add("capacity", "cmd.capacity", Role.COORDINATOR)
    menu.add("editactivity", "cmd.editactivity", Role.COORDINATOR)
    menu.add_home("act.home", kb.cb("actl", 0), Role.MEMBER)
