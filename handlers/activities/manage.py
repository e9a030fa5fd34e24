"""Coordinators: /manage (the list), an activity's roster view with its paged lists (roster,
attendance to mark, survey answers), exports, check-in code, close, cancel, and /capacity.

Every press is re-checked against the caller's scope by the service (storage/scope). Nothing of
this is ever posted into a group: a press on a message in a group is answered privately.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.activities import Activity, RosterEntry, parse_capacity, roster_file
from bot.activities import callbacks as cb
from bot.callbacks import Button
from bot.context import Ctx, LiaisonApp
from bot.dates import show
from bot.errors import Refusal
from bot.i18n import Markup, Translator
from bot.labels import label
from bot.members.rules import namesake_hint
from bot.roles import AccessDenied
from bot.text import truncate_text
from handlers import common, webapp
from handlers import keyboards as kb
from handlers.activities.common import number, page_line, pager, private_chat, refusal_text, tell_refusal
from handlers.base import actor, answer, edit_or_reply, refuse, reply, send_direct, translator, user_id_of
from handlers.buttons import ButtonCallback, on, press

MANAGE_PAGE = 15
ATTEND_PAGE = 20
SURVEY_PAGE = 10
SURVEY_COMMENT_SHOWN = 300
ROSTER_PAGE = 20
ROSTER_ORDER = ("confirmed", "offered", "waiting", "not_going")
RosterPage = tuple[int, int, dict[str, tuple[int, list[str]]]]


# --- /manage -------------------------------------------------------------------------------------------
async def manage_command(update: Update, context: Ctx) -> None:
    await show_manage(update, context, 0, edit=False)


async def manage_page(update: Update, context: Ctx) -> None:
    """Another page of the /manage list (a forged page is clamped)."""
    pressed = press(update, cb.MANAGE_PAGE)
    if pressed is not None and await private_chat(update, context):
        await show_manage(update, context, pressed.num("page"), edit=True)


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
        await (edit_or_reply if edit else reply)(update, tr("act.list.empty"))
        return
    page = kb.page_of(activities, page_no, MANAGE_PAGE)
    rows = [[kb.button(_manage_item(tr, a), cb.ROSTER.data(id=a.id))] for a in page.items]
    rows.append(pager(tr, cb.MANAGE_PAGE, page.page, page.pages))
    rows += webapp.desk_rows(context.services, tr, "activities", update)  # the Mini App (issue #20)
    text = tr.join([tr("act.manage.header"), *page_line(tr, page)])
    await (edit_or_reply if edit else reply)(update, text, kb.inline(rows))


def _manage_item(tr: Translator, a: Activity) -> str:
    """An activity in the /manage list: its title, and its status in words unless it is open."""
    if a.status == "published":
        return a.title[:40]
    return f"{a.title[:40]} · {label(tr, 'activity_status', a.status)}"


# --- the paged lists of one activity -----------------------------------------------------------------
# A first page (ro/att/sv) opens a new message; ◀ ▶ (rp/ap/sp) edit it.
FIRST_PAGES = {cb.ROSTER: cb.ROSTER_PAGE, cb.ATTENDANCE: cb.ATTENDANCE_PAGE, cb.SURVEY_RESULTS: cb.SURVEY_PAGE}
NEXT_PAGES = set(FIRST_PAGES.values())


def _paged(button: Button) -> ButtonCallback:
    async def callback(update: Update, context: Ctx) -> None:
        pressed = press(update, button)
        if pressed is None or not await private_chat(update, context):
            return
        first = button in FIRST_PAGES
        paging = FIRST_PAGES.get(button, button)
        page = 0 if first else pressed.num("page")
        await show_managed_list(update, context, paging, pressed.num("id"), page, edit=not first)

    callback.__name__ = f"manage_{button.action}"
    return callback


async def show_managed_list(
    update: Update, context: Ctx, paging: Button, aid: int, page_no: int, *, edit: bool
) -> None:
    """The roster, the names to mark attended or the survey answers."""
    tr = await translator(update, context)
    who = await actor(update, context)
    service = context.services.activities
    if paging is cb.ROSTER_PAGE:
        found = await service.roster(who, aid)
        if found is None:
            await refuse(update, context)
            return
        await answer(update)
        await show_roster(update, context, found[0], found[1], page_no, edit=edit)
        return
    if paging is cb.ATTENDANCE_PAGE:
        to_mark = await service.to_mark(who, aid)
        if to_mark is None:
            await refuse(update, context)
            return
        a, people = to_mark
        names = kb.page_of(people, page_no, ATTEND_PAGE)
        display = shown_names(tr, people)
        rows = [
            [kb.button(_attendee(r, display), cb.MARK_ATTENDED.data(id=a.id, member=r.member_id))] for r in names.items
        ]
        rows.append(pager(tr, cb.ATTENDANCE_PAGE, names.page, names.pages, id=a.id))
        here = sum(1 for r in people if r.checked_in_at is not None)
        text = tr.join(
            [
                tr("act.manage.attendance"),
                tr("act.manage.attended", here=here, total=len(people)),
                *page_line(tr, names),
            ]
        )
    else:
        answers = await service.survey_results(who, aid)
        if answers is None:
            await refuse(update, context)
            return
        a, results = answers
        avg = sum(r for r, _ in results) / len(results) if results else 0
        shown = kb.page_of(results, page_no, SURVEY_PAGE)
        lines: list[str] = [tr("act.manage.survey", count=len(results), average=f"{avg:.1f}"), *page_line(tr, shown)]
        lines += [f"{'*' * r} {truncate_text(c or '', SURVEY_COMMENT_SHOWN)}" for r, c in shown.items]
        text = tr.join(lines)
        rows = [pager(tr, cb.SURVEY_PAGE, shown.page, shown.pages, id=a.id)]
    await answer(update)
    # Telegram refuses an empty inline keyboard: one page and nothing to tap means no keyboard.
    await (edit_or_reply if edit else reply)(update, text, kb.inline(rows) if any(rows) else None)


def shown_names(tr: Translator, entries: list[RosterEntry]) -> dict[int, str]:
    """Each member's name as listed; two people of the same name (two 王芳) are told apart by
    their organisation, else the last 4 digits of their phone."""
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.name] = counts.get(e.name, 0) + 1
    out: dict[int, str] = {}
    for e in entries:
        name = e.name[:40] or str(e.member_id)
        found = namesake_hint(e.organisation, e.phone) if counts[e.name] > 1 else None
        if found is not None:
            kind, value = found
            hint = value if kind == "org" else str(tr("act.roster.phone_tail", digits=value))
            name = str(tr("act.roster.same_name", name=name, hint=hint))
        out[e.member_id] = name
    return out


def roster_page(entries: list[RosterEntry], page: int, ended: bool, names: dict[int, str] | None = None) -> RosterPage:
    """One page of the roster: (page clamped into range, pages, status -> (total, names on the page)).

    People are listed in status order (confirmed, offered, waiting in waitlist order, not going),
    `ROSTER_PAGE` a page; totals always count everyone. Checked-in and no-show are among the
    confirmed, so they have their own totals and show the names of this page.
    """
    listed = kb.page_of([e for status in ROSTER_ORDER for e in entries if e.status == status], page, ROSTER_PAGE)
    out: dict[str, tuple[int, list[str]]] = {}
    for key in (*ROSTER_ORDER, "checked_in", "no_show"):
        total = sum(1 for e in entries if _roster_has(key, e, ended))
        shown = [
            (names or {}).get(e.member_id) or (e.name or str(e.member_id))[:40]
            for e in listed.items
            if _roster_has(key, e, ended)
        ]
        out[key] = (total, shown)
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
    page, pages, groups = roster_page(roster, page, ended, shown_names(tr, roster))
    lines: list[str] = [service.card(tr.lang, a)]
    for key, (total, names) in groups.items():
        if total or key in ("confirmed", "waiting"):
            shown = ", ".join(names) or ("…" if total else "-")
            lines.append(tr(f"act.roster.{key}", count=total, names=shown))
    if pages > 1:
        lines.append(tr("act.roster.page", page=page + 1, pages=pages, size=ROSTER_PAGE))
    ref = {"id": a.id}
    buttons = [
        pager(tr, cb.ROSTER_PAGE, page, pages, id=a.id),
        [kb.button(str(tr("act.btn.edit")), cb.EDIT_MENU.data(**ref))],
        [kb.button("CSV", cb.EXPORT_CSV.data(**ref)), kb.button("XLSX", cb.EXPORT_XLSX.data(**ref))],
        [
            kb.button(str(tr("act.btn.code")), cb.CHECKIN_CODE.data(**ref)),
            kb.button(str(tr("act.btn.attendance")), cb.ATTENDANCE.data(**ref)),
        ],
        [
            kb.button(str(tr("act.btn.close")), cb.CLOSE.data(**ref)),
            kb.button(str(tr("act.btn.survey_results")), cb.SURVEY_RESULTS.data(**ref)),
        ],
        # Starts /notice (the notices feature) with this activity's participants as the audience.
        [kb.button(str(tr("notice.btn.notify_participants")), cb.NOTIFY_PARTICIPANTS.data(**ref))],
        # The one irreversible action, on its own row at the bottom (it asks before it cancels).
        [kb.button(str(tr("act.btn.cancel_activity")), cb.CANCEL_ACTIVITY.data(**ref))],
    ]
    text = Markup("\n".join(lines))
    if edit:
        await edit_or_reply(update, text, kb.inline(buttons))
    else:
        await reply(update, text, kb.inline(buttons))


# --- exports -----------------------------------------------------------------------------------------
async def export(update: Update, context: Ctx) -> None:
    pressed = press(update, cb.EXPORT_CSV) or press(update, cb.EXPORT_XLSX)
    if pressed is None or not await private_chat(update, context):
        return
    kind = "csv" if pressed.button is cb.EXPORT_CSV else "xlsx"
    tr = await translator(update, context)
    who = await actor(update, context)
    try:
        a, entries = await context.services.activities.export_roster(who, pressed.num("id"), kind)
    except AccessDenied:
        await refuse(update, context)
        return
    await answer(update)
    zone = context.services.settings.zone
    if kind == "csv":
        data = roster_file.roster_csv(tr, entries, zone)
    else:
        data = roster_file.roster_xlsx(tr, entries, zone, a.title)
    user_id = user_id_of(update)
    name = f"roster-{a.id}.{kind}"
    await send_direct(
        update, context, lambda: context.bot.send_document(user_id, data, filename=name), what="roster export"
    )


# --- code, close, cancel, mark attended ---------------------------------------------------------------
async def checkin_code(update: Update, context: Ctx) -> None:
    pressed = press(update, cb.CHECKIN_CODE)
    if pressed is None or not await private_chat(update, context):
        return
    tr = await translator(update, context)
    service = context.services.activities
    who = await actor(update, context)
    try:
        a = await service.managed(who, pressed.num("id"))
        code = await service.checkin_code(who, a.id)
    except AccessDenied:
        await refuse(update, context)
        return
    await answer(update)
    await reply(update, tr("act.manage.code", code=code, title=a.title))


async def close(update: Update, context: Ctx) -> None:
    """Close the sign-up (cancelling is handlers/activities/cancel.py: it asks first)."""
    pressed = press(update, cb.CLOSE)
    if pressed is None or not await private_chat(update, context):
        return
    tr = await translator(update, context)
    try:
        result = await context.services.activities.close_signup(await actor(update, context), pressed.num("id"))
    except AccessDenied:
        await refuse(update, context)
        return
    except Refusal as refusal:
        await tell_refusal(update, context, refusal)
        return
    await answer(update, str(tr(f"act.r.{result.code}")), alert=True)


def _attendee(r: RosterEntry, shown: dict[int, str]) -> str:
    """A name in the attendance list, ✅ once checked in (a second tap undoes it)."""
    name = shown.get(r.member_id) or r.name[:40] or str(r.member_id)
    return f"✅ {name}" if r.checked_in_at is not None else name


async def mark_attended(update: Update, context: Ctx) -> None:
    """A tap on a name marks them attended (in the check-in window, else it asks first), a tap on
    a ✅ name undoes it; the list is shown again from what is stored."""
    pressed = press(update, cb.MARK_ATTENDED) or press(update, cb.MARK_CONFIRM)
    if pressed is None or not await private_chat(update, context):
        return
    tr = await translator(update, context)
    who = await actor(update, context)
    service = context.services.activities
    aid, member = pressed.num("id"), pressed.num("member")
    confirmed = pressed.button is cb.MARK_CONFIRM
    try:
        result = await service.toggle_attended(who, aid, member, outside_window=confirmed)
    except AccessDenied:
        await refuse(update, context)
        return
    except Refusal as refusal:
        await answer(update, str(refusal_text(tr, refusal)))
        return
    if result.code == "outside_window":
        await answer(update)
        opens = show(result.extra["opens"], context.services.settings.zone)
        buttons = kb.inline([[kb.button(str(tr("act.btn.mark_anyway")), cb.MARK_CONFIRM.data(id=aid, member=member))]])
        await reply(update, tr("act.manage.mark_outside", opens=opens), buttons)
        return
    await answer(update, str(tr(f"act.r.{result.code}")))
    if confirmed:
        await edit_or_reply(update, tr(f"act.r.{result.code}"))
        return
    to_mark = await service.to_mark(who, aid)
    if to_mark is not None:  # the page holding the name just tapped, from what is stored
        index = next((i for i, r in enumerate(to_mark[1]) if r.member_id == member), 0)
        await show_managed_list(update, context, cb.ATTENDANCE_PAGE, aid, index // ATTEND_PAGE, edit=True)


# --- /capacity -----------------------------------------------------------------------------------------
async def capacity_command(update: Update, context: Ctx) -> None:
    """/capacity <activity id> <seats>"""
    tr = await translator(update, context)
    who = await actor(update, context)
    if not who.is_coordinator:
        await refuse(update, context)
        return
    args = context.args or []
    aid = number(args[0]) if args else None
    if aid is None:
        await reply(update, tr("act.capacity.usage"))
        return
    if await context.services.activities.manageable(who, aid) is None:
        await refuse(update, context)
        return
    try:
        capacity = parse_capacity(args[1]) if len(args) == 2 else None
    except ValueError:
        capacity = None
    if capacity is None:
        await reply(update, tr("act.bad.capacity"))
        return
    try:
        result = await context.services.activities.change_capacity(who, aid, capacity)
    except AccessDenied:
        await refuse(update, context)
    except Refusal as refusal:
        await reply(update, refusal_text(tr, refusal))
    else:
        await reply(update, tr(f"act.r.{result.code}"))


def register(app: LiaisonApp) -> None:
    app.add_handler(on(cb.MANAGE_PAGE, manage_page))
    for button in (*FIRST_PAGES, *FIRST_PAGES.values()):
        app.add_handler(on(button, _paged(button)))
    app.add_handler(on(cb.EXPORT_CSV, export))
    app.add_handler(on(cb.EXPORT_XLSX, export))
    app.add_handler(on(cb.CHECKIN_CODE, checkin_code))
    app.add_handler(on(cb.CLOSE, close))
    app.add_handler(on(cb.MARK_ATTENDED, mark_attended))
    app.add_handler(on(cb.MARK_CONFIRM, mark_attended))
    app.add_handler(CommandHandler("manage", manage_command, filters=common.COMMAND_FILTER))
    app.add_handler(CommandHandler("capacity", capacity_command, filters=common.COMMAND_FILTER))
