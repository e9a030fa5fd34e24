"""/myrecord: a member's own participation record (also reachable from the home menu)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram import Update

from bot.context import Ctx
from bot.i18n import Translator
from bot.ledger import reports
from bot.ledger.models import MemberRecord
from handlers.base import actor, answer, reply, translator
from handlers.ledger.stats import kinds_of


def render_record(tr: Translator, record: MemberRecord, zone: ZoneInfo) -> str:
    """A member's participation record (used by /myrecord and by the member card)."""
    b = record.basics
    lines = [
        tr("ledger.record.title", name=b.name or "—"),
        tr("ledger.record.since", date=b.registered_at.astimezone(zone).date().isoformat()),
        tr("ledger.record.groups", groups=", ".join(b.groups) or "—"),
        tr("ledger.record.activities", attended=len(record.attended), signed_up=record.signed_up,
           hours=f"{record.hours:.1f}"),
        tr("ledger.record.feedback", count=sum(record.feedback.values()),
           kinds=kinds_of(reports.plain(tr), record.feedback) or "—"),
    ]
    lines += [
        tr("ledger.record.activity_line", date=a.starts_at.astimezone(zone).date().isoformat(), title=a.title)
        for a in record.attended[:10]
    ]
    return "\n".join(str(x) for x in lines)


async def myrecord_command(update: Update, context: Ctx) -> None:
    who = await actor(update, context)
    tr = await translator(update, context)
    if who.member_id is None or who.member_status not in ("active", "left"):
        await reply(update, tr("ledger.record.not_member"))
        return
    record = await context.services.ledger.member_record(who.member_id)
    if record is None:
        await reply(update, tr("ledger.record.not_member"))
        return
    await reply(update, render_record(tr, record, context.services.ledger.zone))


async def record_home(update: Update, context: Ctx) -> None:
    chat = update.effective_chat
    await answer(update)
    if chat is not None and chat.type == chat.PRIVATE:  # a personal record never goes into a group
        await myrecord_command(update, context)
