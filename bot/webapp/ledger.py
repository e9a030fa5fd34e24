"""The 台账 (ledger) view of the Mini App: figures for charts and drill-down, and the documents
(workbook, summary PDF) sent to the coordinator's own chat.

The figures are the ledger's own counts (storage/ledger.py through `LedgerService.repo`), kept
by bot/webapp/cache.py: at most `cache.FRESH_S` old, recounted in the background. The documents
come from `LedgerService.export` / `summary_pdf`, which audit the read (ledger.export,
ledger.summary), exactly as /export and /summary in the chat.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.errors import Refusal
from bot.ledger import Period, period_from_code, reports
from bot.ledger.models import ActivityFigures, FeedbackFigures, NoticeFigures, Stats
from bot.roles import Actor
from bot.services import Services
from bot.webapp import cache
from bot.webapp.views import BadRequest, SendFile, _label, coordinator, lang_of


def _period(services: Services, code: str | None) -> Period:
    if not code:
        return services.ledger.this_year()
    try:
        return period_from_code(code, services.ledger.zone)
    except Refusal as exc:
        raise BadRequest("bad period") from exc


async def _count_figures(services: Services, actor: Actor, period: Period) -> Stats:
    """The figures the 台账 view shows (members, activities, notices: the ledger's own counts; the
    feedback figures of /stats are not shown here and not counted)."""
    repo, now = services.ledger.repo, services.clock.now()
    paths = actor.scope.paths_or_none
    stale_before = now - timedelta(days=services.settings.profile_refresh_days)
    members = await repo.member_figures(paths, period.start, period.end, stale_before)
    activities = await repo.activity_rows(paths, period.start, period.end, now)
    notices = await repo.notice_rows(paths, period.start, period.end)
    return Stats(period, members, ActivityFigures(activities, now), FeedbackFigures({}, 0, [], 0),
                 NoticeFigures(notices))


async def _stats(services: Services, actor: Actor, period: Period) -> Stats:
    """The 台账's figures for (scope, period), from the Mini App's cache (bot/webapp/cache.py)."""
    key = ("ledger", actor.scope.paths_or_none, period.code)
    found: Stats = await cache.of(services.db).figures.get(key, lambda: _count_figures(services, actor, period))
    return found


async def ledger(services: Services, actor: Actor, q: dict[str, str], lang: str) -> dict[str, Any]:
    coordinator(actor)
    period = _period(services, q.get("period"))
    stats = await _stats(services, actor, period)
    tr = services.catalog.for_lang(lang_of(lang))
    m = stats.members
    return {
        "period": {"code": period.code, "first": period.first.isoformat(), "last": period.last.isoformat()},
        "periods": {"month": services.ledger.this_month().code, "year": services.ledger.this_year().code},
        "members": {"total": m.total, "active": m.active, "pending_approvals": m.pending_approvals,
                    "joined": m.joined_in_period, "stale": m.stale_profiles, "unreachable": m.unreachable},
        "by_category": [{"key": c.category, "label": _label(tr, "category", c.category) or "—",
                         "active": c.active, "pending": c.pending} for c in m.by_category],
        "by_group": [{"id": g.group_id, "name": g.name, "active": g.active, "pending": g.pending}
                     for g in m.by_group],
        "activities": {"held": stats.activities.held, "signups": stats.activities.signups,
                       "attended": stats.activities.attended,
                       "monthly": [[d.isoformat(), a, b] for d, a, b in stats.activities.monthly(period)]},
        "notices": {"sent": stats.notices.sent, "recipients": stats.notices.recipients,
                    "acknowledged": stats.notices.acknowledged},
    }


async def export(services: Services, actor: Actor, lang: str, send_file: SendFile | None) -> dict[str, Any]:
    """The scoped ledger as an XLSX workbook, sent to the coordinator's chat (audited: ledger.export)."""
    coordinator(actor)
    if send_file is None:
        raise BadRequest("files cannot be sent from here")
    tr = services.catalog.for_lang(lang_of(lang))
    files = await services.ledger.export(actor, reports.plain(tr), reports.Progress())
    stamp = services.clock.now().astimezone(services.ledger.zone).strftime("%Y%m%d")
    name = f"ledger-{stamp}.xlsx"
    rows = sum(files.rows.values())
    await send_file(actor.user_id, name, files.xlsx, str(reports.plain(tr)("ledger.export.done", rows=rows)), False)
    return {"sent": True, "file": name, "rows": rows}


async def summary(services: Services, actor: Actor, q: dict[str, str], lang: str,
                  send_file: SendFile | None) -> dict[str, Any]:
    """The period's work summary (工作总结) as a PDF, sent to the coordinator's chat (audited)."""
    coordinator(actor)
    if send_file is None:
        raise BadRequest("files cannot be sent from here")
    period = _period(services, q.get("period"))
    tr = services.catalog.for_lang(lang_of(lang))
    data = await services.ledger.summary_pdf(actor, period, reports.plain(tr))
    name = f"summary-{period.code}.pdf"
    await send_file(actor.user_id, name, data, reports.plain(tr)("ledger.summary.caption", period=period.label), False)
    return {"sent": True, "file": name}
