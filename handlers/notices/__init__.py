"""Notices and delivery: the feature's handlers, one module per flow.

- `compose`: /notice (write, audience, preview, send now or schedule after a summary);
- `audience`: the audience question and its pickers (also re-targeting a scheduled notice);
- `summary`: the preview and the summary of every choice, rendered from the stored draft;
- `edit`: editing a scheduled notice's text, time or repeat rule, and its audience;
- `status`: /notices (list, status with live counts, who has not, nudge, cancel);
- `reach`: who a notice did not reach (under its delivery report);
- `ack`: a member's "Got it"; `chats`: the group chats the bot is in;
- `due`: the delivery worker, the due work and the exact alarm; `delivery`: the Telegram transport.
"""

from __future__ import annotations

from telegram.ext import ChatMemberHandler, CommandHandler, MessageHandler, filters

from bot.context import LiaisonApp
from bot.notices import callbacks as cb
from bot.roles import Role
from handlers.buttons import on
from handlers.common import COMMAND_FILTER
from handlers.feature import Feature
from handlers.menu import CommandMenu
from handlers.notices import ack, chats, compose, due, edit, reach, status


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    app.add_handler(compose.conversation(app))
    app.add_handler(edit.conversation(app))
    app.add_handler(CommandHandler("notices", status.notices_list, filters=COMMAND_FILTER))
    app.add_handler(on(cb.LIST, status.notices_list))
    app.add_handler(on(cb.VIEW, status.notice_view))
    app.add_handler(on(cb.WHO_HAS_NOT, status.who_has_not))
    app.add_handler(on(cb.NUDGE, status.nudge_pressed))
    app.add_handler(on(cb.CANCEL_NOTICE, status.cancel_notice))
    app.add_handler(on(cb.CANCEL_CONFIRM, status.cancel_confirmed))
    app.add_handler(on(cb.UNREACHED, reach.unreached_list))
    app.add_handler(on(cb.UNREACHED_PAGE, reach.unreached_list))
    app.add_handler(on(cb.ACK, ack.ack_pressed))
    app.add_handler(ChatMemberHandler(chats.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, chats.chat_migrated))
    menu.add("notice", "cmd.notice", Role.COORDINATOR)
    menu.add("notices", "cmd.notices", Role.COORDINATOR)


FEATURE = Feature(
    "notices",
    register,
    due=(due.DUE,),
    # the delivery worker drains the outbox for every feature
    on_startup=(due.recover_deliveries, due.start_worker_and_alarm),
)

__all__ = ["FEATURE", "register"]
