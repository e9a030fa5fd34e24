"""The association's group chats the bot is in (where "also post to group chats" goes)."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus

from bot.context import Ctx

PRESENT = (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


async def my_chat_member(update: Update, context: Ctx) -> None:
    change = update.my_chat_member
    if change is None or change.chat.type not in ("group", "supergroup"):
        return
    present = change.new_chat_member.status in PRESENT
    await context.services.notices.group_chat_changed(change.chat.id, change.chat.title or "", present)


async def chat_migrated(update: Update, context: Ctx) -> None:
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    await context.services.notices.group_chat_migrated(message.chat.id, message.migrate_to_chat_id)
