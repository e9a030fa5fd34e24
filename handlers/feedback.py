"""Feedback: members submit (/feedback) and follow (/myfeedback); coordinators handle (/queue, /digest).

Callback data: ``fb:<action>:<id>...`` for items, ``fbq:<status>:<kind>:<group>:<page>`` for the
queue filters, ``fbd:<p|s>:<group>`` for the digest. Every press re-checks role and scope
in the service (data can be forged).
"""

from __future__ import annotations

import csv
import io
import logging
from functools import partial
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.context import Ctx, LiaisonApp
from bot.feedback import KINDS, MAX_ATTACHMENTS, MAX_TEXT, STATUSES, Item, LimitReached, Note, NotFound, TextProblem
from bot.i18n import Markup, Translator, escape
from bot.roles import AccessDenied, Role
from handlers import common
from handlers import keyboards as kb
from handlers.base import actor, answer, edit_or_reply, refuse, reply, send_direct, translator, with_retry_after
from handlers.menu import CommandMenu

log = logging.getLogger(__name__)

KIND, TEXT, ATTACH, ANON, CONFIRM = range(5)
WRITE = 10
NONE = "-"
PRIVATE = filters.ChatType.PRIVATE & common.COMMAND_FILTER


def _data(update: Update) -> str | None:
    return update.callback_query.data if update.callback_query else None


def _draft(context: Ctx) -> dict[str, Any]:
    assert context.user_data is not None
    draft: dict[str, Any] = context.user_data.setdefault("fb", {})
    return draft


def _short(text: str, limit: int = 60) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


# --- member: submit -------------------------------------------------------------------------------
async def submit_start(update: Update, context: Ctx) -> int:
    await answer(update)
    tr = await translator(update, context)
    who = await actor(update, context)
    if not who.is_member:
        await reply(update, tr("fb.members_only"))
        return ConversationHandler.END
    if await context.services.feedback.remaining_today(who) <= 0:
        await reply(update, tr("fb.limit", limit=context.services.settings.feedback_daily_limit))
        return ConversationHandler.END
    assert context.user_data is not None
    context.user_data["fb"] = {"files": []}
    return await _ask(update, context, tr, KIND)


async def _ask(update: Update, context: Ctx, tr: Translator, step: int) -> int:
    """Show the prompt of `step` (remembered in the draft) and return it as the new state.

    Also used to ask the current step again when a press belongs to another step: after a restart
    the conversation can be one step behind what the chat shows (the state is saved after the reply).
    """
    draft = _draft(context)
    draft["step"] = step
    if step == KIND:
        buttons = [kb.button(str(tr(f"fb.kind.{k}")), kb.cb("fb", "k", k)) for k in KINDS]
        await reply(update, tr("fb.choose_kind"), kb.inline(kb.columns(buttons)))
    elif step == TEXT:
        kind = tr("fb.kind_chosen", kind=tr(f"fb.kind.{draft.get('kind', 'other')}"))
        await edit_or_reply(update, Markup(kind + "\n\n" + tr("fb.write_text", limit=MAX_TEXT)))
    elif step == ATTACH:
        skip = kb.button(str(tr("fb.attach_skip")), kb.cb("fb", "ad"))
        await reply(update, tr("fb.attach_prompt"), kb.inline([[skip]]))
    elif step == ANON:
        buttons = [
            kb.button(str(tr("fb.anon_no")), kb.cb("fb", "an", 0)),
            kb.button(str(tr("fb.anon_yes")), kb.cb("fb", "an", 1)),
        ]
        await edit_or_reply(update, tr("fb.anon_prompt"), kb.inline([buttons]))
    else:
        text = tr(
            "fb.preview",
            kind=tr(f"fb.kind.{draft['kind']}"),
            text=draft["text"],
            files=len(draft.get("files", [])),
            anonymity=tr("fb.anon_yes" if draft.get("anon") else "fb.anon_no"),
        )
        buttons = [
            kb.button(str(tr("fb.send")), kb.cb("fb", "ok", "yes")),
            kb.button(str(tr("fb.discard")), kb.cb("fb", "ok", "no")),
        ]
        await edit_or_reply(update, text, kb.inline([buttons]))
    return step


async def kind_chosen(update: Update, context: Ctx) -> int:
    await answer(update)
    parts = kb.parse(_data(update), "fb", 2)
    if parts is None or parts[1] not in KINDS:
        return KIND
    _draft(context)["kind"] = parts[1]
    return await _ask(update, context, await translator(update, context), TEXT)


async def text_received(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    message = update.effective_message
    try:
        text = context.services.feedback.clean_text(message.text if message else None)
    except TextProblem as problem:
        await reply(update, tr(f"fb.text_{problem.reason}", limit=MAX_TEXT))
        return TEXT
    _draft(context)["text"] = text
    return await _ask(update, context, tr, ATTACH)


async def text_needed(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    await reply(update, tr("fb.text_needed"))
    return TEXT


async def attachment_received(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    message = update.effective_message
    draft = _draft(context)
    files: list[list[str]] = draft.setdefault("files", [])
    if message is None:
        return ATTACH
    if len(files) >= MAX_ATTACHMENTS:
        await reply(update, tr("fb.attach_full", limit=MAX_ATTACHMENTS))
        return ATTACH
    if message.photo:
        files.append(["photo", message.photo[-1].file_id])
    elif message.document:
        files.append(["document", message.document.file_id])
    done = kb.inline([[kb.button(str(tr("fb.attach_done")), kb.cb("fb", "ad"))]])
    await reply(update, tr("fb.attach_added", count=len(files)), done)
    return ATTACH


async def attachment_refused(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    await reply(update, tr("fb.attach_unsupported"))
    return ATTACH


async def attachments_done(update: Update, context: Ctx) -> int:
    await answer(update)
    return await _ask(update, context, await translator(update, context), ANON)


async def anon_chosen(update: Update, context: Ctx) -> int:
    await answer(update)
    parts = kb.parse(_data(update), "fb", 2)
    if parts is None or parts[1] not in ("0", "1"):
        return ANON
    draft = _draft(context)
    draft["anon"] = parts[1] == "1"
    tr = await translator(update, context)
    if "kind" not in draft or "text" not in draft:
        await edit_or_reply(update, tr("fb.draft_lost"))
        return ConversationHandler.END
    return await _ask(update, context, tr, CONFIRM)


async def confirmed(update: Update, context: Ctx) -> int:
    await answer(update)
    tr = await translator(update, context)
    parts = kb.parse(_data(update), "fb", 2)
    draft = _draft(context)
    assert context.user_data is not None
    if parts is None or parts[1] != "yes":
        context.user_data.pop("fb", None)
        await edit_or_reply(update, tr("fb.discarded"))
        return ConversationHandler.END
    if "kind" not in draft or "text" not in draft:
        await edit_or_reply(update, tr("fb.draft_lost"))
        return ConversationHandler.END
    who = await actor(update, context)
    try:
        created = await context.services.feedback.submit(
            who,
            draft["kind"],
            draft["text"],
            bool(draft.get("anon")),
            [(str(t), str(f)) for t, f in draft.get("files", [])],
        )
    except LimitReached:
        await edit_or_reply(update, tr("fb.limit", limit=context.services.settings.feedback_daily_limit))
        return ConversationHandler.END
    except AccessDenied:
        await edit_or_reply(update, tr("fb.members_only"))
        return ConversationHandler.END
    context.user_data.pop("fb", None)
    await edit_or_reply(update, tr("fb.submitted", ref=created.ref))
    return ConversationHandler.END


async def command_mid_flow(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    await reply(update, tr("fb.finish_first"))


async def button_mid_flow(update: Update, context: Ctx) -> int | None:
    """A button of another step of this flow: say so, and ask the current step again."""
    tr = await translator(update, context)
    await answer(update, str(tr("fb.finish_first")))
    draft = _draft(context)
    step = draft.get("step")
    if not isinstance(step, int) or (step == CONFIRM and not {"kind", "text"} <= draft.keys()):
        return None
    return await _ask(update, context, tr, step)


# --- member: my feedback, helpful, reopen ------------------------------------------------------------
async def my_feedback(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    who = await actor(update, context)
    if not who.is_member:
        await reply(update, tr("fb.members_only"))
        return
    items = await context.services.feedback.mine(who)
    if not items:
        await reply(update, tr("fb.mine_empty"))
        return
    blocks = [tr("fb.mine_title")]
    for item in items[:10]:
        block = tr(
            "fb.mine_item",
            ref=item.ref,
            kind=tr(f"fb.kind.{item.kind}"),
            status=tr(f"fb.status.{item.status}"),
            text=_short(item.body),
        )
        if item.answer:
            block = Markup(block + "\n" + tr("fb.mine_answer", answer=_short(item.answer, 200)))
        if sum(len(b) + 2 for b in blocks) + len(block) > 4000:
            break  # whole blocks only: never cut through HTML
        blocks.append(block)
    await reply(update, Markup("\n\n".join(blocks)))


async def helpful_pressed(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    parts = kb.parse(_data(update), "fb", 3)
    item_id = kb.parse_int(parts[1]) if parts else None
    who = await actor(update, context)
    if parts is None or item_id is None or parts[2] not in ("0", "1") or not who.is_member:
        await answer(update, str(tr("fb.not_found")))
        return
    ok = await context.services.feedback.mark_helpful(who, item_id, parts[2] == "1")
    await answer(update, str(tr("fb.thanks_rating" if ok else "fb.not_found")))


# --- coordinators: queue and item --------------------------------------------------------------------
def _queue_cb(status: str, kind: str, group: str, page: int) -> str:
    return kb.cb("fbq", status, kind, group, page)


async def queue_command(update: Update, context: Ctx) -> None:
    await show_queue(update, context, "new", NONE, NONE, 0)


async def queue_pressed(update: Update, context: Ctx) -> None:
    parts = kb.parse(_data(update), "fbq", 4)
    page = kb.parse_int(parts[3]) if parts else None
    if (
        parts is None
        or page is None
        or (parts[0] != NONE and parts[0] not in STATUSES)
        or (parts[1] != NONE and parts[1] not in KINDS)
        or (parts[2] != NONE and kb.parse_int(parts[2]) is None)
    ):
        await answer(update)
        return
    await show_queue(update, context, parts[0], parts[1], parts[2], page)


async def show_queue(update: Update, context: Ctx, status: str, kind: str, group: str, page: int) -> None:
    tr = await translator(update, context)
    who = await actor(update, context)
    service = context.services.feedback
    try:
        result = await service.queue(
            who,
            None if status == NONE else status,
            None if kind == NONE else kind,
            None if group == NONE else int(group),
            page,
        )
        groups = await service.scope_groups(who)
    except AccessDenied:
        await refuse(update, context)
        return
    await answer(update)
    rows: list[list[InlineKeyboardButton]] = []
    for item_id, ref, item_kind, item_status in result.rows:
        label = f"{ref} · {tr(f'fb.kind.{item_kind}')} · {tr(f'fb.status.{item_status}')}"
        rows.append([kb.button(label, kb.cb("fb", "v", item_id))])

    def mark(text: str, on: bool) -> str:
        return f"• {text}" if on else text

    rows += kb.columns(
        [kb.button(mark(str(tr("fb.filter_all")), status == NONE), _queue_cb(NONE, kind, group, 0))]
        + [kb.button(mark(str(tr(f"fb.status.{s}")), status == s), _queue_cb(s, kind, group, 0)) for s in STATUSES],
        3,
    )
    rows += kb.columns(
        [kb.button(mark(str(tr("fb.filter_all_kinds")), kind == NONE), _queue_cb(status, NONE, group, 0))]
        + [kb.button(mark(str(tr(f"fb.kind.{k}")), kind == k), _queue_cb(status, k, group, 0)) for k in KINDS],
        3,
    )
    if groups:
        rows += kb.columns(
            [kb.button(mark(str(tr("fb.filter_all_groups")), group == NONE), _queue_cb(status, kind, NONE, 0))]
            + [kb.button(mark(name, group == str(gid)), _queue_cb(status, kind, str(gid), 0)) for gid, name in groups],
            2,
        )
    pager: list[InlineKeyboardButton] = []
    if result.page > 0:
        pager.append(kb.button(str(tr("fb.prev")), _queue_cb(status, kind, group, result.page - 1)))
    if result.pages > 1:
        pager.append(kb.button(f"{result.page + 1}/{result.pages}", kb.cb("noop")))
    if result.page + 1 < result.pages:
        pager.append(kb.button(str(tr("fb.next")), _queue_cb(status, kind, group, result.page + 1)))
    rows.append(pager)
    rows.append([kb.button(str(tr("fb.export")), kb.cb("fb", "exp"))])
    title = tr("fb.queue_title", count=result.total) if result.rows else tr("fb.queue_empty")
    await edit_or_reply(update, title, kb.inline(rows))


def render_item(tr: Translator, item: Item, notes: list[Note], local: Any) -> Markup:
    lines: list[str] = [
        tr("fb.view_head", ref=item.ref, kind=tr(f"fb.kind.{item.kind}"), status=tr(f"fb.status.{item.status}")),
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
    return Markup(text if len(text) <= 4000 else text[:3990] + "…")


def item_keyboard(tr: Translator, item: Item) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if item.status == "assigned":
        rows.append([kb.button(str(tr("fb.start_work")), kb.cb("fb", "prog", item.id))])
    if item.status in ("new", "assigned", "in_progress"):
        rows.append(
            [
                kb.button(str(tr("fb.take")), kb.cb("fb", "take", item.id)),
                kb.button(str(tr("fb.assign")), kb.cb("fb", "asg", item.id)),
            ]
        )
        rows.append(
            [
                kb.button(str(tr("fb.note")), kb.cb("fb", "note", item.id)),
                kb.button(str(tr("fb.answer")), kb.cb("fb", "ans", item.id)),
            ]
        )
    else:
        rows.append([kb.button(str(tr("fb.note")), kb.cb("fb", "note", item.id))])
    if item.status != "closed":
        rows.append([kb.button(str(tr("fb.close")), kb.cb("fb", "close", item.id))])
    if item.attachments:
        rows.append([kb.button(str(tr("fb.files")), kb.cb("fb", "files", item.id))])
    rows.append([kb.button(str(tr("fb.back")), _queue_cb(NONE, NONE, NONE, 0))])
    return kb.inline(rows)


async def _item_id(update: Update, action: str, arity: int = 2) -> list[str] | None:
    parts = kb.parse(_data(update), "fb", arity)
    if parts is None or parts[0] != action or kb.parse_int(parts[1]) is None:
        return None
    return parts


async def show_item(update: Update, context: Ctx, item_id: int, notice: str | None = None) -> None:
    tr = await translator(update, context)
    who = await actor(update, context)
    service = context.services.feedback
    try:
        item, notes = await service.view(who, item_id)
    except (AccessDenied, NotFound):
        await answer(update, str(tr("fb.not_found")), alert=True)
        return
    await answer(update, notice)
    await edit_or_reply(update, render_item(tr, item, notes, service.local), item_keyboard(tr, item))


async def item_action(update: Update, context: Ctx) -> None:
    """View / take / close / attachments / assign list / assign to."""
    tr = await translator(update, context)
    parts = kb.parse(_data(update), "fb")
    if not parts or len(parts) < 2 or kb.parse_int(parts[1]) is None:
        await answer(update)
        return
    action, item_id = parts[0], int(parts[1])
    who = await actor(update, context)
    service = context.services.feedback
    try:
        if action == "v":
            await show_item(update, context, item_id)
        elif action == "take" and len(parts) == 2:
            ref = await service.take(who, item_id)
            await show_item(update, context, item_id, str(tr("fb.taken", ref=ref)))
        elif action == "prog" and len(parts) == 2:
            ok = await service.start_work(who, item_id)
            await show_item(update, context, item_id, str(tr("fb.work_started" if ok else "fb.not_found")))
        elif action == "close" and len(parts) == 2:
            ok = await service.close(who, item_id)
            await show_item(update, context, item_id, str(tr("fb.closed" if ok else "fb.not_found")))
        elif action == "files" and len(parts) == 2:
            item, _ = await service.view(who, item_id)
            await answer(update)
            chat = update.effective_chat
            assert chat is not None
            for kind, file_id in item.attachments:
                send = chat.send_photo if kind == "photo" else chat.send_document
                if await send_direct(update, context, partial(send, file_id, caption=item.ref),
                                     what="feedback attachment") is None:
                    break
        elif action == "asg" and len(parts) == 2:
            people = await service.assignable(who, item_id)
            await answer(update)
            buttons = [kb.button(name, kb.cb("fb", "asg", item_id, uid)) for uid, name in people]
            buttons.append(kb.button(str(tr("fb.back")), kb.cb("fb", "v", item_id)))
            await edit_or_reply(update, tr("fb.assign_choose"), kb.inline(kb.columns(buttons)))
        elif action == "asg" and len(parts) == 3 and kb.parse_int(parts[2]) is not None:
            ref = await service.assign(who, item_id, int(parts[2]))
            await show_item(update, context, item_id, str(tr("fb.assigned", ref=ref)))
        else:
            await answer(update)
    except (AccessDenied, NotFound):
        await answer(update, str(tr("fb.not_found")), alert=True)


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
    writer.writerow(
        [
            str(tr(f"fb.col.{c}"))
            for c in ("ref", "kind", "status", "groups", "author", "created", "due", "text", "answer")
        ]
    )
    for item in items:
        author = str(tr("fb.anonymous")) if item.anonymous else (item.author_name or "")
        writer.writerow(
            [
                _cell(v)
                for v in (
                    item.ref,
                    str(tr(f"fb.kind.{item.kind}")),
                    str(tr(f"fb.status.{item.status}")),
                    ", ".join(item.group_names),
                    author,
                    service.local(item.created_at),
                    service.local(item.due_at),
                    item.body,
                    item.answer or "",
                )
            ]
        )
    chat = update.effective_chat
    assert chat is not None
    data = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    caption = str(tr("fb.export_caption", count=len(items)))
    await send_direct(update, context, lambda: chat.send_document(data, filename="feedback.csv", caption=caption),
                      what="feedback export")


def _cell(value: str) -> str:
    """Neutralise spreadsheet formulas in exported cells."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


# --- text-writing conversation: notes, answers (coordinators), reopen comments (members) ----------------
async def write_start(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    parts = kb.parse(_data(update), "fb", 2)
    if parts is None or parts[0] not in ("note", "ans", "re") or kb.parse_int(parts[1]) is None:
        await answer(update)
        return ConversationHandler.END
    mode, item_id = parts[0], int(parts[1])
    who = await actor(update, context)
    if mode == "re":
        if not who.is_member:
            await answer(update, str(tr("fb.not_found")), alert=True)
            return ConversationHandler.END
    else:
        try:
            await context.services.feedback.view(who, item_id)
        except (AccessDenied, NotFound):
            await answer(update, str(tr("fb.not_found")), alert=True)
            return ConversationHandler.END
    await answer(update)
    assert context.user_data is not None
    context.user_data["fbw"] = {"mode": mode, "id": item_id}
    await reply(update, tr(f"fb.write_{mode}", limit=MAX_TEXT))
    return WRITE


async def write_text(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    assert context.user_data is not None
    state = context.user_data.get("fbw") or {}
    message = update.effective_message
    text = message.text if message else None
    service = context.services.feedback
    try:
        service.clean_text(text)
    except TextProblem as problem:
        await reply(update, tr(f"fb.text_{problem.reason}", limit=MAX_TEXT))
        return WRITE
    assert text is not None
    who = await actor(update, context)
    mode, item_id = state.get("mode"), int(state.get("id", 0))
    context.user_data.pop("fbw", None)
    try:
        if mode == "note":
            await service.add_note(who, item_id, text)
            await reply(update, tr("fb.note_saved"))
        elif mode == "ans":
            item, author_chat = await service.answer(who, item_id, text)
            delivered = author_chat is not None and await deliver_answer(context, author_chat, item)
            await reply(update, tr("fb.answer_sent" if delivered else "fb.answer_saved_undelivered", ref=item.ref))
        elif mode == "re":
            ref = await service.reopen(who, item_id, text)
            await reply(update, tr("fb.reopened", ref=ref) if ref else tr("fb.reopen_refused"))
    except (AccessDenied, NotFound):
        await reply(update, tr("fb.not_found"))
    return ConversationHandler.END


async def write_needs_text(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    await reply(update, tr("fb.text_needed"))
    return WRITE


async def deliver_answer(context: Ctx, chat_id: int, item: Item) -> bool:
    services = context.services
    tr = services.catalog.for_lang(await services.users.language(chat_id, None))
    buttons = [
        [
            kb.button(str(tr("fb.helpful_yes")), kb.cb("fb", "h", item.id, 1)),
            kb.button(str(tr("fb.helpful_no")), kb.cb("fb", "h", item.id, 0)),
        ],
        [kb.button(str(tr("fb.reopen")), kb.cb("fb", "re", item.id))],
    ]
    text = tr("fb.answer_to_member", ref=item.ref, text=_short(item.body, 200), answer=item.answer or "")
    try:
        await with_retry_after(lambda: context.bot.send_message(chat_id, text[:4096], parse_mode=ParseMode.HTML,
                                                                reply_markup=kb.inline(buttons)))
    except (Forbidden, BadRequest, RetryAfter) as exc:
        log.info("answer to feedback %s not delivered: %s", item.ref, exc.message)
        return False
    return True


# --- digest ------------------------------------------------------------------------------------------
async def digest_command(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    who = await actor(update, context)
    try:
        groups = await context.services.feedback.scope_groups(who)
    except AccessDenied:
        await refuse(update, context)
        return
    buttons = [kb.button(str(tr("fb.digest_whole_scope")), kb.cb("fbd", "p", NONE))]
    buttons += [kb.button(name, kb.cb("fbd", "p", gid)) for gid, name in groups]
    await reply(update, tr("fb.digest_choose"), kb.inline(kb.columns(buttons)))


def _digest_text(tr: Translator, entries: list[Any]) -> Markup:
    parts = [tr("fb.digest_title")]
    parts += [tr("fb.digest_entry", text=_short(e.body, 120), answer=_short(e.answer, 300)) for e in entries]
    text = "\n\n".join(parts)
    return Markup(text if len(text) <= 4000 else text[:3990] + "…")


async def digest_pressed(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    parts = kb.parse(_data(update), "fbd", 2)
    if parts is None or parts[0] not in ("p", "s") or (parts[1] != NONE and kb.parse_int(parts[1]) is None):
        await answer(update)
        return
    group_id = None if parts[1] == NONE else int(parts[1])
    who = await actor(update, context)
    service = context.services.feedback
    try:
        entries = await service.digest_preview(who, group_id)
        if not entries:
            await answer(update)
            await edit_or_reply(update, tr("fb.digest_nothing"))
            return
        if parts[0] == "p":
            await answer(update)
            preview = tr("fb.digest_preview", body=_digest_text(tr, entries))
            send = kb.button(str(tr("fb.digest_send")), kb.cb("fbd", "s", parts[1]))
            await edit_or_reply(update, preview, kb.inline([[send]]))
            return
        catalog = context.services.catalog
        texts = {lang: str(_digest_text(catalog.for_lang(lang), entries)) for lang in ("zh-Hans", "en")}
        queued = await service.send_digest(who, group_id, texts, len(entries))
    except AccessDenied:
        await refuse(update, context)
        return
    await answer(update)
    await edit_or_reply(update, tr("fb.digest_queued", count=queued))


# --- notifications from the service (reminders, escalations, reassignment) ------------------------------
def make_notifier(app: LiaisonApp) -> Any:
    async def notify(user_id: int, key: str, values: dict[str, Any]) -> bool:
        services = app.bot_data.services
        assert services is not None
        tr = services.catalog.for_lang(await services.users.language(user_id, None))
        try:
            text = tr(key, **values)
            await with_retry_after(lambda: app.bot.send_message(user_id, text, parse_mode=ParseMode.HTML))
        except (Forbidden, BadRequest, RetryAfter) as exc:
            log.info("feedback notice to %s not delivered: %s", user_id, exc.message)
            return False
        return True

    return notify


async def run_due_job(context: Ctx) -> None:
    await context.services.feedback.run_due()


async def on_startup(app: LiaisonApp) -> None:
    """Attach the notifier, fire what fell due while down, and arm the minute alarm."""
    services = app.bot_data.services
    assert services is not None
    services.feedback.notifier = make_notifier(app)
    await services.feedback.run_due()
    if app.job_queue is not None:
        app.job_queue.run_repeating(run_due_job, interval=60, first=60, name="feedback_due")


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    submit, write = _conversations()
    app.add_handler(submit)
    app.add_handler(write)
    _register_plain(app, menu)


def _conversations() -> tuple[ConversationHandler[Ctx], ConversationHandler[Ctx]]:
    member_only_text = filters.TEXT & ~filters.COMMAND
    fallbacks: list[BaseHandler[Update, Ctx, Any]] = [
        common.cancel_fallback(),
        MessageHandler(filters.COMMAND & common.COMMAND_FILTER, command_mid_flow),
    ]
    submit = ConversationHandler(
        entry_points=[
            CommandHandler("feedback", submit_start, filters=PRIVATE),
            CallbackQueryHandler(submit_start, pattern=r"^fb:new$"),
        ],
        states={
            KIND: [CallbackQueryHandler(kind_chosen, pattern=r"^fb:k:")],
            TEXT: [
                MessageHandler(member_only_text, text_received),
                MessageHandler(~filters.COMMAND, text_needed),
            ],
            ATTACH: [
                MessageHandler(filters.PHOTO | filters.Document.ALL, attachment_received),
                CallbackQueryHandler(attachments_done, pattern=r"^fb:ad$"),
                MessageHandler(~filters.COMMAND, attachment_refused),
            ],
            ANON: [CallbackQueryHandler(anon_chosen, pattern=r"^fb:an:")],
            CONFIRM: [CallbackQueryHandler(confirmed, pattern=r"^fb:ok:")],
        },
        fallbacks=[
            *fallbacks,
            CallbackQueryHandler(button_mid_flow, pattern=r"^fb:(k|ad|an|ok):"),
        ],
        name="feedback_submit",
        persistent=True,
        per_message=False,
    )
    write = ConversationHandler(
        entry_points=[CallbackQueryHandler(write_start, pattern=r"^fb:(note|ans|re):\d+$")],
        states={
            WRITE: [
                MessageHandler(filters.TEXT & ~filters.COMMAND, write_text),
                MessageHandler(~filters.COMMAND, write_needs_text),
            ]
        },
        fallbacks=fallbacks,
        name="feedback_write",
        persistent=True,
        per_message=False,
    )
    return submit, write


def _register_plain(app: LiaisonApp, menu: CommandMenu) -> None:
    app.add_handler(CommandHandler("myfeedback", my_feedback, filters=PRIVATE))
    app.add_handler(CommandHandler("queue", queue_command, filters=PRIVATE))
    app.add_handler(CommandHandler("digest", digest_command, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(helpful_pressed, pattern=r"^fb:h:"))
    app.add_handler(CallbackQueryHandler(export_pressed, pattern=r"^fb:exp$"))
    app.add_handler(CallbackQueryHandler(queue_pressed, pattern=r"^fbq:"))
    app.add_handler(CallbackQueryHandler(digest_pressed, pattern=r"^fbd:"))
    app.add_handler(CallbackQueryHandler(item_action, pattern=r"^fb:(v|take|prog|close|files|asg):"))
    menu.add("feedback", "cmd.feedback", Role.MEMBER)
    menu.add("myfeedback", "cmd.myfeedback", Role.MEMBER)
    menu.add("queue", "cmd.queue", Role.COORDINATOR)
    menu.add("digest", "cmd.digest", Role.COORDINATOR)
    menu.add_home("fb.home_button", "fb:new", Role.MEMBER)


__all__ = ["Message", "on_startup", "register"]
