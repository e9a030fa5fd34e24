"""The preview before sending, and the summary of every choice that will take effect.

Both are rendered from the draft stored in `user_data` (never from what a pressed message shows):
the audience (everyone, the chosen groups or categories, an activity's participants, a
questionnaire's non-respondents), the recipient count, the options, and — once typed — the time
a scheduled notice goes out (after quiet hours) or the repeat rule.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.ext import ConversationHandler

from bot.callbacks import NOOP
from bot.context import Ctx
from bot.i18n import Markup, Translator
from bot.labels import label
from bot.notices import ACTIVITY, QUESTIONNAIRE
from bot.notices import callbacks as cb
from bot.roles import AccessDenied, Actor
from handlers import keyboards as kb
from handlers.base import edit_or_reply, refuse, send_direct, translator
from handlers.notices.common import COMPOSE, PREVIEW, draft_of, on_off, segment_of


async def describe_audience(context: Ctx, tr: Translator, draft: dict[str, Any]) -> Markup:
    """The audience of a draft in words."""
    kind = draft.get("kind")
    title = str(draft.get("ref_title", ""))
    if kind == ACTIVITY:
        status = label(tr, "participant_status", str(draft.get("status", "")))
        return tr("notice.summary.audience_activity", status=status, title=title)
    if kind == QUESTIONNAIRE:
        return tr("notice.summary.audience_questionnaire", title=title)
    if draft.get("everyone"):
        return tr("notice.summary.audience_everyone")
    parts: list[str] = []
    groups = tuple(int(g) for g in draft.get("groups", []))
    if groups:
        names = await context.services.notices.group_names(groups)
        parts.append(str(tr("notice.summary.audience_groups", names=", ".join(names))))
    cats = [str(c) for c in draft.get("cats", [])]
    if cats:
        words = ", ".join(label(tr, "category", c) for c in cats)
        parts.append(str(tr("notice.summary.audience_categories", names=words)))
    return tr.join(parts, "; ")


async def summary(context: Ctx, tr: Translator, draft: dict[str, Any], count: int, *, where: str = "") -> Markup:
    """Recipients, audience and options of the draft (the lines every summary shows); `where` the
    preview is from this message ('below', 'above'), if the summary is shown beside it."""
    groups = await context.services.notices.group_chat_count() if draft.get("post_groups") else 0
    return tr.join([
        *([tr(f"notice.preview_{where}")] if where else []),
        tr("notice.preview", count=count, groups=groups),
        tr("notice.summary.audience", audience=await describe_audience(context, tr, draft)),
        tr("notice.summary.options", groups=on_off(tr, draft.get("post_groups")), nudge=on_off(tr, draft.get("nudge")),
           urgent=on_off(tr, draft.get("urgent")), paid=on_off(tr, draft.get("paid"))),
    ])


async def preview(update: Update, context: Ctx, who: Actor, *, resend: bool = True) -> int:
    """The notice as members get it (a new message), then the control panel with the summary."""
    tr = await translator(update, context)
    draft = draft_of(context)
    services = context.services
    try:
        count = await services.notices.count(who, segment_of(draft))
    except AccessDenied:
        await refuse(update, context)
        return ConversationHandler.END
    await COMPOSE.enter(update, context, PREVIEW)
    chat = update.effective_chat
    query = update.callback_query
    pressed = query.message.message_id if query is not None and isinstance(query.message, Message) else None
    if resend and pressed is not None:
        # The pressed question becomes the panel and the preview is sent after it: the panel is above it.
        draft["panel"] = pressed
    # Where the preview is from the panel: right below it (the panel is the message before it), or
    # somewhere above (the panel was sent again later, e.g. after a restart).
    where = "below" if pressed is not None and pressed == draft.get("panel") else "above"
    if resend and chat is not None:
        # The notice as members get it; its button does nothing here and says it is a preview.
        markup = kb.inline([[kb.button(tr("notice.ack_button_preview"), NOOP.data())]])
        attachment = draft.get("attachment") or {}
        if attachment.get("type") == "photo":
            shown = partial(chat.send_photo, attachment["file_id"], caption=draft.get("text", ""),
                            parse_mode=ParseMode.HTML, reply_markup=markup)
        elif attachment.get("type") == "document":
            shown = partial(chat.send_document, attachment["file_id"], caption=draft.get("text", ""),
                            parse_mode=ParseMode.HTML, reply_markup=markup)
        else:
            shown = partial(chat.send_message, draft.get("text", ""), parse_mode=ParseMode.HTML,
                            reply_markup=markup, disable_web_page_preview=True)
        await send_direct(update, context, shown, what="notice preview")
    keyboard = kb.inline([
        [kb.button(tr("notice.btn.send_now"), cb.SEND_NOW.data())],
        [kb.button(tr("notice.btn.schedule"), cb.SEND_AT.data()),
         kb.button(tr("notice.btn.repeat"), cb.REPEAT.data())],
        [kb.button(tr("notice.btn.groups", state=on_off(tr, draft.get("post_groups"))), cb.OPTION.data(name="groups"))],
        [kb.button(tr("notice.btn.nudge", state=on_off(tr, draft.get("nudge"))), cb.OPTION.data(name="nudge"))],
        [kb.button(tr("notice.btn.urgent", state=on_off(tr, draft.get("urgent"))), cb.OPTION.data(name="urgent"))],
        [kb.button(tr("notice.btn.paid", state=on_off(tr, draft.get("paid"))), cb.OPTION.data(name="paid"))],
        [kb.button(tr("notice.btn.cancel"), cb.COMPOSE_CANCEL.data())],
    ])
    # The question message becomes the control panel (Telegram allows ~1 new message/s per chat).
    await edit_or_reply(update, await summary(context, tr, draft, count, where=where), keyboard)
    return PREVIEW
