"""Writing a text about an item: a note or the answer (coordinators), a reopen comment (members).

A guided flow started by the item's Note / Answer buttons or the Reopen button under an answer.
The formal answer is shown first as the member will get it, with 发送 / 修改 (typing again
replaces it); sent, it goes to its author in the author's language (their /language choice, else
the Telegram language last seen), with Helpful / Reopen buttons.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import ConversationHandler, MessageHandler, filters

from bot.context import Ctx, LiaisonApp
from bot.errors import Refusal
from bot.feedback import MAX_TEXT, Item, clean_text, short
from bot.feedback import callbacks as cb
from bot.roles import AccessDenied
from bot.text import MESSAGE_LIMIT, truncate_html
from handlers import keyboards as kb
from handlers.base import actor, answer, reply, translator, with_retry_after
from handlers.buttons import on
from handlers.flows import guided

log = logging.getLogger(__name__)

WRITE = 10
REVIEW = 11  # the answer's preview, before it is sent
STATE = "fbw"  # user_data key: {"mode": note|ans|re, "id": item id, "text": the answer under review}
MODES = {cb.NOTE: "note", cb.ANSWER: "ans", cb.REOPEN: "re"}


async def write_start(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    data = update.callback_query.data if update.callback_query else None
    found = [(mode, pressed) for button, mode in MODES.items() if (pressed := button.parse(data))]
    if not found:
        await answer(update)
        return ConversationHandler.END
    mode, pressed = found[0]
    item_id = pressed.num("id")
    who = await actor(update, context)
    if mode == "re":
        if not who.is_member:
            await answer(update, str(tr("fb.not_found")), alert=True)
            return ConversationHandler.END
    else:
        try:
            await context.services.feedback.view(who, item_id)
        except (AccessDenied, Refusal):
            await answer(update, str(tr("fb.not_found")), alert=True)
            return ConversationHandler.END
    await answer(update)
    assert context.user_data is not None
    context.user_data[STATE] = {"mode": mode, "id": item_id}
    await reply(update, tr(f"fb.write_{mode}", limit=MAX_TEXT))
    return WRITE


async def write_text(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    assert context.user_data is not None
    state = context.user_data.get(STATE) or {}
    message = update.effective_message
    text = message.text if message else None
    service = context.services.feedback
    try:
        clean_text(text)
    except Refusal as refusal:
        await reply(update, tr(refusal.key, **refusal.values))
        return WRITE
    assert text is not None
    who = await actor(update, context)
    mode, item_id = state.get("mode"), int(state.get("id", 0))
    if mode == "ans":
        try:
            item, _ = await service.view(who, item_id)
        except (AccessDenied, Refusal):
            context.user_data.pop(STATE, None)
            await reply(update, tr("fb.not_found"))
            return ConversationHandler.END
        state["text"] = text
        context.user_data[STATE] = state
        preview = tr("fb.answer_to_member", ref=item.ref, text=short(item.body, 200), answer=text)
        buttons = [[kb.button(tr("fb.answer_send"), cb.ANSWER_SEND.data()),
                    kb.button(tr("fb.answer_edit"), cb.ANSWER_EDIT.data())]]
        await reply(update, truncate_html(tr.join([tr("fb.answer_preview"), preview], "\n\n"), MESSAGE_LIMIT),
                    kb.inline(buttons))
        return REVIEW
    context.user_data.pop(STATE, None)
    try:
        if mode == "note":
            await service.add_note(who, item_id, text)
            await reply(update, tr("fb.note_saved"))
        elif mode == "re":
            ref = await service.reopen(who, item_id, text)
            await reply(update, tr("fb.reopened", ref=ref))
    except Refusal as refusal:
        await reply(update, tr(refusal.key, **refusal.values))
    except AccessDenied:
        await reply(update, tr("fb.not_found"))
    return ConversationHandler.END


async def _close_preview(update: Update) -> None:
    """The preview's buttons go once one is pressed (a double tap sends once: the flow has ended)."""
    query = update.callback_query
    message = query.message if query is not None else None
    if isinstance(message, Message) and message.reply_markup is not None:
        try:
            await with_retry_after(lambda: message.edit_reply_markup(reply_markup=None))
        except BadRequest as exc:
            log.debug("answer preview not closed: %s", exc.message)


async def send_answer(update: Update, context: Ctx) -> int:
    """发送 under the answer's preview: the answer is recorded and goes to the member."""
    await answer(update)
    tr = await translator(update, context)
    assert context.user_data is not None
    state = context.user_data.pop(STATE, None) or {}
    text, item_id = state.get("text"), int(state.get("id", 0))
    await _close_preview(update)
    if state.get("mode") != "ans" or not isinstance(text, str):
        return ConversationHandler.END
    who = await actor(update, context)
    try:
        item, author_chat = await context.services.feedback.answer(who, item_id, text)
    except Refusal as refusal:
        await reply(update, tr(refusal.key, **refusal.values))
        return ConversationHandler.END
    except AccessDenied:
        await reply(update, tr("fb.not_found"))
        return ConversationHandler.END
    delivered = author_chat is not None and await deliver_answer(context, author_chat, item)
    # anonymous: whether it reached the author (blocked, erased) would say something about them
    outcome = "fb.answer_saved_anonymous" if item.anonymous else (
        "fb.answer_sent" if delivered else "fb.answer_saved_undelivered"
    )
    await reply(update, tr(outcome, ref=item.ref))
    return ConversationHandler.END


async def edit_answer(update: Update, context: Ctx) -> int:
    """修改 under the answer's preview: type the answer again."""
    await answer(update)
    tr = await translator(update, context)
    await _close_preview(update)
    await reply(update, tr("fb.write_ans", limit=MAX_TEXT))
    return WRITE


async def write_needs_text(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    await reply(update, tr("fb.text_needed"))
    return WRITE


async def deliver_answer(context: Ctx, chat_id: int, item: Item) -> bool:
    """Send the answer to its author, in the author's language; whether Telegram took it."""
    services = context.services
    tr = services.catalog.for_lang(await services.users.language(chat_id))
    buttons = [
        [
            kb.button(str(tr("fb.helpful_yes")), cb.HELPFUL.data(id=item.id, helpful="1")),
            kb.button(str(tr("fb.helpful_no")), cb.HELPFUL.data(id=item.id, helpful="0")),
        ],
        [kb.button(str(tr("fb.reopen")), cb.REOPEN.data(id=item.id))],
    ]
    text = tr("fb.answer_to_member", ref=item.ref, text=short(item.body, 200), answer=item.answer or "")
    try:
        await with_retry_after(
            lambda: context.bot.send_message(
                chat_id, truncate_html(text, MESSAGE_LIMIT), parse_mode=ParseMode.HTML, reply_markup=kb.inline(buttons)
            )
        )
    except (Forbidden, BadRequest, RetryAfter) as exc:
        log.info("answer to feedback %s not delivered: %s", item.ref, exc.message)
        return False
    return True


def register(app: LiaisonApp) -> None:
    app.add_handler(
        guided(
            app,
            "feedback_write",
            title_key="flow.feedback_write",
            entry_points=[on(button, write_start) for button in MODES],
            states={
                WRITE: [
                    MessageHandler(filters.TEXT & ~filters.COMMAND, write_text),
                    MessageHandler(~filters.COMMAND, write_needs_text),
                ],
                REVIEW: [
                    on(cb.ANSWER_SEND, send_answer),
                    on(cb.ANSWER_EDIT, edit_answer),
                    MessageHandler(filters.TEXT & ~filters.COMMAND, write_text),  # typed again: a new preview
                    MessageHandler(~filters.COMMAND, write_needs_text),
                ],
            },
        )
    )
