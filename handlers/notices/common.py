"""What the notice flows share: the draft in `user_data`, its segment, the step journals and states,
the caller check, and small formatting helpers."""

from __future__ import annotations

import html
import re
from datetime import datetime, time, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot import when
from bot.context import Ctx
from bot.errors import Refusal
from bot.i18n import Markup, Translator
from bot.labels import label
from bot.notices import ACTIVITY, QUESTIONNAIRE, Segment, activity_segment, questionnaire_segment
from bot.notices import callbacks as cb
from bot.roles import Actor
from bot.text import truncate_text
from handlers import keyboards as kb
from handlers import steps
from handlers.base import actor, refuse

WRITE, AUDIENCE, PICK, PREVIEW, WHEN, REPEAT, PICK_ACTIVITY, PICK_STATUS, PICK_QUESTIONNAIRE = range(9)
EDIT_TEXT = 10
EDIT_WHEN = 11
CONFIRM = 12  # the summary with the chosen time or repeat rule, before scheduling
DRAFT = "notice_draft"
EDITED = "notice_edit"  # in user_data: the notice whose text or time is being edited
RETARGET = "retarget"  # in a draft: the scheduled/recurring notice whose audience is being changed
# Step journals (handlers/steps.py): a restart one step behind asks the current step again.
COMPOSE = steps.Flow("notice")
EDITING = steps.Flow("notice_edit")
_TAG = re.compile(r"<[^>]*>")


def draft_of(context: Ctx) -> dict[str, Any]:
    data = context.user_data if context.user_data is not None else {}
    draft = data.get(DRAFT)
    if not isinstance(draft, dict):
        draft = {}
        data[DRAFT] = draft
    return draft


def segment_of(draft: dict[str, Any]) -> Segment:
    kind, ref = draft.get("kind"), draft.get("ref")
    if kind == ACTIVITY and isinstance(ref, int):
        return activity_segment(ref, str(draft.get("status", "")))
    if kind == QUESTIONNAIRE and isinstance(ref, int):
        return questionnaire_segment(ref)
    return Segment(
        everyone=bool(draft.get("everyone")),
        group_ids=tuple(int(g) for g in draft.get("groups", [])),
        categories=tuple(str(c) for c in draft.get("cats", [])),
    )


def clear(context: Ctx) -> None:
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)
    COMPOSE.clear(context)


async def coordinator(update: Update, context: Ctx) -> Actor | None:
    """The caller when a coordinator (re-checked on every step and press); otherwise refused."""
    who = await actor(update, context)
    if not who.is_coordinator:
        await refuse(update, context)
        return None
    return who


def local(context: Ctx, moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(context.services.notices.zone).strftime("%Y-%m-%d %H:%M")


def read_moment(context: Ctx, tr: Translator, text: str) -> datetime | Refusal:
    """A moment typed as people write it (明天 09:00, 周六14:00, 12月20日 下午2点, 2026-12-05 14:00),
    read by the one date reader (bot/when.py) in the configured zone; or its refusal with an example."""
    notices = context.services.notices
    return when.parse(text, notices.clock.now(), notices.zone, tr.lang)


def ask_when_text(context: Ctx, tr: Translator) -> Markup:
    """The question for a sending time, naming the zone as people call it (北京时间)."""
    return tr("notice.ask_when", zone=when.zone_name(tr, context.services.notices.zone))


def quick_times(context: Ctx) -> list[datetime]:
    """Sending times offered as buttons: tomorrow 09:00 and 14:00, and the coming Saturday 10:00."""
    notices = context.services.notices
    today = notices.clock.now().astimezone(notices.zone).date()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    tomorrow = today + timedelta(days=1)
    days = [(tomorrow, time(9)), (tomorrow, time(14)), (saturday, time(10))]
    return [datetime.combine(d, t, tzinfo=notices.zone) for d, t in days]


def quick_time_buttons(context: Ctx, tr: Translator) -> InlineKeyboardMarkup:
    zone = context.services.notices.zone
    return kb.inline([[kb.button(when.moment(tr, moment, zone), cb.QUICK_TIME.data(at=int(moment.timestamp()) // 60))]
                      for moment in quick_times(context)])


def plain(html_text: str, limit: int) -> str:
    text = html.unescape(_TAG.sub("", html_text)).replace("\n", " ")
    return truncate_text(text, limit + 1)


def short(text: str, limit: int = 48) -> str:
    return truncate_text(text, limit)


def status_label(tr: Translator, status: str) -> str:
    """A notice's status in words (bot/labels.py)."""
    return label(tr, "notice_status", status)


def on_off(tr: Translator, on: object) -> Markup:
    return tr("notice.on") if on else tr("notice.off")
