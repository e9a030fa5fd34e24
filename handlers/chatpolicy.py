"""Chat-type policy in one place: what the bot does with commands outside the private chat.

The bot sits in members' group chats to post notices there; nothing personal or administrative
is ever posted into a group. A command sent in a group (or channel) is answered with ONE short
line and a button that opens the private chat, unless the command is declared for groups in the
menu (`CommandMenu.add(..., in_groups=True)`). Other messages in groups are left alone (the
catch-alls answer private chats only). Runs in group -2, before flows and features.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.context import Ctx, LiaisonApp
from handlers import keyboards as kb
from handlers.base import reply, translator
from handlers.flows import command_of

POLICY_GROUP = -2


def addressed_to_us(update: Update, username: str | None) -> bool:
    """``/cmd`` or ``/cmd@thisbot`` (a command for another bot in the same group is not ours)."""
    message = update.message
    if message is None or not message.text:
        return False
    head = message.text.split(maxsplit=1)[0]
    if "@" not in head:
        return True
    return username is not None and head.split("@", 1)[1].lower() == username.lower()


async def enforce(update: Update, context: Ctx) -> None:
    chat = update.effective_chat
    if chat is None or chat.type == chat.PRIVATE:
        return
    command = command_of(update)
    if command is None:
        return
    if not addressed_to_us(update, context.bot.username):
        raise ApplicationHandlerStop
    if context.ui.menu.allowed_in_groups(command):
        return
    tr = await translator(update, context)
    button = kb.url_button(str(tr("chat.open_private")), f"https://t.me/{context.bot.username}")
    await reply(update, tr("chat.private_only"), kb.inline([[button]]))
    raise ApplicationHandlerStop


def register(app: LiaisonApp) -> None:
    app.add_handler(TypeHandler(Update, enforce), group=POLICY_GROUP)
