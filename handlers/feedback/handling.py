"""Coordinators handle feedback: /queue with filters, an item's view and actions, the CSV export.

Every press re-checks role and scope in the service (data can be forged).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from functools import partial

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.callbacks import NOOP
from bot.context import Ctx
from bot.errors import Refusal
from bot.feedback import KINDS, STATUSES, Item, Note
from bot.feedback import callbacks as cb
from bot.i18n import Markup, Translator, escape
from bot.labels import label
from bot.roles import AccessDenied
from bot.text import MESSAGE_LIMIT, export_safe, truncate_html
from handlers import keyboards as kb
from handlers import webapp
from handlers.base import actor, answer, edit_or_reply, refuse, send_direct, translator
from handlers.buttons import press

ALL = cb.ALL


def _queue(status: str, kind: str, group: str, page: int) -> str:
    return cb.QUEUE.data(status=status, kind=kind, group=group, page=page)


async def queue_command(update: Update, context: Ctx) -> None:
    await show_queue(update, context, "new", ALL, ALL, 0)


async def queue_pressed(update: Update, context: Ctx) -> None:
    pressed = press(update, cb.QUEUE)
    if pressed is None or (pressed.text("group") != ALL and cb.group_of(pressed.text("group")) is None):
        await answer(update)
        return
    await show_queue(
        update, context, pressed.text("status"), pressed.text("kind"), pressed.text("group"), pressed.num("page")
    )


async def show_queue(update: Update, context: Ctx, status: str, kind: str, group: str, page: int) -> None:
    tr = await translator(update, context)
    who = await actor(update, context)
    service = context.services.feedback
    try:
        result = await service.queue(
            who, None if status == ALL else status, None if kind == ALL else kind, cb.group_of(group), page
        )
        groups = await service.scope_groups(who)
    except AccessDenied:
        await refuse(update, context)
        return
    await answer(update)
    rows: list[list[InlineKeyboardButton]] = []
    for row in result.rows:
        text = f"{row.ref} · {label(tr, 'feedback_kind', row.kind)} · {label(tr, 'feedback_status', row.status)}"
        rows.append([kb.button(text, cb.VIEW.data(id=row.id))])

    def mark(text: str, on: bool) -> str:
        return f"• {text}" if on else text

    rows += kb.columns(
        [kb.button(mark(str(tr("fb.filter_all")), status == ALL), _queue(ALL, kind, group, 0))]
        + [
            kb.button(mark(label(tr, "feedback_status", s), status == s), _queue(s, kind, group, 0))
            for s in STATUSES
        ],
        3,
    )
    rows += kb.columns(
        [kb.button(mark(str(tr("fb.filter_all_kinds")), kind == ALL), _queue(status, ALL, group, 0))]
        + [kb.button(mark(label(tr, "feedback_kind", k), kind == k), _queue(status, k, group, 0)) for k in KINDS],
        3,
    )
    if groups:
        rows += kb.columns(
            [kb.button(mark(str(tr("fb.filter_all_groups")), group == ALL), _queue(status, kind, ALL, 0))]
            + [kb.button(mark(name, group == str(gid)), _queue(status, kind, str(gid), 0)) for gid, name in groups],
            2,
        )
    pager: list[InlineKeyboardButton] = []
    if result.page > 0:
        pager.append(kb.button(str(tr("fb.prev")), _queue(status, kind, group, result.page - 1)))
    if result.pages > 1:
        pager.append(kb.button(f"{result.page + 1}/{result.pages}", NOOP.data()))
    if result.page + 1 < result.pages:
        pager.append(kb.button(str(tr("fb.next")), _queue(status, kind, group, result.page + 1)))
    rows.append(pager)
    rows.append([kb.button(str(tr("fb.export")), cb.EXPORT.data())])
    rows += webapp.desk_rows(context.services, tr, "feedback", update)  # the Mini App (issue #20)
    title = tr("fb.queue_title", count=result.total) if result.rows else tr("fb.queue_empty")
    await edit_or_reply(update, title, kb.inline(rows))


def render_item(tr: Translator, item: Item, notes: list[Note], local: Callable[[datetime], str]) -> Markup:
    lines: list[str] = [
        tr(
            "fb.view_head",
            ref=item.ref,
            kind=label(tr, "feedback_kind", item.kind),
            status=label(tr, "feedback_status", item.status),
        ),
        tr("fb.view_author_anonymous") if item.anonymous else tr("fb.view_author", name=item.author_name or "—"),
        tr("fb.view_groups", groups=", ".join(item.group_names) or "—"),
        tr("fb.view_dates", created=local(item.created_at), due=local(item.due_at)),
    ]
    if item.attachments:
        lines.append(tr("fb.view_files", count=len(item.attachments)))
    lines.append("")
    lines.append(escape(item.body))
    if item.reopen_comment:
        lines.append(tr("fb.view_reopened", comment=item.reopen_comment))
    for note in notes:
        lines.append(tr("fb.view_note", when=local(note.created_at), text=note.body))
    if item.answer:
        lines.append(tr("fb.view_answer", answer=item.answer))
    text = "\n".join(lines)
    return Markup(truncate_html(text, MESSAGE_LIMIT))  # Telegram's units; never inside a tag or entity


def item_keyboard(tr: Translator, item: Item) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if item.status == "assigned":
        rows.append([kb.button(str(tr("fb.start_work")), cb.START_WORK.data(id=item.id))])
    if item.status in ("new", "assigned", "in_progress"):
        rows.append(
            [
                kb.button(str(tr("fb.take")), cb.TAKE.data(id=item.id)),
                kb.button(str(tr("fb.assign")), cb.ASSIGNEES.data(id=item.id)),
            ]
        )
        rows.append(
            [
                kb.button(str(tr("fb.note")), cb.NOTE.data(id=item.id)),
                kb.button(str(tr("fb.answer")), cb.ANSWER.data(id=item.id)),
            ]
        )
    else:
        rows.append([kb.button(str(tr("fb.note")), cb.NOTE.data(id=item.id))])
    if item.status != "closed":
        rows.append([kb.button(str(tr("fb.close")), cb.CLOSE.data(id=item.id))])
    if item.attachments:
        rows.append([kb.button(str(tr("fb.files")), cb.FILES.data(id=item.id))])
    rows.append([kb.button(str(tr("fb.back")), _queue(ALL, ALL, ALL, 0))])
    return kb.inline(rows)


async def show_item(update: Update, context: Ctx, item_id: int, notice: str | None = None) -> None:
    tr = await translator(update, context)
    who = await actor(update, context)
    service = context.services.feedback
    try:
        item, notes = await service.view(who, item_id)
    except (AccessDenied, Refusal):
        await answer(update, str(tr("fb.not_found")), alert=True)
        return
    await answer(update, notice)
    await edit_or_reply(update, render_item(tr, item, notes, service.local), item_keyboard(tr, item))


ITEM_BUTTONS = (cb.VIEW, cb.TAKE, cb.START_WORK, cb.CLOSE, cb.FILES, cb.ASSIGNEES, cb.ASSIGN_TO)


async def item_action(update: Update, context: Ctx) -> None:
    """View / take / start work / close / attachments / assignee list / assign to."""
    tr = await translator(update, context)
    query = update.callback_query
    pressed = next((p for b in ITEM_BUTTONS if (p := press(update, b)) is not None), None)
    if query is None or pressed is None:
        await answer(update)
        return
    button, item_id = pressed.button, pressed.num("id")
    who = await actor(update, context)
    service = context.services.feedback
    try:
        if button is cb.VIEW:
            await show_item(update, context, item_id)
        elif button is cb.TAKE:
            ref = await service.take(who, item_id)
            await show_item(update, context, item_id, str(tr("fb.taken", ref=ref)))
        elif button is cb.START_WORK:
            ok = await service.start_work(who, item_id)
            await show_item(update, context, item_id, str(tr("fb.work_started" if ok else "fb.not_found")))
        elif button is cb.CLOSE:
            ok = await service.close(who, item_id)
            await show_item(update, context, item_id, str(tr("fb.closed" if ok else "fb.not_found")))
        elif button is cb.FILES:
            await _send_files(update, context, await service.view(who, item_id))
        elif button is cb.ASSIGNEES:
            people = await service.assignable(who, item_id)
            await answer(update)
            buttons = [kb.button(name, cb.ASSIGN_TO.data(id=item_id, user=uid)) for uid, name in people]
            buttons.append(kb.button(str(tr("fb.back")), cb.VIEW.data(id=item_id)))
            await edit_or_reply(update, tr("fb.assign_choose"), kb.inline(kb.columns(buttons)))
        else:
            ref = await service.assign(who, item_id, pressed.num("user"))
            await show_item(update, context, item_id, str(tr("fb.assigned", ref=ref)))
    except (AccessDenied, Refusal):
        await answer(update, str(tr("fb.not_found")), alert=True)


async def _send_files(update: Update, context: Ctx, viewed: tuple[Item, list[Note]]) -> None:
    item = viewed[0]
    await answer(update)
    chat = update.effective_chat
    assert chat is not None
    for kind, file_id in item.attachments:
        send = chat.send_photo if kind == "photo" else chat.send_document
        sent = await send_direct(update, context, partial(send, file_id, caption=item.ref), what="feedback attachment")
        if sent is None:
            break


EXPORT_COLUMNS = ("ref", "kind", "status", "groups", "author", "created", "due", "text", "answer")


async def export_pressed(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    who = await actor(update, context)
    service = context.services.feedback
    try:
        items = await service.export(who)
    except AccessDenied:
        await refuse(update, context)
        return
    await answer(update)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(tr(f"fb.col.{c}")) for c in EXPORT_COLUMNS])
    for item in items:
        author = str(tr("fb.anonymous")) if item.anonymous else (item.author_name or "")
        values = (
            item.ref,
            label(tr, "feedback_kind", item.kind),
            label(tr, "feedback_status", item.status),
            ", ".join(item.group_names),
            author,
            service.local(item.created_at),
            service.local(item.due_at),
            item.body,
            item.answer or "",
        )
        writer.writerow([_cell(v) for v in values])
    chat = update.effective_chat
    assert chat is not None
    data = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    caption = str(tr("fb.export_caption", count=len(items)))
    await send_direct(
        update, context, lambda: chat.send_document(data, filename="feedback.csv", caption=caption),
        what="feedback export",
    )


def _cell(value: str) -> str:
    """Any stored character is fine in a cell (bot/text.export_safe); formulas are neutralised."""
    value = export_safe(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
