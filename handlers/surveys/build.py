"""/survey: a coordinator builds a questionnaire in the chat and publishes it.

A guided flow (handlers/flows.py): any command ends it; after a restart one step behind, the step
journal asks the current step again (`ask_again`).
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters

from bot.context import Ctx, LiaisonApp
from bot.errors import Refusal
from bot.i18n import Markup, Translator
from bot.labels import label
from bot.members.models import CATEGORY
from bot.roles import AccessDenied
from bot.surveys import KINDS, MAX_QUESTIONS, clean, parse_options
from bot.surveys import callbacks as cb
from bot.surveys.service import MAX_QUESTION, MAX_TITLE
from bot.text import MESSAGE_LIMIT, truncate_html
from handlers import common, steps
from handlers import keyboards as kb
from handlers.base import actor, answer, edit_or_reply, refuse, reply, translator
from handlers.buttons import on, press
from handlers.flows import guided

S_TITLE, S_KIND, S_QTEXT, S_OPTS, S_TARGET, S_DEADLINE, S_CONFIRM, S_CATEGORY = range(20, 28)
DEADLINE_DAYS = (3, 7, 14)
TEXT = filters.TEXT & ~filters.COMMAND
DRAFT = "svb"  # user_data key of the draft
BUILD = steps.Flow("survey_build")


def _draft(context: Ctx) -> dict[str, Any]:
    assert context.user_data is not None
    draft: dict[str, Any] = context.user_data.setdefault(DRAFT, {"questions": []})
    return draft


def _text(update: Update) -> str | None:
    message = update.effective_message
    return message.text if message else None


async def _refused(update: Update, context: Ctx, refusal: Refusal) -> None:
    tr = await translator(update, context)
    await reply(update, tr(refusal.key, **refusal.values))


async def build_start(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    who = await actor(update, context)
    if not who.is_coordinator:
        await refuse(update, context)
        return ConversationHandler.END
    assert context.user_data is not None
    context.user_data[DRAFT] = {"questions": []}
    await BUILD.enter(update, context, S_TITLE)
    await reply(update, tr("sv.build_title"))
    return S_TITLE


async def title_received(update: Update, context: Ctx) -> int:
    try:
        _draft(context)["title"] = clean(_text(update), MAX_TITLE)
    except Refusal as refusal:
        await _refused(update, context, refusal)
        return S_TITLE
    return await _kind_picker(update, context)


async def _kind_picker(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    count = len(_draft(context)["questions"])
    buttons = (
        [kb.button(str(tr(f"sv.kind.{k}")), cb.QUESTION_KIND.data(kind=k)) for k in KINDS]
        if count < MAX_QUESTIONS
        else []
    )
    if count:
        buttons.append(kb.button(str(tr("sv.finish_questions")), cb.QUESTION_KIND.data(kind="end")))
    await BUILD.enter(update, context, S_KIND)
    await reply(update, tr("sv.add_question", count=count), kb.inline(kb.columns(buttons)))
    return S_KIND


async def kind_chosen(update: Update, context: Ctx) -> int:
    await answer(update)
    pressed = press(update, cb.QUESTION_KIND)
    tr = await translator(update, context)
    draft = _draft(context)
    if pressed is None:
        return S_KIND
    kind = pressed.text("kind")
    if kind == "end":
        if not draft["questions"]:
            return S_KIND
        who = await actor(update, context)
        try:
            groups = await context.services.surveys.scope_groups(who)
        except AccessDenied:
            await refuse(update, context)
            return ConversationHandler.END
        await BUILD.enter(update, context, S_TARGET)
        await _ask_target(update, tr, groups)
        return S_TARGET
    draft["pending"] = kind
    await BUILD.enter(update, context, S_QTEXT)
    await edit_or_reply(update, tr("sv.question_text", kind=tr(f"sv.kind.{kind}")))
    return S_QTEXT


async def _ask_target(update: Update, tr: Translator, groups: list[tuple[int, str]]) -> None:
    buttons = [kb.button(str(tr("sv.target_scope")), cb.TARGET.data(group=cb.ALL))]
    buttons += [kb.button(name, cb.TARGET.data(group=str(gid))) for gid, name in groups]
    await edit_or_reply(update, tr("sv.choose_target"), kb.inline(kb.columns(buttons)))


async def question_text(update: Update, context: Ctx) -> int:
    try:
        text = clean(_text(update), MAX_QUESTION)
    except Refusal as refusal:
        await _refused(update, context, refusal)
        return S_QTEXT
    draft = _draft(context)
    kind = draft.get("pending", "text")
    if kind in ("single", "multi"):
        draft["pending_text"] = text
        tr = await translator(update, context)
        await BUILD.enter(update, context, S_OPTS)
        await reply(update, tr("sv.options_prompt"))
        return S_OPTS
    draft["questions"].append([kind, text, []])
    return await _kind_picker(update, context)


async def options_received(update: Update, context: Ctx) -> int:
    try:
        options = parse_options(_text(update) or "")
    except Refusal as refusal:
        await _refused(update, context, refusal)
        return S_OPTS
    draft = _draft(context)
    draft["questions"].append([draft.get("pending", "single"), draft.get("pending_text", ""), options])
    return await _kind_picker(update, context)


async def target_chosen(update: Update, context: Ctx) -> int:
    await answer(update)
    pressed = press(update, cb.TARGET)
    if pressed is None or (pressed.text("group") != cb.ALL and cb.group_of(pressed.text("group")) is None):
        return S_TARGET
    group_id = cb.group_of(pressed.text("group"))
    if group_id is not None:  # a forged group outside the scope is refused at the pick, not only at publishing
        try:
            await context.services.roles.require_group(await actor(update, context), group_id)
        except AccessDenied:
            await refuse(update, context)
            return S_TARGET
    _draft(context)["group"] = group_id
    tr = await translator(update, context)
    await BUILD.enter(update, context, S_CATEGORY)
    await _ask_category(update, tr)
    return S_CATEGORY


async def _ask_category(update: Update, tr: Translator) -> None:
    buttons = [kb.button(str(tr("sv.all_categories")), cb.CATEGORY.data(category=cb.ALL))]
    buttons += [kb.button(label(tr, CATEGORY, c), cb.CATEGORY.data(category=c)) for c in cb.CATEGORIES]
    await edit_or_reply(update, tr("sv.choose_category"), kb.inline(kb.columns(buttons)))


async def category_chosen(update: Update, context: Ctx) -> int:
    await answer(update)
    pressed = press(update, cb.CATEGORY)
    if pressed is None:
        return S_CATEGORY
    category = pressed.text("category")
    _draft(context)["category"] = None if category == cb.ALL else category
    tr = await translator(update, context)
    await BUILD.enter(update, context, S_DEADLINE)
    await _ask_deadline(update, tr)
    return S_DEADLINE


async def _ask_deadline(update: Update, tr: Translator) -> None:
    buttons = [kb.button(str(tr("sv.days", days=d)), cb.DEADLINE.data(days=d)) for d in DEADLINE_DAYS]
    await edit_or_reply(update, tr("sv.choose_deadline"), kb.inline([buttons]))


async def deadline_chosen(update: Update, context: Ctx) -> int:
    await answer(update)
    pressed = press(update, cb.DEADLINE)
    if pressed is None or pressed.num("days") not in DEADLINE_DAYS:
        return S_DEADLINE
    tr = await translator(update, context)
    draft = _draft(context)
    draft["days"] = pressed.num("days")
    await BUILD.enter(update, context, S_CONFIRM)
    await _ask_publish(update, tr, draft)
    return S_CONFIRM


async def _ask_publish(update: Update, tr: Translator, draft: dict[str, Any]) -> None:
    days = int(draft.get("days", 7))
    lines = [tr("sv.preview_head", title=draft.get("title", ""), days=days or 0)]
    for i, (kind, text, options) in enumerate(draft["questions"], 1):
        lines.append(tr("sv.preview_q", n=i, kind=tr(f"sv.kind.{kind}"), text=text))
        lines += [tr("sv.preview_option", option=o) for o in options]
    buttons = [
        kb.button(str(tr("sv.publish")), cb.PUBLISH.data(choice="yes")),
        kb.button(str(tr("sv.discard")), cb.PUBLISH.data(choice="no")),
    ]
    body = "\n".join(lines)
    await edit_or_reply(update, Markup(truncate_html(body, MESSAGE_LIMIT)), kb.inline([buttons]))


@BUILD.asks(S_TITLE, S_KIND, S_QTEXT, S_OPTS, S_TARGET, S_CATEGORY, S_DEADLINE, S_CONFIRM)
async def ask_again(update: Update, context: Ctx, state: int) -> int:
    """The current step's question again, after an interrupted one (handlers/steps.py)."""
    tr = await translator(update, context)
    who = await actor(update, context)
    if not who.is_coordinator:
        await refuse(update, context)
        return ConversationHandler.END
    draft = _draft(context)
    if state == S_KIND:
        return await _kind_picker(update, context)
    if state == S_TARGET:
        try:
            groups = await context.services.surveys.scope_groups(who)
        except AccessDenied:
            await refuse(update, context)
            return ConversationHandler.END
        await _ask_target(update, tr, groups)
    elif state == S_CATEGORY:
        await _ask_category(update, tr)
    elif state == S_DEADLINE:
        await _ask_deadline(update, tr)
    elif state == S_CONFIRM:
        await _ask_publish(update, tr, draft)
    elif state == S_QTEXT:
        await reply(update, tr("sv.question_text", kind=tr(f"sv.kind.{draft.get('pending', 'text')}")))
    elif state == S_OPTS:
        await reply(update, tr("sv.options_prompt"))
    else:
        await reply(update, tr("sv.build_title"))
    return state


async def publish_chosen(update: Update, context: Ctx) -> int:
    await answer(update)
    tr = await translator(update, context)
    pressed = press(update, cb.PUBLISH)
    assert context.user_data is not None
    draft = context.user_data.pop(DRAFT, None) or {}
    if pressed is None or pressed.text("choice") != "yes" or not draft.get("questions"):
        await edit_or_reply(update, tr("sv.discarded"))
        return ConversationHandler.END
    who = await actor(update, context)
    try:
        survey_id, invited = await context.services.surveys.publish(
            who,
            draft.get("title", ""),
            [(k, t, list(o)) for k, t, o in draft["questions"]],
            draft.get("group"),
            int(draft.get("days", 7)),
            draft.get("category"),
        )
    except AccessDenied:
        await refuse(update, context)
        return ConversationHandler.END
    except Refusal as refusal:
        await _refused(update, context, refusal)
        return ConversationHandler.END
    await edit_or_reply(update, tr("sv.published", id=survey_id, count=invited))
    return ConversationHandler.END


async def drop_draft(update: Update, context: Ctx) -> None:
    """The flow was ended by another command: its draft goes too."""
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)


def register(app: LiaisonApp) -> None:
    app.add_handler(
        guided(
            app,
            BUILD,
            title_key="flow.survey_build",
            on_abandon=drop_draft,
            entry_points=[CommandHandler("survey", build_start, filters=common.COMMAND_FILTER)],
            states={
                S_TITLE: [MessageHandler(TEXT, title_received)],
                S_KIND: [on(cb.QUESTION_KIND, kind_chosen)],
                S_QTEXT: [MessageHandler(TEXT, question_text)],
                S_OPTS: [MessageHandler(TEXT, options_received)],
                S_TARGET: [on(cb.TARGET, target_chosen)],
                S_CATEGORY: [on(cb.CATEGORY, category_chosen)],
                S_DEADLINE: [on(cb.DEADLINE, deadline_chosen)],
                S_CONFIRM: [on(cb.PUBLISH, publish_chosen)],
            },
        )
    )
