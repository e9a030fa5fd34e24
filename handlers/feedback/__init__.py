"""Feedback: members submit (/feedback) and follow (/myfeedback); coordinators handle (/queue, /digest).

The feature's contract (handlers/feature.py): its flows and buttons, its menu entries, and the
deadline chasers as due work (reminders and escalations go out through the outbox).
"""

from __future__ import annotations

from datetime import timedelta

from telegram.ext import CommandHandler

from bot.context import LiaisonApp
from bot.feedback import callbacks as cb
from bot.roles import Role
from handlers import common
from handlers.buttons import on
from handlers.feature import DueWork, Feature
from handlers.feedback import digest, handling, mine, submit, write
from handlers.menu import CommandMenu


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    submit.register(app)
    write.register(app)
    app.add_handler(CommandHandler("myfeedback", mine.my_feedback, filters=common.COMMAND_FILTER))
    app.add_handler(CommandHandler("queue", handling.queue_command, filters=common.COMMAND_FILTER))
    app.add_handler(CommandHandler("digest", digest.digest_command, filters=common.COMMAND_FILTER))
    app.add_handler(on(cb.HELPFUL, mine.helpful_pressed))
    app.add_handler(on(cb.EXPORT, handling.export_pressed))
    app.add_handler(on(cb.QUEUE, handling.queue_pressed))
    app.add_handler(on(cb.DIGEST_PREVIEW, digest.digest_pressed))
    app.add_handler(on(cb.DIGEST_SEND, digest.digest_pressed))
    for button in handling.ITEM_BUTTONS:
        app.add_handler(on(button, handling.item_action))
    menu.add("feedback", "cmd.feedback", Role.MEMBER)
    menu.add("myfeedback", "cmd.myfeedback", Role.MEMBER)
    menu.add("queue", "cmd.queue", Role.COORDINATOR)
    menu.add("digest", "cmd.digest", Role.COORDINATOR)
    menu.add_home("fb.home_button", cb.NEW.data(), Role.MEMBER)


FEATURE = Feature(
    "feedback",
    register,
    due=(DueWork("deadlines", timedelta(minutes=1), lambda services: services.feedback.run_due()),),
    my_data=mine.my_data,
)
