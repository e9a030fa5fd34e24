"""/stats: the scoped figures of a period, its period buttons, the charts album, the home button."""

from __future__ import annotations

import asyncio

from telegram import InputMediaPhoto, Update
from telegram.constants import ParseMode

from bot.context import Ctx
from bot.errors import Refusal
from bot.i18n import Translator
from bot.ledger import reports
from bot.ledger.callbacks import CHARTS, STATS
from bot.ledger.models import FEEDBACK_KIND, Stats, Text, median_hours, shown
from bot.ledger.periods import Period, parse_period
from bot.roles import Actor
from handlers import webapp
from handlers.base import answer, edit_or_reply, reply, send_direct, translator
from handlers.ledger.shared import capped, coordinator, join_within, period_keyboard, period_press


def render_stats(tr: Translator, stats: Stats, refresh_days: int) -> str:
    m = stats.members
    text = reports.plain(tr)
    parts: list[str] = [
        tr("ledger.stats.title", period=stats.period.label),
        tr("ledger.stats.members", active=m.active, total=m.total, joined=m.joined_in_period),
        tr("ledger.stats.attention", pending=m.pending_approvals, unreachable=m.unreachable,
           stale=m.stale_profiles, days=refresh_days),
        tr("ledger.stats.by_category"),
    ]
    parts += [
        str(tr("ledger.stats.category_line", category=reports.category_label(text, c.category), active=c.active,
               former=c.left + c.erased))
        for c in m.by_category
    ] or [str(tr("ledger.stats.empty"))]
    parts += [activity_line(tr, stats), feedback_line(tr, stats), notice_line(tr, stats)]
    parts.append(tr("ledger.stats.by_group"))
    group_lines = [tr("ledger.stats.group_line", name=g.name, active=g.active, pending=g.pending) for g in m.by_group]
    parts += [str(x) for x in capped(group_lines, "ledger.stats.more", tr)] or [str(tr("ledger.stats.empty"))]
    return join_within(parts)


def activity_line(tr: Translator, stats: Stats) -> str:
    """Activities held (and, on a line of their own, those still to come with their sign-ups)."""
    a = stats.activities
    line = str(tr(
        "ledger.stats.activities", held=a.held, signups=a.signups, attended=a.attended,
        rate=_pct(a.attendance_rate), no_shows=a.no_shows,
    ))
    if a.upcoming:
        line += "\n" + str(tr("ledger.stats.upcoming", count=len(a.upcoming), signups=a.upcoming_signups))
    return line


def kinds_of(text: Text, counts: dict[str, int]) -> str:
    """'Complaint 1, Suggestion 2' / '投诉 1，建议 2': feedback kinds in words, with their counts."""
    return str(text("ledger.list_sep")).join(f"{shown(text, FEEDBACK_KIND, k)} {n}" for k, n in sorted(counts.items()))


def feedback_line(tr: Translator, stats: Stats) -> str:
    f = stats.feedback
    hours = median_hours(f.answer_seconds)
    return str(tr(
        "ledger.stats.feedback", received=f.received, kinds=kinds_of(reports.plain(tr), f.by_kind()) or "—",
        answered=f.answered, median="—" if hours is None else str(tr("ledger.hours", hours=f"{hours:.1f}")),
        overdue=f.overdue,
    ))


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def notice_line(tr: Translator, stats: Stats) -> str:
    n = stats.notices
    return str(tr(
        "ledger.stats.notices", sent=n.sent, recipients=n.recipients, delivered=n.delivered,
        delivery=_pct(n.delivery_rate), acked=n.acknowledged, ack=_pct(n.ack_rate),
    ))


async def typed_period(update: Update, context: Ctx, tr: Translator) -> Period | None:
    """The period typed after the command (``2026-01-01 2026-06-30``); None after telling the caller."""
    try:
        return parse_period(" ".join(context.args or []), context.services.ledger.zone)
    except Refusal as refusal:
        await reply(update, tr(refusal.key, **refusal.values))
        return None


async def stats_command(update: Update, context: Ctx) -> None:
    who = await coordinator(update, context)
    if who is None:
        return
    tr = await translator(update, context)
    period = await typed_period(update, context, tr) if context.args else context.services.ledger.this_month()
    if period is not None:
        await send_stats(update, context, who, period, tr)


async def send_stats(update: Update, context: Ctx, who: Actor, period: Period, tr: Translator) -> None:
    ledger = context.services.ledger
    stats = await ledger.stats(who.scope, period)
    text = render_stats(tr, stats, context.services.settings.profile_refresh_days)
    keyboard = period_keyboard(tr, STATS, period, ledger.this_month(), ledger.this_year())
    await edit_or_reply(update, text, webapp.with_desk(keyboard, context.services, tr, "ledger", update))


async def stats_button(update: Update, context: Ctx) -> None:
    found = await period_press(update, context, STATS)
    if found is None:
        return
    who, period = found
    await answer(update)
    await send_stats(update, context, who, period, await translator(update, context))


async def stats_home(update: Update, context: Ctx) -> None:
    """Home-menu button: this month's figures."""
    who = await coordinator(update, context)
    if who is None:
        return  # refused (the callback is answered with the refusal)
    await answer(update)
    await send_stats(update, context, who, context.services.ledger.this_month(), await translator(update, context))


async def charts_button(update: Update, context: Ctx) -> None:
    found = await period_press(update, context, CHARTS)
    if found is None:
        return
    who, period = found
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


def _render_pngs(stats: Stats, text: Text) -> list[tuple[str, bytes]]:
    from bot.ledger.charts import png

    return [(name, png(fig)) for name, fig in reports.stats_charts(stats, text)]
