"""/notices: the list, one notice's status (updated live as acknowledgements arrive), who has not
acknowledged, a nudge, and cancelling a scheduled notice."""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, RetryAfter

from bot.callbacks import Button, Pressed
from bot.context import Ctx
from bot.errors import Refusal
from bot.i18n import Markup, Translator
from bot.notices import NoticeRow
from bot.notices import callbacks as cb
from bot.roles import AccessDenied, Actor
from handlers import keyboards as kb
from handlers import webapp
from handlers.base import answer, edit_lock, edit_or_reply, last_shown, refuse, shown, translator
from handlers.buttons import press
from handlers.notices.common import coordinator, local, plain, short, status_label

log = logging.getLogger(__name__)
PER_PAGE = 20
LIVE_REFRESH_DELAY_S = 1.5  # acknowledgements arriving together cause one edit per open view


async def notices_list(update: Update, context: Ctx) -> None:
    who = await coordinator(update, context)
    if who is None:
        return
    if update.callback_query:
        await answer(update)
    tr = await translator(update, context)
    rows = await context.services.notices.listing(who)
    if not rows:
        await edit_or_reply(update, tr("notice.list.empty"))
        return
    # A button's label is plain text: the excerpt of the stored HTML without tags or entities.
    buttons = [[kb.button(short(html.unescape(tr("notice.list.item", id=r.id, status=status_label(tr, r.status),
                                                 excerpt=plain(r.text, 30))), 64), cb.VIEW.data(id=r.id))]
               for r in rows]
    await edit_or_reply(update, tr("notice.list.title"), kb.inline(buttons))


async def load(update: Update, context: Ctx, button: Button) -> tuple[Actor, Pressed, NoticeRow] | None:
    """The press of `button` naming a notice the caller may manage."""
    who = await coordinator(update, context)
    if who is None:
        return None
    pressed = press(update, button)
    tr = await translator(update, context)
    if pressed is None:
        await answer(update, str(tr("common.stale_button")))
        return None
    try:
        row = await context.services.notices.get_for(who, pressed.num("id"))
    except Refusal as exc:
        await answer(update, str(tr(exc.key, **exc.values)), alert=True)
        return None
    except AccessDenied:
        await refuse(update, context)
        return None
    return who, pressed, row


async def notice_view(update: Update, context: Ctx) -> None:
    loaded = await load(update, context, cb.VIEW)
    if loaded is None:
        return
    who, _, row = loaded
    await answer(update)
    await _render_view(update, context, who, row)


async def _view_content(
    context: Ctx, tr: Translator, who: Actor, row: NoticeRow
) -> tuple[Markup, InlineKeyboardMarkup]:
    """The status text and buttons of one notice (shared by the view and its live refresh)."""
    excerpt = plain(row.text, 200)
    back = kb.button(tr("notice.btn.back"), cb.LIST.data())
    if row.status in ("scheduled", "recurring"):
        text = tr("notice.status_due", id=row.id, status=status_label(tr, row.status), excerpt=excerpt,
                  when=local(context, row.next_due_at))
        timing = "notice.btn.edit_time" if row.status == "scheduled" else "notice.btn.edit_repeat"
        return text, kb.inline([
            [kb.button(tr("notice.btn.edit"), cb.EDIT_TEXT.data(id=row.id)),
             kb.button(tr("notice.btn.change_audience"), cb.CHANGE_AUDIENCE.data(id=row.id))],
            [kb.button(tr(timing), cb.EDIT_TIME.data(id=row.id))],
            [kb.button(tr("notice.btn.cancel_notice"), cb.CANCEL_NOTICE.data(id=row.id))],
            [back],
        ])
    notices = context.services.notices
    _, stats = await notices.stats(who, row.id)
    text = tr("notice.status", id=row.id, status=status_label(tr, row.status), excerpt=excerpt,
              recipients=stats.recipients, delivered=stats.delivered, failed=stats.failed,
              acked=stats.acknowledged, pending=stats.recipients - stats.acknowledged)
    again = notices.next_nudge(row)
    if row.nudged_at is not None:
        nudged = tr("notice.nudged_at", at=notices.local_time(row.nudged_at))
        if again is not None:
            nudged = tr.join([nudged, tr("notice.nudge_again", again=notices.local_time(again))], "")
        text = tr.join([text, nudged])
    can_nudge = row.status == "sent" and again is None and stats.recipients > stats.acknowledged
    return text, kb.inline([
        [kb.button(tr("notice.btn.refresh"), cb.VIEW.data(id=row.id)),
         kb.button(tr("notice.btn.who"), cb.WHO_HAS_NOT.data(id=row.id, page=0))],
        [kb.button(tr("notice.btn.nudge_now"), cb.NUDGE.data(id=row.id))] if can_nudge else [],
        *webapp.desk_rows(context.services, tr, f"notices/{row.id}"),  # the Mini App (issue #20)
        [back],
    ])


async def _render_view(update: Update, context: Ctx, who: Actor, row: NoticeRow) -> None:
    tr = await translator(update, context)
    query = update.callback_query
    if query is not None and isinstance(query.message, Message):
        # computed and shown under the message's edit lock: never beside the live refresh
        async with edit_lock(context.bot, query.message.chat.id, query.message.message_id):
            text, keyboard = await _view_content(context, tr, who, row)
            await edit_or_reply(update, text, keyboard, locked=True)
    else:
        text, keyboard = await _view_content(context, tr, who, row)
        await edit_or_reply(update, text, keyboard)
    if row.status not in ("scheduled", "recurring") and query is not None and isinstance(query.message, Message):
        # Remember the open view, so arriving acknowledgements update it (a live summary).
        await context.services.notices.remember_view(
            who, row.id, query.message.chat.id, query.message.message_id, tr.lang
        )


def schedule_live_refresh(context: Ctx, notice_id: int) -> None:
    queue = context.application.job_queue
    name = f"notice-view-{notice_id}"
    # The job's id is its name: one lookup (`get_jobs_by_name` lists every job, on each press of a storm).
    if queue is None or queue.scheduler.get_job(name) is not None:
        return
    queue.run_once(_refresh_views, LIVE_REFRESH_DELAY_S, data=notice_id, name=name,  # type: ignore[arg-type]
                   job_kwargs={"id": name})


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
        except (Refusal, AccessDenied):
            continue
        tr = services.catalog.for_lang("en" if view.lang == "en" else "zh-Hans")
        async with edit_lock(context.bot, view.chat_id, view.message_id):  # not beside a refresh by hand
            text, keyboard = await _view_content(context, tr, who, row)
            before = last_shown(context.bot, view.chat_id, view.message_id)
            if before is not None and before == (text, keyboard):
                continue  # already shows this (e.g. refreshed by hand)
            try:
                # one attempt: waiting out a 429 here would hold the message's edit lock, and the
                # coordinator's own presses on the view would wait behind a summary nobody asked for
                await context.bot.edit_message_text(text, chat_id=view.chat_id, message_id=view.message_id,
                                                    parse_mode=ParseMode.HTML, reply_markup=keyboard)
            except (BadRequest, RetryAfter) as exc:  # not modified, gone, or flood-limited: not updated now
                log.debug("live notice view %s not updated: %s", view.notice_id, exc.message)
                continue
            # what the view shows now: a refresh by hand compares with this (no edit that changes nothing)
            shown(context.bot, view.chat_id, view.message_id, text, keyboard)


async def who_has_not(update: Update, context: Ctx) -> None:
    loaded = await load(update, context, cb.WHO_HAS_NOT)
    if loaded is None:
        return
    who, pressed, row = loaded
    await answer(update)
    tr = await translator(update, context)
    page = pressed.num("page")
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
            name = person.name or str(person.user_id)
            if person.phone_tail:  # two 王芳 in one group are told apart
                phone = tr("notice.person.phone", digits=person.phone_tail)
                lines.append("• " + tr("notice.person", name=name, details=phone))
            else:
                lines.append("• " + tr.join([name]))
        text = Markup(tr("notice.who.title", total=total) + "\n".join(lines))
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    nav = []
    if page > 0:
        nav.append(kb.button(tr("notice.btn.prev"), cb.WHO_HAS_NOT.data(id=row.id, page=page - 1)))
    if page + 1 < pages:
        nav.append(kb.button(tr("notice.btn.next"), cb.WHO_HAS_NOT.data(id=row.id, page=page + 1)))
    keyboard = kb.inline([nav, [kb.button(tr("notice.btn.back"), cb.VIEW.data(id=row.id))]])
    await edit_or_reply(update, text, keyboard)


async def nudge_pressed(update: Update, context: Ctx) -> None:
    loaded = await load(update, context, cb.NUDGE)
    if loaded is None:
        return
    who, _, row = loaded
    tr = await translator(update, context)
    try:
        count = await context.services.notices.nudge(who, row.id)
    except Refusal as exc:  # too soon after the last reminder (or a double tap): the view says when
        await answer(update, str(tr(exc.key, **exc.values)), alert=True)
        await _render_view(update, context, who, await context.services.notices.get_for(who, row.id))
        return
    await answer(update, str(tr("notice.nudged", count=count)))
    await edit_or_reply(update, tr("notice.nudged", count=count),
                        kb.inline([[kb.button(tr("notice.btn.back"), cb.VIEW.data(id=row.id))]]))


async def cancel_notice(update: Update, context: Ctx) -> None:
    """"Cancel this notice" asks first; the confirming button is alone on its row."""
    loaded = await load(update, context, cb.CANCEL_NOTICE)
    if loaded is None:
        return
    _, _, row = loaded
    await answer(update)
    tr = await translator(update, context)
    if row.status not in ("scheduled", "recurring"):
        await edit_or_reply(update, tr("notice.not_cancellable"),
                            kb.inline([[kb.button(tr("notice.btn.back"), cb.VIEW.data(id=row.id))]]))
        return
    key = "notice.cancel.ask_recurring" if row.status == "recurring" else "notice.cancel.ask"
    await edit_or_reply(update, tr(key, id=row.id, excerpt=plain(row.text, 200), when=local(context, row.next_due_at)),
                        kb.inline([[kb.button(tr("notice.btn.cancel_confirm"), cb.CANCEL_CONFIRM.data(id=row.id))],
                                   [kb.button(tr("notice.btn.keep"), cb.VIEW.data(id=row.id))]]))


async def cancel_confirmed(update: Update, context: Ctx) -> None:
    loaded = await load(update, context, cb.CANCEL_CONFIRM)
    if loaded is None:
        return
    who, _, row = loaded
    tr = await translator(update, context)
    done = await context.services.notices.cancel(who, row.id)
    await answer(update, str(tr("notice.cancelled" if done else "notice.not_cancellable")))
    await edit_or_reply(update, tr("notice.cancelled" if done else "notice.not_cancellable"))
