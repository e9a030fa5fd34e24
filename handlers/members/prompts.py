"""Coordinator screens that need one line of text (a guided flow, "org_prompts"): a new group's
name, a new name, a message to a member, a directory search, a coordinator to appoint, the reason
of a rejection. The pressed button is remembered; the text is checked and handled by its screen."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ConversationHandler, MessageHandler, filters

from bot.callbacks import Button, Pressed, parse_any
from bot.context import Ctx, LiaisonApp
from bot.errors import Refusal
from bot.members.callbacks import (
    COORDINATOR_ADD,
    DIRECTORY_SEARCH,
    GROUP_NEW,
    GROUP_RENAME,
    MESSAGE_MEMBER,
    REJECT,
)
from bot.members.rules import MESSAGE_MAX, NAME_MAX, TEXT_MAX, clean_text
from handlers import common, steps
from handlers.base import answer, reply, translator
from handlers.buttons import on
from handlers.flows import guided
from handlers.members import approvals, coordinators, directory, groups
from handlers.members.common import Check, checked, coordinator, head_of_tree, in_group, member_in_scope, owner, tell

FLOW = steps.Flow("org_prompts")
AWAIT_TEXT = 0
AWAIT = "org_await"  # user_data: the data of the button that asked for the text
TEXT = filters.TEXT & ~filters.COMMAND & common.COMMAND_FILTER
QUESTIONS: dict[Button, str] = {
    GROUP_NEW: "members.groups.ask_name",
    GROUP_RENAME: "members.groups.ask_name",
    MESSAGE_MEMBER: "members.dir.ask_message",
    DIRECTORY_SEARCH: "members.dir.ask_name",
    COORDINATOR_ADD: "members.coord.ask_user",
    REJECT: "members.approvals.ask_reason",
}


def check_for(context: Ctx, pressed: Pressed) -> Check:
    """Who may answer the question of this button (checked when asked and again when answered)."""
    button = pressed.button
    if button is GROUP_NEW:
        parent = pressed.num("parent")
        return head_of_tree(context) if parent == 0 else in_group(context, parent)
    if button is GROUP_RENAME:
        return in_group(context, pressed.num("id"))
    if button is MESSAGE_MEMBER:
        return member_in_scope(context, pressed.num("id"))
    if button is REJECT:
        return in_group(context, pressed.num("group"))
    if button is COORDINATOR_ADD:
        return owner(context)
    return coordinator(context)


def _asked(context: Ctx) -> Pressed | None:
    pressed = parse_any((context.user_data or {}).get(AWAIT))
    return pressed if pressed is not None and pressed.button in QUESTIONS else None


@FLOW.asks(AWAIT_TEXT)
async def ask_again(update: Update, context: Ctx, state: int = AWAIT_TEXT) -> object:
    pressed = _asked(context)
    if pressed is None:
        return ConversationHandler.END
    tr = await translator(update, context)
    await reply(update, tr(QUESTIONS[pressed.button]))
    return AWAIT_TEXT


async def prompt_entry(update: Update, context: Ctx) -> object:
    query = update.callback_query
    pressed = parse_any(query.data if query else None)
    if pressed is None or pressed.button not in QUESTIONS:
        await answer(update)
        return ConversationHandler.END
    if await checked(update, context, check_for(context, pressed)) is None:
        return ConversationHandler.END
    await answer(update)
    if context.user_data is not None and query is not None:
        context.user_data[AWAIT] = query.data
    await FLOW.enter(update, context, AWAIT_TEXT)
    return await ask_again(update, context, AWAIT_TEXT)


async def prompt_text(update: Update, context: Ctx) -> object:
    pressed = _asked(context)
    if pressed is None:
        return ConversationHandler.END
    text = update.message.text if update.message and update.message.text else ""
    try:
        await _answer(update, context, pressed, text)
    except Refusal as refusal:  # the text was not acceptable: say why and wait for another
        tr = await translator(update, context)
        await reply(update, tr(refusal.key, **refusal.values))
        return AWAIT_TEXT
    if context.user_data is not None:
        context.user_data.pop(AWAIT, None)
    return ConversationHandler.END


async def _answer(update: Update, context: Ctx, pressed: Pressed, text: str) -> None:
    """Handle the text for the screen that asked it (Refusal: ask again)."""
    button = pressed.button
    services = context.services
    tr = await translator(update, context)
    if button is DIRECTORY_SEARCH:
        await directory.show_directory(update, context, 0, {"name": clean_text(text, NAME_MAX)})
        return
    if button is COORDINATOR_ADD:
        forwarded = update.message.forward_origin if update.message else None
        sender = getattr(forwarded, "sender_user", None)
        typed = text.strip()
        uid = sender.id if sender is not None else (int(typed) if typed.isascii() and typed.isdigit() else None)
        if await checked(update, context, owner(context)) is None:
            return
        if uid is None or uid > 10**15:
            await reply(update, tr("members.coord.bad_user"))
            return
        await coordinators.choose_group(update, context, uid)
        return
    limit = {MESSAGE_MEMBER: MESSAGE_MAX, REJECT: TEXT_MAX}.get(button, NAME_MAX)
    value = clean_text(text, limit)
    who = await checked(update, context, check_for(context, pressed))
    if who is None:
        return
    if button is GROUP_NEW:
        parent = pressed.num("parent")
        if parent == 0:
            group = await services.org.create_group(who, value, "head", None)
            await reply(update, tr("members.groups.created", name=group.name))
        else:
            await groups.ask_kind(update, context, parent, value)
    elif button is GROUP_RENAME:
        await services.org.rename_group(who, pressed.num("id"), value)
        await reply(update, tr("members.groups.renamed", name=value))
    elif button is MESSAGE_MEMBER:
        member = await services.members.get(pressed.num("id"))
        if member is None:
            return
        await services.members.record_message(who, member)
        await tell(context, member.user_id, "members.dir.message_received", text=value)
        await reply(update, tr("members.dir.message_sent"))
    elif button is REJECT:
        await approvals.decide(update, context, pressed.num("member"), pressed.num("group"), False, value)


def register(app: LiaisonApp) -> None:
    app.add_handler(
        guided(
            app,
            FLOW,
            title_key="flow.org_prompt",
            entry_points=[on(button, prompt_entry) for button in QUESTIONS],
            states={AWAIT_TEXT: [MessageHandler(TEXT | filters.FORWARDED, prompt_text)]},
        )
    )
