"""The /newactivity summary before Publish: every choice that will take effect, from the stored draft."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import Update

from bot.activities import Draft
from bot.activities import callbacks as cb
from bot.context import Ctx
from bot.dates import show
from bot.i18n import Translator
from bot.labels import label
from handlers import keyboards as kb
from handlers.activities.common import zone_name
from handlers.base import actor, reply


async def show_summary(update: Update, context: Ctx, tr: Translator, stored: dict[str, Any]) -> None:
    """Reply with the summary of the stored draft `stored` and the Publish / Discard buttons."""
    draft = to_draft(stored)
    zone = context.services.settings.zone
    service = context.services.activities
    who = await actor(update, context)
    names = {g.id: g.name for g in await service.pickable_groups(who, limit=10_000)}
    groups = ", ".join(names.get(g, str(g)) for g in draft.group_ids) or str(tr("act.summary.all_groups"))
    categories = ", ".join(label(tr, "category", c) for c in draft.categories) or str(tr("act.summary.all_categories"))
    offsets = str(tr("act.offset.sep")).join(offset_words(tr, m) for m in draft.reminder_offsets)
    reminders = str(tr("act.offset.before", offsets=offsets)) if offsets else str(tr("act.summary.no_reminders"))
    repeat = tr(f"act.summary.repeat.{draft.repeat}", count=draft.occurrences)
    offer = (
        tr("act.summary.offer.hours", hours=draft.offer_hours) if draft.offer_hours else tr("act.summary.offer.none")
    )
    summary = tr(
        "act.new.summary",
        title=draft.title,
        start=show(draft.starts_at, zone),
        end=show(draft.ends_at, zone),
        zone=zone_name(tr, context),
        place=draft.place or "-",
        capacity=draft.capacity or "-",
        deadline=show(draft.signup_deadline, zone),
        groups=groups,
        categories=categories,
        recipients=await service.audience_size(who, draft),
        reminders=reminders,
        survey=tr("act.summary.yes" if draft.survey else "act.summary.no"),
        offer=offer,
        repeat=repeat,
    )
    go, no = cb.PUBLISH.data(choice="go"), cb.PUBLISH.data(choice="no")
    buttons = kb.inline([[kb.button(str(tr("act.btn.publish")), go), kb.button(str(tr("act.btn.discard")), no)]])
    await reply(update, summary, buttons)


def offset_words(tr: Translator, minutes: int) -> str:
    """A reminder offset in words: 1天 / 2小时 / 30分钟."""
    if minutes % 1440 == 0:
        return str(tr("act.offset.d", n=minutes // 1440))
    if minutes % 60 == 0:
        return str(tr("act.offset.h", n=minutes // 60))
    return str(tr("act.offset.m", n=minutes))


def to_draft(d: dict[str, Any]) -> Draft:
    return Draft(
        title=d["title"],
        description=d["desc"],
        place=d["place"],
        starts_at=datetime.fromisoformat(d["start"]),
        ends_at=datetime.fromisoformat(d["end"]),
        signup_deadline=datetime.fromisoformat(d["deadline"]),
        capacity=d["capacity"],
        group_ids=tuple(d["groups"]),
        categories=tuple(d["cats"]),
        reminder_offsets=tuple(d["reminders"]),
        survey=bool(d["survey"]),
        offer_hours=d["offer"],
        repeat=d["repeat"],
        occurrences=int(d["count"]),
    )
