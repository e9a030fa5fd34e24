"""Questionnaires: /survey builds and publishes (coordinators), members answer with buttons,
/surveys shows results and exports them (XLSX / CSV).

Callback data: ``sv:<action>:...``; every press re-checks the caller and the survey's state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.config import Language
from bot.context import Ctx, LiaisonApp
from bot.i18n import Catalog, Markup, Translator
from bot.roles import AccessDenied, Role
from bot.surveys import CATEGORIES, KINDS, MAX_FREE_TEXT, MAX_QUESTIONS, Progress, SurveyProblem, parse_options
from handlers import common, steps
from handlers import keyboards as kb
from handlers.base import actor, answer, edit_or_reply, refuse, reply, send_direct, translator
from handlers.menu import CommandMenu

S_TITLE, S_KIND, S_QTEXT, S_OPTS, S_TARGET, S_DEADLINE, S_CONFIRM, S_CATEGORY = range(20, 28)
S_ANSWER = 30
DEADLINE_DAYS = (3, 7, 14)
PRIVATE = filters.ChatType.PRIVATE & common.COMMAND_FILTER
TEXT = filters.TEXT & ~filters.COMMAND
# Step journal of /survey (handlers/steps.py): restarted one step behind, it asks the step again.
BUILD = steps.Flow("survey_build")


def _data(update: Update) -> str | None:
    return update.callback_query.data if update.callback_query else None


def _draft(context: Ctx) -> dict[str, Any]:
    assert context.user_data is not None
    draft: dict[str, Any] = context.user_data.setdefault("svb", {"questions": []})
    return draft


def _text(update: Update) -> str | None:
    message = update.effective_message
    return message.text if message else None


# --- builder ---------------------------------------------------------------------------------------
async def build_start(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    who = await actor(update, context)
    if not who.is_coordinator:
        await refuse(update, context)
        return ConversationHandler.END
    assert context.user_data is not None
    context.user_data["svb"] = {"questions": []}
    await BUILD.enter(update, context, S_TITLE)
    await reply(update, tr("sv.build_title"))
    return S_TITLE


async def _problem(update: Update, context: Ctx, problem: SurveyProblem) -> None:
    tr = await translator(update, context)
    await reply(update, tr(f"sv.problem.{problem.reason}", limit=MAX_FREE_TEXT))


async def title_received(update: Update, context: Ctx) -> int:
    text = (_text(update) or "").strip()
    if not text or len(text) > 200:
        await _problem(update, context, SurveyProblem("empty" if not text else "too_long"))
        return S_TITLE
    _draft(context)["title"] = text
    return await _kind_picker(update, context)


async def _kind_picker(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    draft = _draft(context)
    count = len(draft["questions"])
    buttons = [kb.button(str(tr(f"sv.kind.{k}")), kb.cb("sv", "qk", k)) for k in KINDS] if count < MAX_QUESTIONS else []
    if count:
        buttons.append(kb.button(str(tr("sv.finish_questions")), kb.cb("sv", "qk", "end")))
    await BUILD.enter(update, context, S_KIND)
    await reply(update, tr("sv.add_question", count=count), kb.inline(kb.columns(buttons)))
    return S_KIND


async def kind_chosen(update: Update, context: Ctx) -> int:
    await answer(update)
    parts = kb.parse(_data(update), "sv", 2)
    tr = await translator(update, context)
    draft = _draft(context)
    if parts is None or parts[1] not in (*KINDS, "end"):
        return S_KIND
    if parts[1] == "end":
        if not draft["questions"]:
            return S_KIND
        who = await actor(update, context)
        try:
            groups = await context.services.feedback.scope_groups(who)
        except AccessDenied:
            await refuse(update, context)
            return ConversationHandler.END
        await BUILD.enter(update, context, S_TARGET)
        await _ask_target(update, tr, groups)
        return S_TARGET
    draft["pending"] = parts[1]
    await BUILD.enter(update, context, S_QTEXT)
    await edit_or_reply(update, tr("sv.question_text", kind=tr(f"sv.kind.{parts[1]}")))
    return S_QTEXT


async def _ask_target(update: Update, tr: Translator, groups: list[tuple[int, str]]) -> None:
    buttons = [kb.button(str(tr("sv.target_scope")), kb.cb("sv", "tg", "-"))]
    buttons += [kb.button(name, kb.cb("sv", "tg", gid)) for gid, name in groups]
    await edit_or_reply(update, tr("sv.choose_target"), kb.inline(kb.columns(buttons)))


async def question_text(update: Update, context: Ctx) -> int:
    text = (_text(update) or "").strip()
    if not text or len(text) > 300:
        await _problem(update, context, SurveyProblem("empty" if not text else "too_long"))
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
    except SurveyProblem as problem:
        await _problem(update, context, problem)
        return S_OPTS
    draft = _draft(context)
    draft["questions"].append([draft.get("pending", "single"), draft.get("pending_text", ""), options])
    return await _kind_picker(update, context)


async def target_chosen(update: Update, context: Ctx) -> int:
    await answer(update)
    parts = kb.parse(_data(update), "sv", 2)
    if parts is None or (parts[1] != "-" and kb.parse_int(parts[1]) is None):
        return S_TARGET
    _draft(context)["group"] = None if parts[1] == "-" else int(parts[1])
    tr = await translator(update, context)
    await BUILD.enter(update, context, S_CATEGORY)
    await _ask_category(update, tr)
    return S_CATEGORY


async def _ask_category(update: Update, tr: Translator) -> None:
    buttons = [kb.button(str(tr("sv.all_categories")), kb.cb("sv", "ct", "-"))]
    buttons += [kb.button(str(tr(f"sv.cat.{c}")), kb.cb("sv", "ct", c)) for c in CATEGORIES]
    await edit_or_reply(update, tr("sv.choose_category"), kb.inline(kb.columns(buttons)))


async def category_chosen(update: Update, context: Ctx) -> int:
    await answer(update)
    parts = kb.parse(_data(update), "sv", 2)
    if parts is None or parts[1] not in ("-", *CATEGORIES):
        return S_CATEGORY
    _draft(context)["category"] = None if parts[1] == "-" else parts[1]
    tr = await translator(update, context)
    await BUILD.enter(update, context, S_DEADLINE)
    await _ask_deadline(update, tr)
    return S_DEADLINE


async def _ask_deadline(update: Update, tr: Translator) -> None:
    buttons = [kb.button(str(tr("sv.days", days=d)), kb.cb("sv", "dl", d)) for d in DEADLINE_DAYS]
    await edit_or_reply(update, tr("sv.choose_deadline"), kb.inline([buttons]))


async def deadline_chosen(update: Update, context: Ctx) -> int:
    await answer(update)
    parts = kb.parse(_data(update), "sv", 2)
    days = kb.parse_int(parts[1]) if parts else None
    if days not in DEADLINE_DAYS:
        return S_DEADLINE
    tr = await translator(update, context)
    draft = _draft(context)
    draft["days"] = days
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
        kb.button(str(tr("sv.publish")), kb.cb("sv", "pub", "yes")),
        kb.button(str(tr("sv.discard")), kb.cb("sv", "pub", "no")),
    ]
    body = "\n".join(lines)
    await edit_or_reply(update, Markup(body if len(body) < 4000 else body[:3990] + "…"), kb.inline([buttons]))


@BUILD.asks(S_TITLE, S_KIND, S_QTEXT, S_OPTS, S_TARGET, S_CATEGORY, S_DEADLINE, S_CONFIRM)
async def _ask_again(update: Update, context: Ctx, state: int) -> int:
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
            groups = await context.services.feedback.scope_groups(who)
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
    parts = kb.parse(_data(update), "sv", 2)
    assert context.user_data is not None
    draft = context.user_data.pop("svb", None) or {}
    if parts is None or parts[1] != "yes" or not draft.get("questions"):
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
    except SurveyProblem as problem:
        await _problem(update, context, problem)
        return ConversationHandler.END
    await edit_or_reply(update, tr("sv.published", id=survey_id, count=invited))
    return ConversationHandler.END


async def finish_first(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    if update.callback_query:
        await answer(update, str(tr("sv.finish_first")))
    else:
        await reply(update, tr("sv.finish_first"))


# --- answering -------------------------------------------------------------------------------------
def render_question(tr: Translator, survey_id: int, progress: Progress) -> tuple[Markup, Any]:
    q = progress.question
    assert q is not None
    head = tr("sv.q_head", n=q.position + 1, total=progress.total, text=q.text)
    rows: list[list[InlineKeyboardButton]] = []
    if q.kind == "single":
        rows = [[kb.button(o, kb.cb("sv", "a", survey_id, q.id, i))] for i, o in enumerate(q.options)]
    elif q.kind == "multi":
        rows = [
            [kb.button(("✅ " if i in progress.partial else "") + o, kb.cb("sv", "a", survey_id, q.id, f"t{i}"))]
            for i, o in enumerate(q.options)
        ]
        rows.append([kb.button(str(tr("sv.multi_done")), kb.cb("sv", "a", survey_id, q.id, "d"))])
        head = Markup(head + "\n" + tr("sv.multi_hint"))
    elif q.kind == "rating":
        rows = [[kb.button(str(n), kb.cb("sv", "a", survey_id, q.id, n)) for n in range(1, 6)]]
        head = Markup(head + "\n" + tr("sv.rating_hint"))
    else:
        head = Markup(head + "\n" + tr("sv.text_hint", limit=MAX_FREE_TEXT))
    return head, kb.inline(rows) if rows else None


async def _show_state(
    update: Update, context: Ctx, survey_id: int, state: str, progress: Progress | None, *, new: bool = False
) -> int:
    """Show the next question (editing the question message; a new one when `new`)."""
    tr = await translator(update, context)
    if state in ("closed", "done", "not_invited"):
        await answer(update, str(tr(f"sv.state.{state}")), alert=True) if update.callback_query else None
        if not update.callback_query:
            await reply(update, tr(f"sv.state.{state}"))
        return ConversationHandler.END
    await answer(update)
    if state == "completed" or progress is None or progress.question is None:
        await edit_or_reply(update, tr("sv.thanks"))
        return ConversationHandler.END
    assert context.user_data is not None
    context.user_data["sv"] = survey_id
    text, markup = render_question(tr, survey_id, progress)
    if update.callback_query and not new:
        await edit_or_reply(update, text, markup)
    else:
        await reply(update, text, markup)
    return S_ANSWER


async def begin_pressed(update: Update, context: Ctx) -> int:
    parts = kb.parse(_data(update), "sv", 2)
    survey_id = kb.parse_int(parts[1]) if parts else None
    who = await actor(update, context)
    if survey_id is None or not who.is_member:
        tr = await translator(update, context)
        await answer(update, str(tr("sv.state.not_invited")), alert=True)
        return ConversationHandler.END
    state, progress = await context.services.surveys.begin(who, survey_id)
    # The invitation keeps its button (to continue later); questions come in their own message.
    return await _show_state(update, context, survey_id, state, progress, new=True)


async def choice_pressed(update: Update, context: Ctx) -> int:
    parts = kb.parse(_data(update), "sv", 4)
    tr = await translator(update, context)
    who = await actor(update, context)
    sid = kb.parse_int(parts[1]) if parts else None
    qid = kb.parse_int(parts[2]) if parts else None
    if parts is None or sid is None or qid is None or not who.is_member:
        await answer(update, str(tr("sv.state.not_invited")), alert=True)
        return ConversationHandler.END
    raw = parts[3]
    raw = "done" if raw == "d" else ("toggle:" + raw[1:] if raw.startswith("t") else raw)
    try:
        state, progress = await context.services.surveys.answer(who, sid, qid, raw)
    except SurveyProblem as problem:
        await answer(update, str(tr(f"sv.problem.{problem.reason}", limit=MAX_FREE_TEXT)))
        return S_ANSWER
    if state == "stale":
        state = "saved"
    return await _show_state(update, context, sid, state, progress)


async def text_answer(update: Update, context: Ctx) -> int:
    assert context.user_data is not None
    survey_id = context.user_data.get("sv")
    who = await actor(update, context)
    if not isinstance(survey_id, int):
        return ConversationHandler.END
    service = context.services.surveys
    state, progress = await service.begin(who, survey_id)
    if state != "ok" or progress is None or progress.question is None:
        return await _show_state(update, context, survey_id, state, progress)
    if progress.question.kind != "text":
        tr = await translator(update, context)
        await reply(update, tr("sv.use_buttons"))
        return S_ANSWER
    try:
        state, progress = await service.answer(who, survey_id, progress.question.id, _text(update) or "")
    except SurveyProblem as problem:
        await _problem(update, context, problem)
        return S_ANSWER
    return await _show_state(update, context, survey_id, state, progress)


# --- results ---------------------------------------------------------------------------------------
async def surveys_command(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    who = await actor(update, context)
    try:
        found = await context.services.surveys.visible(who)
    except AccessDenied:
        await refuse(update, context)
        return
    if not found:
        await reply(update, tr("sv.none"))
        return
    buttons = [[kb.button(f"#{s.id} {s.title}"[:60], kb.cb("sv", "r", s.id))] for s in found]
    await reply(update, tr("sv.list"), kb.inline(buttons))


async def results_pressed(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    parts = kb.parse(_data(update), "sv", 2)
    survey_id = kb.parse_int(parts[1]) if parts else None
    if parts is None or survey_id is None or parts[0] not in ("r", "x", "c"):
        await answer(update)
        return
    who = await actor(update, context)
    service = context.services.surveys
    try:
        results = await service.results(who, survey_id)
    except AccessDenied:
        await answer(update, str(tr("sv.state.not_invited")), alert=True)
        return
    await answer(update)
    chat = update.effective_chat
    assert chat is not None

    def label(key: str) -> str:
        return str(tr(f"sv.col.{key}"))

    if parts[0] == "x":
        xlsx = service.xlsx_bytes(results, label)
        await send_direct(update, context, lambda: chat.send_document(xlsx, filename=f"survey-{survey_id}.xlsx"),
                          what="survey export")
        return
    if parts[0] == "c":
        csv = service.csv_bytes(results, label)
        await send_direct(update, context, lambda: chat.send_document(csv, filename=f"survey-{survey_id}.csv"),
                          what="survey export")
        return
    lines = [
        tr(
            "sv.results_head",
            title=results.survey.title,
            done=results.completed,
            invited=results.survey.invited,
            rate=results.rate,
        )
    ]
    for r in results.questions:
        lines.append(tr("sv.results_q", n=r.question.position + 1, text=r.question.text, answered=r.answered))
        if r.question.kind in ("single", "multi"):
            lines += [
                tr("sv.results_option", option=o, count=r.counts[i], percent=r.percent(i))
                for i, o in enumerate(r.question.options)
            ]
        elif r.question.kind == "rating":
            lines.append(tr("sv.results_average", average=f"{r.average:.2f}" if r.average else "—"))
        else:
            lines += [tr("sv.results_text", text=t[:200]) for t in r.texts[:10]]
    body = "\n".join(lines)
    buttons = [kb.button("XLSX", kb.cb("sv", "x", survey_id)), kb.button("CSV", kb.cb("sv", "c", survey_id))]
    await edit_or_reply(update, Markup(body if len(body) < 4000 else body[:3990] + "…"), kb.inline([buttons]))


# --- start-up and registration ------------------------------------------------------------------------
def make_message_factory(catalog: Catalog, zone: Any) -> Any:
    def build(survey_id: int, title: str, deadline: datetime, lang: str, reminder: bool) -> tuple[str, dict[str, Any]]:
        language: Language = "en" if lang == "en" else "zh-Hans"
        due = deadline.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        key = "sv.reminder" if reminder else "sv.invite"
        text = str(catalog.text(language, key, title=title, due=due))
        label = str(catalog.text(language, "sv.start_button"))
        return text, {"inline_keyboard": [[{"text": label, "callback_data": kb.cb("sv", "go", survey_id)}]]}

    return build


async def run_due_job(context: Ctx) -> None:
    await context.services.surveys.run_due()


async def on_startup(app: LiaisonApp) -> None:
    services = app.bot_data.services
    assert services is not None
    services.surveys.message = make_message_factory(services.catalog, services.settings.zone)
    await services.surveys.run_due()
    if app.job_queue is not None:
        app.job_queue.run_repeating(run_due_job, interval=60, first=60, name="survey_due")


def _conversations() -> tuple[ConversationHandler[Ctx], ConversationHandler[Ctx]]:
    fallbacks: list[BaseHandler[Update, Ctx, Any]] = [
        common.cancel_fallback(),
        MessageHandler(filters.COMMAND & common.COMMAND_FILTER, finish_first),
    ]
    build = ConversationHandler(
        entry_points=[CommandHandler("survey", build_start, filters=PRIVATE)],
        states={
            S_TITLE: [MessageHandler(TEXT, title_received)],
            S_KIND: [CallbackQueryHandler(kind_chosen, pattern=r"^sv:qk:")],
            S_QTEXT: [MessageHandler(TEXT, question_text)],
            S_OPTS: [MessageHandler(TEXT, options_received)],
            S_TARGET: [CallbackQueryHandler(target_chosen, pattern=r"^sv:tg:")],
            S_CATEGORY: [CallbackQueryHandler(category_chosen, pattern=r"^sv:ct:")],
            S_DEADLINE: [CallbackQueryHandler(deadline_chosen, pattern=r"^sv:dl:")],
            S_CONFIRM: [CallbackQueryHandler(publish_chosen, pattern=r"^sv:pub:")],
        },
        fallbacks=fallbacks,
        name="survey_build",
        persistent=True,
        per_message=False,
    )
    respond = ConversationHandler(
        entry_points=[
            CallbackQueryHandler(begin_pressed, pattern=r"^sv:go:"),
            CallbackQueryHandler(choice_pressed, pattern=r"^sv:a:"),
        ],
        states={
            S_ANSWER: [
                CallbackQueryHandler(begin_pressed, pattern=r"^sv:go:"),
                CallbackQueryHandler(choice_pressed, pattern=r"^sv:a:"),
                MessageHandler(TEXT, text_answer),
            ]
        },
        fallbacks=fallbacks[:1],
        name="survey_answer",
        persistent=True,
        per_message=False,
    )
    return build, respond


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    build, respond = _conversations()
    app.add_handler(BUILD.protect(app, build))
    app.add_handler(respond)
    app.add_handler(CommandHandler("surveys", surveys_command, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(results_pressed, pattern=r"^sv:(r|x|c):"))
    menu.add("survey", "cmd.survey", Role.COORDINATOR)
    menu.add("surveys", "cmd.surveys", Role.COORDINATOR)
