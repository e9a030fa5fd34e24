"""The ledger feature (台账): /stats, charts, /summary PDF, /export XLSX/CSV, /audit, /myrecord, backups.

    stats.py    /stats, its period buttons, the charts album, the home button
    summary.py  /summary (PDF)            period.py  the typed custom period (a guided flow)
    export.py   /export (XLSX + CSV zip)  audit.py   /audit (owners)
    record.py   /myrecord                 shared.py  who may read the ledger, the period keyboard

Ledger data is personal: every command here is private-chat only (handlers/chatpolicy.py answers
them in groups with a link). The daily backup is the ledger's due work, run by the one scheduler.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from telegram.ext import CommandHandler

from bot.context import LiaisonApp
from bot.ledger.callbacks import AUDIT_PAGE, CHARTS, HOME_RECORD, HOME_STATS, STATS, SUMMARY
from bot.roles import Role
from handlers import common
from handlers.buttons import on
from handlers.feature import DueWork, Feature
from handlers.ledger import period
from handlers.ledger.audit import audit_button, audit_command
from handlers.ledger.export import export_command
from handlers.ledger.record import myrecord_command, record_home
from handlers.ledger.stats import charts_button, stats_button, stats_command, stats_home
from handlers.ledger.summary import summary_button, summary_command
from handlers.menu import CommandMenu

if TYPE_CHECKING:
    from bot.services import Services

BACKUP_CHECK_EVERY = timedelta(minutes=5)


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    period.register(app)
    for command, callback in (
        ("stats", stats_command), ("summary", summary_command), ("export", export_command),
        ("audit", audit_command), ("myrecord", myrecord_command),
    ):
        app.add_handler(CommandHandler(command, callback, filters=common.COMMAND_FILTER))
    for button, pressed in (
        (STATS, stats_button), (CHARTS, charts_button), (SUMMARY, summary_button), (AUDIT_PAGE, audit_button),
        (HOME_STATS, stats_home), (HOME_RECORD, record_home),
    ):
        app.add_handler(on(button, pressed))
    menu.add_home("ledger.home.stats", HOME_STATS.data(), Role.COORDINATOR)
    menu.add_home("ledger.home.record", HOME_RECORD.data(), Role.MEMBER)
    menu.add("myrecord", "cmd.myrecord", Role.MEMBER)
    menu.add("stats", "cmd.stats", Role.COORDINATOR)
    menu.add("summary", "cmd.summary", Role.COORDINATOR)
    menu.add("export", "cmd.export", Role.COORDINATOR)
    menu.add("audit", "cmd.audit", Role.OWNER)


async def run_backup(services: Services) -> None:
    """The daily online backup, when it is due (the schedule row is created on the first run)."""
    await services.backup.run_due()


FEATURE = Feature("ledger", register, due=(DueWork("backup", BACKUP_CHECK_EVERY, run_backup),))
