"""Members answer a questionnaire with buttons (and text for open questions).

A guided flow started by the invitation's Start button (or an answer button): the current question
comes from the database on every answer, so a restart loses nothing; any command ends the flow
(the invitation's Start button continues where the member stopped).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler, MessageHandler, filters

from bot.context import Ctx, LiaisonApp
from bot.errors import Refusal
from bot.i18n import Markup, Translator
from bot.surveys import MAX_FREE_TEXT, Progress
from bot.surveys import callbacks as cb
from handlers import keyboards as kb
from handlers.base import actor, answer, edit_or_reply, reply, translator
from handlers.buttons import on, press
from handlers.flows import guided

if TYPE_CHECKING:
    from bot.services import Services

S_ANSWER = 30
CURRENT = "sv"  # user_data key: the survey being answered


def render_question(tr: Translator, survey_id: int, progress: Progress) -> tuple[Markup, InlineKeyboardMarkup | None]:
    q = progress.question
    assert q is not None
    head = tr("sv.q_head", n=q.position + 1, total=progress.total, text=q.text)
    rows: list[list[InlineKeyboardButton]] = []

    def data(value: str | int) -> str:
        return cb.ANSWER.data(survey=survey_id, question=q.id, value=str(value))

    if q.kind == "single":
        rows = [[kb.button(o, data(i))] for i, o in enumerate(q.options)]
    elif q.kind == "multi":
        rows = [
            [kb.button(("✅ " if i in progress.partial else "") + o, data(f"t{i}"))] for i, o in enumerate(q.options)
        ]
        rows.append([kb.button(str(tr("sv.multi_done")), data("d"))])
        head = Markup(head + "\n" + tr("sv.multi_hint"))
    elif q.kind == "rating":
        rows = [[kb.button(str(n), data(n)) for n in range(1, 6)]]
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
        if update.callback_query:
            await answer(update, str(tr(f"sv.state.{state}")), alert=True)
        else:
            await reply(update, tr(f"sv.state.{state}"))
        return ConversationHandler.END
    await answer(update)
    if state == "completed" or progress is None or progress.question is None:
        await edit_or_reply(update, tr("sv.thanks"))
        return ConversationHandler.END
    assert context.user_data is not None
    context.user_data[CURRENT] = survey_id
    text, markup = render_question(tr, survey_id, progress)
    if update.callback_query and not new:
        await edit_or_reply(update, text, markup)
    else:
        await reply(update, text, markup)
    return S_ANSWER


async def begin_pressed(update: Update, context: Ctx) -> int:
    pressed = press(update, cb.START)
    who = await actor(update, context)
    if pressed is None or not who.is_member:
        tr = await translator(update, context)
        await answer(update, str(tr("sv.state.not_invited")), alert=True)
        return ConversationHandler.END
    survey_id = pressed.num("id")
    state, progress = await context.services.surveys.begin(who, survey_id)
    # The invitation keeps its button (to continue later); questions come in their own message.
    return await _show_state(update, context, survey_id, state, progress, new=True)


async def choice_pressed(update: Update, context: Ctx) -> int:
    pressed = press(update, cb.ANSWER)
    tr = await translator(update, context)
    who = await actor(update, context)
    if pressed is None or not who.is_member:
        await answer(update, str(tr("sv.state.not_invited")), alert=True)
        return ConversationHandler.END
    sid, qid, raw = pressed.num("survey"), pressed.num("question"), pressed.text("value")
    raw = "done" if raw == "d" else ("toggle:" + raw[1:] if raw.startswith("t") else raw)
    try:
        state, progress = await context.services.surveys.answer(who, sid, qid, raw)
    except Refusal as refusal:
        await answer(update, str(tr(refusal.key, **refusal.values)))
        return S_ANSWER
    return await _show_state(update, context, sid, "saved" if state == "stale" else state, progress)


async def text_answer(update: Update, context: Ctx) -> int:
    assert context.user_data is not None
    survey_id = context.user_data.get(CURRENT)
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
    message = update.effective_message
    text = (message.text if message else None) or ""
    try:
        state, progress = await service.answer(who, survey_id, progress.question.id, text)
    except Refusal as refusal:
        tr = await translator(update, context)
        await reply(update, tr(refusal.key, **refusal.values))
        return S_ANSWER
    return await _show_state(update, context, survey_id, state, progress)


def register(app: LiaisonApp) -> None:
    app.add_handler(
        guided(
            app,
            "survey_answer",
            title_key="flow.survey_answer",
            entry_points=[on(cb.START, begin_pressed), on(cb.ANSWER, choice_pressed)],
            states={
                S_ANSWER: [
                    on(cb.START, begin_pressed),
                    on(cb.ANSWER, choice_pressed),
                    MessageHandler(filters.TEXT & ~filters.COMMAND, text_answer),
                ]
            },
        )
    )


async def my_data(services: Services, member_id: int) -> dict[str, Any]:
    """The questionnaires part of /mydata: the member's own responses and answers."""
    responses = await services.surveys.responses_of(member_id)
    if not responses:
        return {}
    return {
        "responses": [
            {
                "questionnaire": r.title,
                "started_at": r.started_at.isoformat(),
                "completed_at": r.completed_at.isoformat() if r.completed_at else None,
                "answers": [{"question": q, "answer": a} for q, a in r.answers],
            }
            for r in responses
        ]
    }
