"""Questionnaires: /survey builds and publishes (coordinators), members answer with buttons,
/surveys shows results and exports them (XLSX / CSV).

The feature's contract (handlers/feature.py): its flows, buttons and menu entries, and the
reminders and closings as due work (invitations and reminders go out through the outbox).
"""

from __future__ import annotations

from datetime import timedelta

from telegram.ext import CommandHandler

from bot.context import LiaisonApp
from bot.roles import Role
from bot.surveys import callbacks as cb
from handlers import common
from handlers.buttons import on
from handlers.feature import DueWork, Feature
from handlers.menu import CommandMenu
from handlers.surveys import build, respond, results


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    build.register(app)
    respond.register(app)
    app.add_handler(CommandHandler("surveys", results.surveys_command, filters=common.COMMAND_FILTER))
    for button in (cb.RESULTS, cb.XLSX, cb.CSV):
        app.add_handler(on(button, results.results_pressed))
    menu.add("survey", "cmd.survey", Role.COORDINATOR)
    menu.add("surveys", "cmd.surveys", Role.COORDINATOR)


FEATURE = Feature(
    "surveys",
    register,
    due=(DueWork("deadlines", timedelta(minutes=1), lambda services: services.surveys.run_due()),),
    my_data=respond.my_data,
)
