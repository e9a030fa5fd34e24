"""/export: the scoped ledger as an XLSX workbook and a zip of CSV files, with a progress line."""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.context import Ctx
from bot.ledger import reports
from handlers.base import reply, send_direct, translator
from handlers.ledger.shared import coordinator

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 1.0


async def export_command(update: Update, context: Ctx) -> None:
    who = await coordinator(update, context)
    if who is None or update.effective_chat is None:
        return
    tr = await translator(update, context)
    services = context.services
    status = await reply(update, tr("ledger.export.progress", percent=0))
    progress = reports.Progress()
    task = asyncio.ensure_future(services.ledger.export(who, reports.plain(tr), progress))
    shown = 0
    while not task.done():
        await asyncio.wait({task}, timeout=PROGRESS_EVERY_S)
        percent = progress.percent
        if not task.done() and status is not None and percent != shown:
            shown = percent
            await _edit_status(status, tr("ledger.export.progress", percent=percent))
    files = task.result()
    stamp = services.clock.now().astimezone(services.ledger.zone).strftime("%Y%m%d")
    chat_id = update.effective_chat.id
    for document, filename in ((files.xlsx, f"ledger-{stamp}.xlsx"), (files.csv_zip, f"ledger-{stamp}-csv.zip")):
        sent = await send_direct(
            update, context, partial(context.bot.send_document, chat_id, document=document, filename=filename),
            what="ledger export",
        )
        if sent is None:  # the user has been asked to try again later
            return
    if status is not None:
        await _edit_status(status, tr("ledger.export.done", rows=sum(files.rows.values())))


async def _edit_status(status: Message, text: str) -> None:
    try:
        await status.edit_text(text, parse_mode=ParseMode.HTML)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise
    except TelegramError as exc:  # progress is cosmetic; the export itself goes on
        log.info("could not update export progress: %s", exc)
