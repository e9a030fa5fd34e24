"""Ledger commands: /stats, /summary, /export (coordinators, scoped), /audit (owners), /myrecord.

Callback data (re-checked on every press):
  lg:s:<period code>   statistics of a period      lg:c:<period code>   its charts
  lg:y:<period code>   period summary PDF          lg:cp:<s|y>          type a custom period
  lg:a:<page>:<action prefix or ->:<actor id or ->  audit log page
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

from telegram import InlineKeyboardMarkup, InputMediaPhoto, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    JobQueue,
    MessageHandler,
    filters,
)

from bot import reports
from bot.context import Ctx, LiaisonApp
from bot.i18n import Markup, Translator
from bot.ledger import (
    BadPeriod,
    MemberRecord,
    Period,
    Stats,
    median_hours,
    parse_period,
    period_from_code,
    scope_paths,
)
from bot.roles import Actor, Role
from handlers import common
from handlers import keyboards as kb
from handlers.base import actor, answer, edit_or_reply, pressed, refuse, reply, send_direct, translator
from handlers.menu import CommandMenu

log = logging.getLogger(__name__)
TYPING_PERIOD = 1
MAX_LIST_LINES = 30
_AUDIT_PREFIX = re.compile(r"^[a-z][a-z0-9_.]{0,29}$")
PROGRESS_EVERY_S = 1.0


# --- helpers ----------------------------------------------------------------------------------
async def _coordinator(update: Update, context: Ctx) -> Actor | None:
    who = await actor(update, context)
    if not who.is_coordinator or who.scope.empty:
        await refuse(update, context)
        return None
    return who


def period_keyboard(tr: Translator, mode: str, current: Period | None, services_month: Period,
                    services_year: Period) -> InlineKeyboardMarkup:
    rows = [
        [
            kb.button(str(tr("ledger.period.month")), kb.cb("lg", mode, services_month.code)),
            kb.button(str(tr("ledger.period.year")), kb.cb("lg", mode, services_year.code)),
            kb.button(str(tr("ledger.period.custom")), kb.cb("lg", "cp", mode)),
        ]
    ]
    if mode == "s" and current is not None:
        rows.append([
            kb.button(str(tr("ledger.stats.charts")), kb.cb("lg", "c", current.code)),
            kb.button(str(tr("ledger.stats.summary")), kb.cb("lg", "y", current.code)),
        ])
    return kb.inline(rows)


def join_within(lines: list[str], limit: int = 4000) -> str:
    """Join whole lines up to Telegram's limit (never cutting a tag or an entity in half)."""
    out: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > limit:
            out.append("…")
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


def _lines(items: list[Markup], more_key: str, tr: Translator) -> list[Markup]:
    if len(items) <= MAX_LIST_LINES:
        return items
    return [*items[:MAX_LIST_LINES], tr(more_key, count=len(items) - MAX_LIST_LINES)]


def render_stats(tr: Translator, stats: Stats, refresh_days: int) -> str:
    m = stats.members
    parts: list[str] = [
        tr("ledger.stats.title", period=stats.period.label),
        tr("ledger.stats.members", active=m.active, total=m.total, joined=m.joined_in_period),
        tr("ledger.stats.attention", pending=m.pending_approvals, unreachable=m.unreachable,
           stale=m.stale_profiles, days=refresh_days),
        tr("ledger.stats.by_category"),
    ]
    none = str(tr("ledger.category.none"))
    parts += [
        str(tr("ledger.stats.category_line", category=c.category or none, active=c.active, former=c.left + c.erased))
        for c in m.by_category
    ] or [str(tr("ledger.stats.empty"))]
    parts += [activity_line(tr, stats), feedback_line(tr, stats), notice_line(tr, stats)]
    parts.append(tr("ledger.stats.by_group"))
    group_lines = [tr("ledger.stats.group_line", name=g.name, active=g.active, pending=g.pending) for g in m.by_group]
    parts += [str(x) for x in _lines(group_lines, "ledger.stats.more", tr)] or [str(tr("ledger.stats.empty"))]
    return join_within(parts)


def activity_line(tr: Translator, stats: Stats) -> str:
    a = stats.activities
    rate = a.attendance_rate
    return str(tr(
        "ledger.stats.activities", held=a.held, signups=a.signups, attended=a.attended,
        rate="—" if rate is None else f"{rate * 100:.1f}%", no_shows=a.no_shows,
    ))


def feedback_line(tr: Translator, stats: Stats) -> str:
    f = stats.feedback
    kinds = "，".join(f"{reports.kind_label(reports.plain(tr), k)} {n}" for k, n in sorted(f.by_kind().items()))
    hours = median_hours(f.answer_seconds)
    return str(tr(
        "ledger.stats.feedback", received=f.received, kinds=kinds or "—", answered=f.answered,
        median="—" if hours is None else str(tr("ledger.hours", hours=f"{hours:.1f}")), overdue=f.overdue,
    ))


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def notice_line(tr: Translator, stats: Stats) -> str:
    n = stats.notices
    return str(tr(
        "ledger.stats.notices", sent=n.sent, recipients=n.recipients, delivered=n.delivered,
        delivery=_pct(n.delivery_rate), acked=n.acknowledged, ack=_pct(n.ack_rate),
    ))


def render_record(tr: Translator, record: MemberRecord, zone: Any) -> str:
    """A member's participation record (used by /myrecord and by the member card)."""
    b = record.basics
    lines = [
        tr("ledger.record.title", name=b.name or "—"),
        tr("ledger.record.since", date=b.registered_at.astimezone(zone).date().isoformat()),
        tr("ledger.record.groups", groups=", ".join(b.groups) or "—"),
        tr("ledger.record.activities", attended=len(record.attended), signed_up=record.signed_up,
           hours=f"{record.hours:.1f}"),
    ]
    text = reports.plain(tr)
    given = "，".join(f"{reports.kind_label(text, k)} {n}" for k, n in record.feedback.items())
    lines.append(tr("ledger.record.feedback", count=sum(record.feedback.values()), kinds=given or "—"))
    lines += [
        tr("ledger.record.activity_line", date=a.starts_at.astimezone(zone).date().isoformat(), title=a.title)
        for a in record.attended[:10]
    ]
    return "\n".join(str(x) for x in lines)


async def _period_press(update: Update, context: Ctx) -> tuple[Actor, Period] | None:
    """A coordinator's press of `lg:<x>:<period code>`: the caller and the period.

    None once the press is refused (not a coordinator) or answered (forged data, unknown period).
    """
    parts = pressed(update, "lg", 2)
    who = await _coordinator(update, context)
    if who is None:
        return None  # refused (the callback is answered with the refusal)
    try:
        period = period_from_code(parts[1], context.services.ledger.zone) if parts else None
    except BadPeriod:
        period = None
    if period is None:
        await answer(update)
        return None
    return who, period


# --- /stats -----------------------------------------------------------------------------------
async def stats_command(update: Update, context: Ctx) -> None:
    who = await _coordinator(update, context)
    if who is None:
        return
    tr = await translator(update, context)
    period = await _typed_period(update, context, tr) if context.args else context.services.ledger.this_month()
    if period is not None:
        await _send_stats(update, context, who, period, tr)


async def _typed_period(update: Update, context: Ctx, tr: Translator) -> Period | None:
    """The period typed after the command (``2026-01-01 2026-06-30``); None after telling the caller."""
    try:
        return parse_period(" ".join(context.args or []), context.services.ledger.zone)
    except BadPeriod:
        await reply(update, tr("ledger.period.bad"))
        return None


async def _send_stats(update: Update, context: Ctx, who: Actor, period: Period, tr: Translator) -> None:
    ledger = context.services.ledger
    stats = await ledger.stats(who.scope, period)
    text = render_stats(tr, stats, context.services.settings.profile_refresh_days)
    await edit_or_reply(update, text, period_keyboard(tr, "s", period, ledger.this_month(), ledger.this_year()))


async def stats_button(update: Update, context: Ctx) -> None:
    press = await _period_press(update, context)
    if press is None:
        return
    who, period = press
    await answer(update)
    await _send_stats(update, context, who, period, await translator(update, context))


async def charts_button(update: Update, context: Ctx) -> None:
    press = await _period_press(update, context)
    if press is None:
        return
    who, period = press
    if update.effective_chat is None:
        await answer(update)
        return
    tr = await translator(update, context)
    await answer(update, str(tr("ledger.charts.working")))
    stats = await context.services.ledger.stats(who.scope, period)
    images = await asyncio.to_thread(_render_pngs, stats, reports.plain(tr))
    caption = str(tr("ledger.charts.caption", period=period.label))
    chat_id = update.effective_chat.id

    def album() -> list[InputMediaPhoto]:  # built from bytes for each attempt (a 429 is retried)
        return [
            InputMediaPhoto(data, caption=caption if index == 0 else None, parse_mode=ParseMode.HTML,
                            filename=f"{name}.png")
            for index, (name, data) in enumerate(images)
        ]

    # One album (sendMediaGroup): one request instead of a burst of photos in a private chat.
    await send_direct(update, context, lambda: context.bot.send_media_group(chat_id, media=album()),
                      what="ledger charts")


def _render_pngs(stats: Stats, text: reports.Text) -> list[tuple[str, bytes]]:
    from bot.charts import png

    return [(name, png(fig)) for name, fig in reports.stats_charts(stats, text)]


# --- custom period (a tiny conversation) -----------------------------------------------------------
async def custom_period(update: Update, context: Ctx) -> int:
    parts = pressed(update, "lg", 2)
    who = await _coordinator(update, context)
    if who is None:
        return ConversationHandler.END
    if parts is None or parts[1] not in ("s", "y"):
        await answer(update)
        return ConversationHandler.END
    await answer(update)
    if context.user_data is not None:
        context.user_data["ledger_mode"] = parts[1]
    tr = await translator(update, context)
    await reply(update, tr("ledger.period.ask"))
    return TYPING_PERIOD


async def period_typed(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    message = update.effective_message
    try:
        period = parse_period(message.text if message and message.text else "", context.services.ledger.zone)
    except BadPeriod:
        await reply(update, tr("ledger.period.bad"))
        return TYPING_PERIOD
    who = await _coordinator(update, context)
    mode = context.user_data.pop("ledger_mode", "s") if context.user_data is not None else "s"
    if who is None:
        return ConversationHandler.END
    if mode == "y":
        await _send_summary(update, context, who, period, tr)
    else:
        await _send_stats(update, context, who, period, tr)
    return ConversationHandler.END


# --- /summary -------------------------------------------------------------------------------------
async def summary_command(update: Update, context: Ctx) -> None:
    who = await _coordinator(update, context)
    if who is None:
        return
    tr = await translator(update, context)
    ledger = context.services.ledger
    if context.args:
        period = await _typed_period(update, context, tr)
        if period is not None:
            await _send_summary(update, context, who, period, tr)
        return
    await reply(update, tr("ledger.summary.choose"),
                period_keyboard(tr, "y", None, ledger.this_month(), ledger.this_year()))


async def summary_button(update: Update, context: Ctx) -> None:
    press = await _period_press(update, context)
    if press is None:
        return
    who, period = press
    tr = await translator(update, context)
    await answer(update, str(tr("ledger.summary.working")))
    await _send_summary(update, context, who, period, tr)


async def _send_summary(update: Update, context: Ctx, who: Actor, period: Period, tr: Translator) -> None:
    if update.effective_chat is None:
        return
    services = context.services
    stats = await services.ledger.stats(who.scope, period)
    sections = await services.ledger.summary_sections(who.scope, period, reports.plain(tr))
    now = services.clock.now()
    data = await asyncio.to_thread(reports.build_summary_pdf, stats, reports.plain(tr), sections, now)
    await services.ledger.audit_read(now, who.user_id, "ledger.summary", {"period": period.code})
    chat_id, caption = update.effective_chat.id, str(tr("ledger.summary.caption", period=period.label))
    await send_direct(
        update, context,
        lambda: context.bot.send_document(chat_id, document=data, filename=f"summary-{period.code}.pdf",
                                          caption=caption, parse_mode=ParseMode.HTML),
        what="ledger summary",
    )


# --- /export --------------------------------------------------------------------------------------
async def export_command(update: Update, context: Ctx) -> None:
    who = await _coordinator(update, context)
    if who is None or update.effective_chat is None:
        return
    tr = await translator(update, context)
    services = context.services
    status = await reply(update, tr("ledger.export.progress", percent=0))
    progress = reports.Progress()
    paths, zone = scope_paths(who.scope), services.ledger.zone
    task = asyncio.ensure_future(
        asyncio.to_thread(reports.build_export, services.db.path, paths, reports.plain(tr), zone, progress)
    )
    shown = 0
    while not task.done():
        await asyncio.wait({task}, timeout=PROGRESS_EVERY_S)
        percent = progress.percent
        if not task.done() and status is not None and percent != shown:
            shown = percent
            await _edit_status(status, tr("ledger.export.progress", percent=percent))
    files = task.result()
    now = services.clock.now()
    await services.ledger.audit_read(now, who.user_id, "ledger.export", {"rows": files.rows})
    stamp = now.astimezone(services.ledger.zone).strftime("%Y%m%d")
    chat_id = update.effective_chat.id
    for document, filename in ((files.xlsx, f"ledger-{stamp}.xlsx"), (files.csv_zip, f"ledger-{stamp}-csv.zip")):
        sent = await send_direct(
            update, context, partial(context.bot.send_document, chat_id, document=document, filename=filename),
            what="ledger export",
        )
        if sent is None:  # the user has been asked to try again later
            return
    if status is not None:
        await _edit_status(status, tr("ledger.export.done", rows=sum(files.rows.values())))


async def _edit_status(status: Message, text: str) -> None:
    try:
        await status.edit_text(text, parse_mode=ParseMode.HTML)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise
    except TelegramError as exc:  # progress is cosmetic; the export itself goes on
        log.info("could not update export progress: %s", exc)


# --- /audit ---------------------------------------------------------------------------------------
async def audit_command(update: Update, context: Ctx) -> None:
    who = await actor(update, context)
    if not who.is_owner:
        await refuse(update, context)
        return
    tr = await translator(update, context)
    prefix: str | None = None
    actor_id: int | None = None
    for arg in context.args or []:
        if arg.isdigit() and len(arg) <= 15:
            actor_id = int(arg)
        elif _AUDIT_PREFIX.match(arg):
            prefix = arg
        else:
            await reply(update, tr("ledger.audit.usage"))
            return
    await _show_audit(update, context, 0, prefix, actor_id, tr)


async def audit_button(update: Update, context: Ctx) -> None:
    parts = pressed(update, "lg", 4)
    who = await actor(update, context)
    if not who.is_owner:
        await refuse(update, context)
        return
    page = kb.parse_int(parts[1]) if parts else None
    if parts is None or page is None:
        await answer(update)
        return
    prefix = parts[2] if parts[2] != "-" and _AUDIT_PREFIX.match(parts[2]) else None
    actor_id = kb.parse_int(parts[3]) if parts[3] != "-" else None
    await answer(update)
    await _show_audit(update, context, page, prefix, actor_id, await translator(update, context))


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
    base = f"lg:a:{{}}:{prefix or '-'}:{actor_id if actor_id is not None else '-'}"
    nav: list[Any] = []
    if result.page > 0:
        nav.append(kb.button(str(tr("ledger.prev")), kb.cb(base.format(result.page - 1))))
    if result.pages > 1:
        nav.append(kb.button(f"{result.page + 1}/{result.pages}", kb.cb("noop")))
    if result.page + 1 < result.pages:
        nav.append(kb.button(str(tr("ledger.next")), kb.cb(base.format(result.page + 1))))
    await edit_or_reply(update, join_within(lines), kb.inline([nav]) if nav else None)


async def stats_home(update: Update, context: Ctx) -> None:
    """Home-menu button: this month's figures."""
    who = await _coordinator(update, context)
    if who is None:
        return  # refused (the callback is answered with the refusal)
    await answer(update)
    await _send_stats(update, context, who, context.services.ledger.this_month(), await translator(update, context))


async def record_home(update: Update, context: Ctx) -> None:
    await answer(update)
    await myrecord_command(update, context)


# --- /myrecord ------------------------------------------------------------------------------------
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


# --- scheduled backup --------------------------------------------------------------------------------
async def _backup_job(context: Ctx) -> None:
    services = context.application.bot_data.services
    if services is None:
        return
    await services.backup.run_due()
    _arm_backup(context.job_queue, await services.backup.due_at(), services.clock.now())


def _arm_backup(queue: JobQueue[Any] | None, due: datetime | None, now: datetime) -> None:
    if due is None or queue is None:
        return
    for job in queue.get_jobs_by_name("ledger.backup"):
        job.schedule_removal()
    delay = max(timedelta(0), due - now)
    queue.run_once(_backup_job, when=delay.total_seconds(), name="ledger.backup")


async def on_startup(app: LiaisonApp) -> None:
    """Create the backup schedule row if missing and arm it (a missed run happens now)."""
    services = app.bot_data.services
    if services is None:
        return
    _arm_backup(app.job_queue, await services.backup.arm(), services.clock.now())


def period_conversation() -> ConversationHandler[Ctx]:
    text_only = filters.TEXT & ~filters.COMMAND & common.COMMAND_FILTER
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(custom_period, pattern=r"^lg:cp:")],
        states={TYPING_PERIOD: [MessageHandler(text_only, period_typed)]},
        # cancel_fallback() is CommandHandler[Ctx, int]; the fallbacks list is invariant in it.
        fallbacks=[cast("BaseHandler[Update, Ctx, object]", common.cancel_fallback())],
        name="ledger_period",
        persistent=True,
        per_message=False,
        allow_reentry=True,
    )


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    # Ledger data is personal data: only ever shown in the private chat with the bot.
    private = common.COMMAND_FILTER & filters.ChatType.PRIVATE
    app.add_handler(period_conversation())
    app.add_handler(CommandHandler("stats", stats_command, filters=private))
    app.add_handler(CommandHandler("summary", summary_command, filters=private))
    app.add_handler(CommandHandler("export", export_command, filters=private))
    app.add_handler(CommandHandler("audit", audit_command, filters=private))
    app.add_handler(CommandHandler("myrecord", myrecord_command, filters=private))
    app.add_handler(CallbackQueryHandler(stats_button, pattern=r"^lg:s:"))
    app.add_handler(CallbackQueryHandler(charts_button, pattern=r"^lg:c:"))
    app.add_handler(CallbackQueryHandler(summary_button, pattern=r"^lg:y:"))
    app.add_handler(CallbackQueryHandler(audit_button, pattern=r"^lg:a:"))
    app.add_handler(CallbackQueryHandler(stats_home, pattern=r"^lg:h$"))
    app.add_handler(CallbackQueryHandler(record_home, pattern=r"^lg:r$"))
    menu.add_home("ledger.home.stats", "lg:h", Role.COORDINATOR)
    menu.add_home("ledger.home.record", "lg:r", Role.MEMBER)
    menu.add("myrecord", "cmd.myrecord", Role.MEMBER)
    menu.add("stats", "cmd.stats", Role.COORDINATOR)
    menu.add("summary", "cmd.summary", Role.COORDINATOR)
    menu.add("export", "cmd.export", Role.COORDINATOR)
    menu.add("audit", "cmd.audit", Role.OWNER)
