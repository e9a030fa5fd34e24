"""/feedback: a member sends a suggestion, need or complaint (kind, text, attachments, anonymity).

A guided flow (handlers/flows.py): any command ends it; after a restart one step behind, the step
journal asks the current step again (`ask_again`).
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters

from bot.context import Ctx, LiaisonApp
from bot.errors import Refusal
from bot.feedback import KINDS, MAX_ATTACHMENTS, MAX_TEXT, clean_text
from bot.feedback import callbacks as cb
from bot.i18n import Markup, Translator
from bot.labels import label
from bot.roles import AccessDenied
from handlers import common, steps
from handlers import keyboards as kb
from handlers.base import actor, answer, edit_or_reply, reply, translator
from handlers.buttons import on, press
from handlers.flows import guided

KIND, TEXT, ATTACH, ANON, CONFIRM = range(5)
DRAFT = "fb"  # user_data key of the draft
FLOW = steps.Flow("feedback_submit")


def _draft(context: Ctx) -> dict[str, Any]:
    assert context.user_data is not None
    draft: dict[str, Any] = context.user_data.setdefault(DRAFT, {})
    return draft


def kind_label(tr: Translator, kind: str) -> str:
    return label(tr, "feedback_kind", kind)


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
    context.user_data[DRAFT] = {"files": []}
    return await _ask(update, context, tr, KIND)


async def _ask(update: Update, context: Ctx, tr: Translator, step: int) -> int:
    """Record `step` in the journal (durably), show its prompt and return it as the new state."""
    draft = _draft(context)
    await FLOW.enter(update, context, step)
    if step == KIND:
        buttons = [kb.button(kind_label(tr, k), cb.KIND.data(kind=k)) for k in KINDS]
        await reply(update, tr("fb.choose_kind"), kb.inline(kb.columns(buttons)))
    elif step == TEXT:
        kind = tr("fb.kind_chosen", kind=kind_label(tr, draft.get("kind", "other")))
        await edit_or_reply(update, Markup(kind + "\n\n" + tr("fb.write_text", limit=MAX_TEXT)))
    elif step == ATTACH:
        skip = kb.button(str(tr("fb.attach_skip")), cb.ATTACH_DONE.data())
        await reply(update, tr("fb.attach_prompt"), kb.inline([[skip]]))
    elif step == ANON:
        buttons = [
            kb.button(str(tr("fb.anon_no")), cb.ANONYMOUS.data(anonymous="0")),
            kb.button(str(tr("fb.anon_yes")), cb.ANONYMOUS.data(anonymous="1")),
        ]
        await edit_or_reply(update, tr("fb.anon_prompt"), kb.inline([buttons]))
    else:
        text = tr(
            "fb.preview",
            kind=kind_label(tr, draft["kind"]),
            text=draft["text"],
            files=len(draft.get("files", [])),
            anonymity=tr("fb.anon_yes" if draft.get("anon") else "fb.anon_no"),
        )
        buttons = [
            kb.button(str(tr("fb.send")), cb.CONFIRM.data(choice="yes")),
            kb.button(str(tr("fb.discard")), cb.CONFIRM.data(choice="no")),
        ]
        await edit_or_reply(update, text, kb.inline([buttons]))
    return step


@FLOW.asks(KIND, TEXT, ATTACH, ANON, CONFIRM)
async def ask_again(update: Update, context: Ctx, state: int) -> int:
    """The current step's question again, after an interrupted one (handlers/steps.py)."""
    tr = await translator(update, context)
    draft = _draft(context)
    needed = {TEXT: {"kind"}, ATTACH: {"kind", "text"}, ANON: {"kind", "text"}, CONFIRM: {"kind", "text"}}
    if not needed.get(state, set()) <= draft.keys():
        await reply(update, tr("fb.draft_lost"))
        return ConversationHandler.END
    return await _ask(update, context, tr, state)


async def kind_chosen(update: Update, context: Ctx) -> int:
    await answer(update)
    pressed = press(update, cb.KIND)
    if pressed is None:
        return KIND
    _draft(context)["kind"] = pressed.text("kind")
    return await _ask(update, context, await translator(update, context), TEXT)


async def text_received(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    message = update.effective_message
    try:
        text = clean_text(message.text if message else None)
    except Refusal as refusal:
        await reply(update, tr(refusal.key, **refusal.values))
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
    done = kb.inline([[kb.button(str(tr("fb.attach_done")), cb.ATTACH_DONE.data())]])
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
    pressed = press(update, cb.ANONYMOUS)
    if pressed is None:
        return ANON
    draft = _draft(context)
    draft["anon"] = pressed.text("anonymous") == "1"
    tr = await translator(update, context)
    if "kind" not in draft or "text" not in draft:
        await edit_or_reply(update, tr("fb.draft_lost"))
        return ConversationHandler.END
    return await _ask(update, context, tr, CONFIRM)


async def confirmed(update: Update, context: Ctx) -> int:
    await answer(update)
    tr = await translator(update, context)
    pressed = press(update, cb.CONFIRM)
    draft = _draft(context)
    assert context.user_data is not None
    if pressed is None or pressed.text("choice") != "yes":
        context.user_data.pop(DRAFT, None)
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
    except Refusal as refusal:
        await edit_or_reply(update, tr(refusal.key, **refusal.values))
        return ConversationHandler.END
    except AccessDenied:
        await edit_or_reply(update, tr("fb.members_only"))
        return ConversationHandler.END
    context.user_data.pop(DRAFT, None)
    await edit_or_reply(update, tr("fb.submitted", ref=created.ref))
    return ConversationHandler.END


async def drop_draft(update: Update, context: Ctx) -> None:
    """The flow was ended by another command: its draft goes too."""
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)


def register(app: LiaisonApp) -> None:
    app.add_handler(
        guided(
            app,
            FLOW,
            title_key="flow.feedback",
            on_abandon=drop_draft,
            entry_points=[
                CommandHandler("feedback", submit_start, filters=common.COMMAND_FILTER),
                on(cb.NEW, submit_start),
            ],
            states={
                KIND: [on(cb.KIND, kind_chosen)],
                TEXT: [
                    MessageHandler(filters.TEXT & ~filters.COMMAND, text_received),
                    MessageHandler(~filters.COMMAND, text_needed),
                ],
                ATTACH: [
                    MessageHandler(filters.PHOTO | filters.Document.ALL, attachment_received),
                    on(cb.ATTACH_DONE, attachments_done),
                    MessageHandler(~filters.COMMAND, attachment_refused),
                ],
                ANON: [on(cb.ANONYMOUS, anon_chosen)],
                CONFIRM: [on(cb.CONFIRM, confirmed)],
            },
        )
    )
