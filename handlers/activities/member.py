"""What members do: /activities (the list), an activity's card, sign up / not going / cancel /
accept an offer / sign up for a series (sign-up is the hot path), and the calendar file."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler

from bot.activities import Activity, Result
from bot.activities import callbacks as cb
from bot.activities.ics import activity_ics, file_name
from bot.callbacks import Button
from bot.context import Ctx, LiaisonApp
from bot.dates import show
from bot.errors import Refusal
from bot.i18n import Markup, Translator
from bot.labels import label
from handlers import common
from handlers import keyboards as kb
from handlers.activities.common import pager, private_chat, refusal_text, refuse_non_member
from handlers.base import actor, answer, edit_or_reply, send_direct, translator, user_id_of
from handlers.buttons import on, press

PAGE = 5


def status_text(tr: Translator, status: str | None) -> Markup:
    """The member's sign-up status in words (bot/labels), or "not signed up"."""
    return Markup(label(tr, "signup_status", status)) if status else tr("act.status.none")


def member_keyboard(tr: Translator, a: Activity, status: str | None) -> InlineKeyboardMarkup | None:
    if a.status == "cancelled":
        return None
    ref = {"id": a.id}
    rows = []
    if status in ("confirmed", "waiting", "offered"):
        if status == "offered":
            rows.append([kb.button(str(tr("act.btn.accept")), cb.ACCEPT_OFFER.data(**ref))])
        row = [kb.button(str(tr("act.btn.cancel_signup")), cb.CANCEL_SIGNUP.data(**ref))]
        if status == "confirmed":  # a calendar entry only for a held seat, not for the waitlist
            row.append(kb.button(str(tr("act.btn.ics")), cb.CALENDAR.data(**ref)))
        rows.append(row)
    else:
        row = [kb.button(str(tr("act.btn.signup")), cb.SIGN_UP.data(**ref))]
        if status != "not_going":
            row.append(kb.button(str(tr("act.btn.not_going")), cb.NOT_GOING.data(**ref)))
        rows.append(row)
        if a.series_id is not None:
            rows.append([kb.button(str(tr("act.btn.signup_series")), cb.SIGN_UP_SERIES.data(**ref))])
    return kb.inline(rows)


Action = Callable[[int, int], Awaitable[Result]]


async def _act(update: Update, context: Ctx, button: Button, action: Action) -> None:
    """Run a member's action and show its outcome on the card (a refusal as an alert)."""
    pressed = press(update, button)
    if pressed is None or not await private_chat(update, context):
        return
    tr = await translator(update, context)
    service = context.services.activities
    try:
        result = await action(user_id_of(update), pressed.num("id"))
    except Refusal as refusal:
        line = refusal_text(tr, refusal)
        await answer(update, str(line), alert=True)
        a, status = refusal.values.get("activity"), refusal.values.get("status")
        # The card is re-shown when the refusal says where the member stands (already signed up...).
        if isinstance(a, Activity) and (status is not None or refusal.key == "act.r.cancelled"):
            await edit_or_reply(update, line + "\n\n" + service.card(tr.lang, a), member_keyboard(tr, a, status))
        return
    if result.code == "series":
        line = tr("act.r.series", count=result.extra.get("count", 0))
    elif result.code == "waiting":
        line = tr("act.r.waiting", position=result.position)
    else:
        line = tr(f"act.r.{result.code}")
    await answer(update, str(line))
    if result.activity is not None:
        a = result.activity
        await edit_or_reply(update, line + "\n\n" + service.card(tr.lang, a), member_keyboard(tr, a, result.status))


async def sign_up(update: Update, context: Ctx) -> None:
    await _act(update, context, cb.SIGN_UP, context.services.activities.sign_up)


async def not_going(update: Update, context: Ctx) -> None:
    await _act(update, context, cb.NOT_GOING, context.services.activities.not_going)


async def cancel_signup(update: Update, context: Ctx) -> None:
    await _act(update, context, cb.CANCEL_SIGNUP, context.services.activities.cancel_signup)


async def accept_offer(update: Update, context: Ctx) -> None:
    await _act(update, context, cb.ACCEPT_OFFER, context.services.activities.accept_offer)


async def sign_up_series(update: Update, context: Ctx) -> None:
    await _act(update, context, cb.SIGN_UP_SERIES, context.services.activities.sign_up_series)


async def open_activity(update: Update, context: Ctx) -> None:
    pressed = press(update, cb.OPEN)
    if not await private_chat(update, context):
        return
    tr = await translator(update, context)
    who = await actor(update, context)
    service = context.services.activities
    view = (
        await service.member_view(who.member_id, pressed.num("id"))
        if pressed is not None and who.member_id is not None
        else None
    )
    if view is None:
        await answer(update, str(tr("act.r.no_activity")))
        return
    await answer(update)
    a, status = view
    await edit_or_reply(
        update, status_text(tr, status) + "\n\n" + service.card(tr.lang, a), member_keyboard(tr, a, status)
    )


async def send_ics(update: Update, context: Ctx) -> None:
    pressed = press(update, cb.CALENDAR)
    if not await private_chat(update, context):
        return
    tr = await translator(update, context)
    who = await actor(update, context)
    service = context.services.activities
    a = await service.held_by(who.member_id, pressed.num("id")) if pressed is not None else None
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
    # Personal: always to the member's private chat, never into a group the button was pressed in.
    user_id = user_id_of(update)
    name = file_name(a.title, a.id)
    await send_direct(
        update, context, lambda: context.bot.send_document(user_id, data, filename=name), what="activity .ics"
    )


# --- /activities ---------------------------------------------------------------------------------------
async def list_command(update: Update, context: Ctx) -> None:
    await show_list(update, context, 0)


async def list_page(update: Update, context: Ctx) -> None:
    pressed = press(update, cb.LIST_PAGE)
    if not await private_chat(update, context):
        return
    await answer(update)
    await show_list(update, context, pressed.num("page") if pressed is not None else 0)


async def show_list(update: Update, context: Ctx, page: int) -> None:
    tr = await translator(update, context)
    if not await refuse_non_member(update, context):
        return
    who = await actor(update, context)
    assert who.member_id is not None
    items = await context.services.activities.visible_for(who.member_id)
    if not items:
        await edit_or_reply(update, tr("act.list.empty"))
        return
    shown = kb.page_of(items, page, PAGE)
    zone = context.services.settings.zone
    lines = [tr("act.list.header")]
    buttons = []
    for a, status in shown.items:
        lines.append(tr("act.list.item", title=a.title, start=show(a.starts_at, zone), status=status_text(tr, status)))
        buttons.append([kb.button(a.title[:40], cb.OPEN.data(id=a.id))])
    nav = pager(tr, cb.LIST_PAGE, shown.page, shown.pages, texts=("act.btn.prev", "act.btn.next"))
    await edit_or_reply(update, Markup("\n".join(lines)), kb.inline([*buttons, nav]))


def register(app: LiaisonApp) -> None:
    app.add_handler(on(cb.SIGN_UP, sign_up))
    app.add_handler(on(cb.NOT_GOING, not_going))
    app.add_handler(on(cb.CANCEL_SIGNUP, cancel_signup))
    app.add_handler(on(cb.ACCEPT_OFFER, accept_offer))
    app.add_handler(on(cb.SIGN_UP_SERIES, sign_up_series))
    app.add_handler(on(cb.CALENDAR, send_ics))
    app.add_handler(on(cb.OPEN, open_activity))
    app.add_handler(on(cb.LIST_PAGE, list_page))
    app.add_handler(CommandHandler("activities", list_command, filters=common.COMMAND_FILTER))
