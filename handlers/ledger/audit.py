"""/audit: owners page through the audit log of privileged actions, filtered by action and actor."""

from __future__ import annotations

import re
from typing import Any

from telegram import Update

from bot.callbacks import NOOP
from bot.context import Ctx
from bot.i18n import Translator
from bot.ledger.callbacks import AUDIT_PAGE, NO_FILTER
from handlers import keyboards as kb
from handlers.base import actor, answer, edit_or_reply, refuse, reply, translator
from handlers.buttons import press
from handlers.ledger.shared import join_within

_AUDIT_PREFIX = re.compile(r"^[a-z][a-z0-9_.]{0,29}$")
_ACTOR = re.compile(r"^[0-9]{1,15}$")


async def audit_command(update: Update, context: Ctx) -> None:
    who = await actor(update, context)
    if not who.is_owner:
        await refuse(update, context)
        return
    tr = await translator(update, context)
    prefix: str | None = None
    actor_id: int | None = None
    for arg in context.args or []:
        if _ACTOR.match(arg):
            actor_id = int(arg)
        elif _AUDIT_PREFIX.match(arg):
            prefix = arg
        else:
            await reply(update, tr("ledger.audit.usage"))
            return
    await _show_audit(update, context, 0, prefix, actor_id, tr)


async def audit_button(update: Update, context: Ctx) -> None:
    pressed = press(update, AUDIT_PAGE)
    who = await actor(update, context)
    if not who.is_owner:
        await refuse(update, context)
        return
    await answer(update)
    if pressed is None:
        return
    prefix, actor_text = pressed.text("prefix"), pressed.text("actor")
    await _show_audit(
        update, context, pressed.num("page"), prefix if _AUDIT_PREFIX.match(prefix) else None,
        int(actor_text) if _ACTOR.match(actor_text) else None, await translator(update, context),
    )


async def _show_audit(
    update: Update, context: Ctx, page: int, prefix: str | None, actor_id: int | None, tr: Translator
) -> None:
    ledger = context.services.ledger
    result = await ledger.audit(page, prefix, actor_id)
    lines = [str(tr("ledger.audit.title", total=result.total))]
    for row in result.rows:
        lines.append(str(tr(
            "ledger.audit.line", id=row.id, at=row.at.astimezone(ledger.zone).strftime("%Y-%m-%d %H:%M"),
            actor=row.actor_user_id if row.actor_user_id is not None else "—", action=row.action,
            target=f"{row.target_type or ''}:{row.target_id or ''}".strip(":"), details=row.details[:80],
        )))
    if not result.rows:
        lines.append(str(tr("ledger.audit.empty")))
    filters = {"prefix": prefix or NO_FILTER, "actor": str(actor_id) if actor_id is not None else NO_FILTER}
    nav: list[Any] = []
    if result.page > 0:
        nav.append(kb.button(str(tr("ledger.prev")), AUDIT_PAGE.data(page=result.page - 1, **filters)))
    if result.pages > 1:
        nav.append(kb.button(f"{result.page + 1}/{result.pages}", NOOP.data()))
    if result.page + 1 < result.pages:
        nav.append(kb.button(str(tr("ledger.next")), AUDIT_PAGE.data(page=result.page + 1, **filters)))
    await edit_or_reply(update, join_within(lines), kb.inline([nav]) if nav else None)
