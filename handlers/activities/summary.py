"""The /newactivity summary before Publish: every choice that will take effect, from the stored draft."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import Update

from bot import when
from bot.activities import DEFAULT_REMINDERS, Draft
from bot.activities import callbacks as cb
from bot.activities.models import CHECKIN_OPENS
from bot.context import Ctx
from bot.i18n import Translator
from bot.labels import label
from handlers import keyboards as kb
from handlers.activities.common import zone_name
from handlers.activities.more import deadline_of, end_of
from handlers.base import actor, edit_or_reply, reply


async def show_summary(
    update: Update, context: Ctx, tr: Translator, stored: dict[str, Any], *, edit: bool = False, lead: str = ""
) -> None:
    """The summary of the stored draft `stored` with Publish / 更多选项 / Discard (`lead`: a line above)."""
    draft = to_draft(stored)
    zone = context.services.settings.zone
    service = context.services.activities
    who = await actor(update, context)
    names = {g.id: g.name for g in await service.pickable_groups(who, limit=10_000)}
    sep = str(tr("act.offset.sep"))  # 、 in Chinese
    groups = sep.join(names.get(g, str(g)) for g in draft.group_ids) or str(tr("act.summary.all_groups"))
    categories = sep.join(label(tr, "category", c) for c in draft.categories) or str(tr("act.summary.all_categories"))
    offsets = str(tr("act.offset.sep")).join(offset_words(tr, m) for m in draft.reminder_offsets)
    reminders = str(tr("act.offset.before", offsets=offsets)) if offsets else str(tr("act.summary.no_reminders"))
    repeat = tr(f"act.summary.repeat.{draft.repeat}", count=draft.occurrences)
    offer = (
        tr("act.summary.offer.hours", hours=draft.offer_hours) if draft.offer_hours else tr("act.summary.offer.none")
    )
    deadline = (
        tr("act.summary.until_start")
        if draft.signup_deadline == draft.starts_at
        else when.moment(tr, draft.signup_deadline, zone)
    )
    summary = tr(
        "act.new.summary",
        title=draft.title,
        when=when.span(tr, draft.starts_at, draft.ends_at, zone),
        zone=zone_name(tr, context),
        place=draft.place or "-",
        capacity=draft.capacity or tr("act.btn.unlimited"),
        deadline=deadline,
        groups=groups,
        categories=categories,
        recipients=await service.audience_size(who, draft),
        reminders=reminders,
        survey=tr("act.summary.yes" if draft.survey else "act.summary.no"),
        offer=offer,
        repeat=repeat,
        description=draft.description or tr("act.summary.no_description"),
        checkin=tr("act.summary.checkin", offset=offset_words(tr, draft.checkin_opens)),
    )
    text = (lead + "\n\n" if lead else "") + str(summary)
    buttons = kb.inline(
        [
            [
                kb.button(str(tr("act.btn.publish")), cb.PUBLISH.data(choice="go")),
                kb.button(str(tr("act.btn.more")), cb.MORE.data()),
            ],
            [kb.button(str(tr("act.btn.discard")), cb.PUBLISH.data(choice="no"))],
        ]
    )
    if edit:
        await edit_or_reply(update, text, buttons)
    else:
        await reply(update, text, buttons)


def offset_words(tr: Translator, minutes: int) -> str:
    """A reminder offset in words: 1天 / 2小时 / 30分钟."""
    if minutes % 1440 == 0:
        return str(tr("act.offset.d", n=minutes // 1440))
    if minutes % 60 == 0:
        return str(tr("act.offset.h", n=minutes // 60))
    return str(tr("act.offset.m", n=minutes))


def to_draft(d: dict[str, Any]) -> Draft:
    """The service's Draft from the stored one (options never opened keep their defaults)."""
    return Draft(
        title=d["title"],
        description=d.get("desc") or "",
        place=d.get("place") or "",
        starts_at=datetime.fromisoformat(d["start"]),
        ends_at=end_of(d),
        signup_deadline=deadline_of(d),
        capacity=d.get("capacity"),
        group_ids=tuple(d.get("groups", ())),
        categories=tuple(d.get("cats", ())),
        reminder_offsets=tuple(d.get("reminders", DEFAULT_REMINDERS)),
        survey=bool(d.get("survey", False)),
        offer_hours=d.get("offer"),
        repeat=d.get("repeat", "none"),
        occurrences=int(d.get("count", 1)),
        checkin_opens=int(d.get("checkin", CHECKIN_OPENS)),
    )
