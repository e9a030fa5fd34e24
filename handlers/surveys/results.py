"""/surveys: a coordinator sees a questionnaire's results (answers inside their scope) and exports them."""

from __future__ import annotations

from telegram import Update

from bot.context import Ctx
from bot.i18n import Markup
from bot.labels import label
from bot.roles import AccessDenied
from bot.surveys import callbacks as cb
from bot.surveys.export import csv_bytes, xlsx_bytes
from bot.text import split_html, truncate_text
from handlers import keyboards as kb
from handlers.base import actor, answer, edit_or_reply, refuse, reply, send_direct, translator
from handlers.buttons import press


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
    buttons = [[kb.button(f"#{s.id} {s.title}"[:60], cb.RESULTS.data(id=s.id))] for s in found]
    await reply(update, tr("sv.list"), kb.inline(buttons))


async def results_pressed(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    pressed = press(update, cb.RESULTS) or press(update, cb.XLSX) or press(update, cb.CSV)
    if pressed is None:
        await answer(update)
        return
    survey_id = pressed.num("id")
    who = await actor(update, context)
    try:
        results = await context.services.surveys.results(who, survey_id)
    except AccessDenied:
        await answer(update, str(tr("sv.state.not_invited")), alert=True)
        return
    await answer(update)
    chat = update.effective_chat
    assert chat is not None
    if pressed.button is cb.XLSX:
        xlsx = xlsx_bytes(results, tr)
        await send_direct(update, context, lambda: chat.send_document(xlsx, filename=f"survey-{survey_id}.xlsx"),
                          what="survey export")
        return
    if pressed.button is cb.CSV:
        data = csv_bytes(results, tr)
        await send_direct(update, context, lambda: chat.send_document(data, filename=f"survey-{survey_id}.csv"),
                          what="survey export")
        return
    lines = [
        tr("sv.results_head", title=results.survey.title, done=results.completed, invited=results.invited,
           rate=results.rate),
        tr("sv.results_status", status=label(tr, "survey_status", results.survey.status)),
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
            lines += [tr("sv.results_text", text=truncate_text(t, 200)) for t in r.texts[:10]]
    body = "\n".join(lines)
    buttons = [kb.button("XLSX", cb.XLSX.data(id=survey_id)), kb.button("CSV", cb.CSV.data(id=survey_id))]
    # long results: parts cut at safe boundaries (never inside a tag or an entity), Telegram's units;
    # the first replaces the pressed message, the export buttons go on the last
    parts = split_html(body)
    if len(parts) == 1:
        await edit_or_reply(update, Markup(parts[0]), kb.inline([buttons]))
        return
    await edit_or_reply(update, Markup(parts[0]))
    for n, part in enumerate(parts[1:], start=2):
        await reply(update, Markup(part), kb.inline([buttons]) if n == len(parts) else None)
