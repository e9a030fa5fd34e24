"""Documents of the ledger: the charts and the period summary lines; the XLSX workbook (+ CSV zip)
is built by bot/ledger/export.py (re-exported here).

Every stored enum-like value (category, status, kind) is written as its label (`models.shown`),
in the reader's language, in every sheet, chart and page.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot import labels
from bot.i18n import Translator
from bot.ledger.export import Progress, build_export, guarded, html_to_text, local_time
from bot.ledger.models import (
    CATEGORY,
    FEEDBACK_KIND,
    FEEDBACK_STATUS,
    NoticeRow,
    Stats,
    Text,
    median_hours,
    shown,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# matplotlib (about 0.9 s to import) is imported only when a chart or PDF is built, not at start-up.
__all__ = ["Progress", "build_export", "guarded", "html_to_text", "local_time", "plain", "stats_charts"]


def plain(tr: Translator) -> Text:
    """Catalogue texts as plain text (documents are not HTML)."""

    def text(key: str, **values: Any) -> str:
        return html.unescape(str(tr(key, **values)))

    return text


# --- charts ------------------------------------------------------------------------------------
def category_label(text: Text, category: str | None) -> str:
    return shown(text, CATEGORY, category) or text("ledger.category.none")


KINDS = labels.KINDS[FEEDBACK_KIND]
STATUSES = labels.KINDS[FEEDBACK_STATUS]


def kind_label(text: Text, kind: str) -> str:
    return shown(text, FEEDBACK_KIND, kind)


def status_label(text: Text, status: str) -> str:
    return shown(text, FEEDBACK_STATUS, status)


def _rate(part: int, whole: int) -> float:
    return 0.0 if whole == 0 else part * 100 / whole


def notice_label(notice: NoticeRow) -> str:
    words = " ".join(str(html_to_text(notice.text)).split())
    return f"#{notice.notice_id} {words[:14]}"


def stats_charts(stats: Stats, text: Text) -> list[tuple[str, Figure]]:
    """The comparison charts of a statistics answer, as (name, figure)."""
    from bot.ledger import charts

    m = stats.members
    out: list[tuple[str, Figure]] = []
    out.append((
        "members_by_category",
        charts.bar_chart(
            text("ledger.chart.by_category", period=stats.period.label),
            [category_label(text, c.category) for c in m.by_category],
            [
                charts.Series(text("ledger.series.active"), [c.active for c in m.by_category]),
                charts.Series(text("ledger.series.former"), [c.left + c.erased for c in m.by_category]),
            ],
            horizontal=True,
        ),
    ))
    groups = m.by_group[:40]
    out.append((
        "members_by_group",
        charts.bar_chart(
            text("ledger.chart.by_group"),
            [g.name for g in groups],
            [
                charts.Series(text("ledger.series.active"), [g.active for g in groups]),
                charts.Series(text("ledger.series.pending"), [g.pending for g in groups]),
            ],
            horizontal=True,
            stacked=True,
        ),
    ))
    monthly = stats.activities.monthly(stats.period)
    out.append((
        "participation_by_month",
        charts.bar_chart(
            text("ledger.chart.monthly", period=stats.period.label),
            [f"{m:%Y-%m}" for m, _s, _a in monthly],
            [
                charts.Series(text("ledger.series.signups"), [s for _m, s, _a in monthly]),
                charts.Series(text("ledger.series.attended"), [a for _m, _s, a in monthly]),
            ],
        ),
    ))
    recent = stats.notices.notices[-12:]
    out.append((
        "notice_acknowledgements",
        charts.bar_chart(
            text("ledger.chart.notices", period=stats.period.label),
            [notice_label(n) for n in recent],
            [
                charts.Series(text("ledger.series.delivery"), [_rate(n.delivered, n.recipients) for n in recent]),
                charts.Series(text("ledger.series.ack"), [_rate(n.acknowledged, n.delivered) for n in recent]),
            ],
            horizontal=True,
            percent=True,
        ),
    ))
    fb = stats.feedback.by_kind_status
    kinds = [k for k in KINDS if any(kk == k for kk, _ in fb)] or list(KINDS)
    statuses = [st for st in STATUSES if any(ss == st for _, ss in fb)] or ["new"]
    out.append((
        "feedback_by_kind_status",
        charts.bar_chart(
            text("ledger.chart.feedback", period=stats.period.label),
            [kind_label(text, k) for k in kinds],
            [charts.Series(status_label(text, st), [fb.get((k, st), 0) for k in kinds]) for st in statuses],
            stacked=True,
            colours=[charts.STATUS_COLOURS.get(st, charts.PALETTE[0]) for st in statuses],
        ),
    ))
    return out


# --- period summary (工作总结) ---------------------------------------------------------------------
LINES_PER_PAGE = 34


def stats_lines(stats: Stats, text: Text) -> list[str]:
    m = stats.members
    lines = [
        text("ledger.doc.members_total", active=m.active, total=m.total),
        text("ledger.doc.members_joined", count=m.joined_in_period),
        text("ledger.doc.pending", count=m.pending_approvals),
        text("ledger.doc.unreachable", count=m.unreachable),
        text("ledger.doc.stale", count=m.stale_profiles),
        "",
        text("ledger.doc.by_category"),
    ]
    lines += [f"  {category_label(text, c.category)}: {c.active}" for c in m.by_category]
    a, f = stats.activities, stats.feedback
    rate = a.attendance_rate
    hours = median_hours(f.answer_seconds)
    lines += [
        "",
        text("ledger.doc.activity_figures", held=a.held, signups=a.signups, attended=a.attended,
             rate="—" if rate is None else f"{rate * 100:.1f}%", no_shows=a.no_shows),
        text("ledger.doc.feedback_figures", received=f.received, answered=f.answered, overdue=f.overdue,
             median="—" if hours is None else text("ledger.hours", hours=f"{hours:.1f}")),
    ]
    lines += [f"  {kind_label(text, k)}: {n}" for k, n in sorted(f.by_kind().items())]
    n = stats.notices
    lines.append(text(
        "ledger.doc.notice_figures", sent=n.sent, recipients=n.recipients, delivered=n.delivered,
        delivery="—" if n.delivery_rate is None else f"{n.delivery_rate * 100:.1f}%", acked=n.acknowledged,
        ack="—" if n.ack_rate is None else f"{n.ack_rate * 100:.1f}%",
    ))
    lines += ["", text("ledger.doc.by_group")]
    lines += [f"  {g.name}: {g.active}" for g in m.by_group]
    return lines


def build_summary_pdf(stats: Stats, text: Text, sections: Sequence[tuple[str, list[str]]], now: datetime) -> bytes:
    """A4 pages: the period's figures, then each section's list, then the charts."""
    from matplotlib.backends.backend_pdf import PdfPages

    from bot.ledger import charts

    title = text("ledger.doc.title", period=stats.period.label)
    body = stats_lines(stats, text)
    for heading, items in sections:
        body += ["", heading]
        body += [f"  {item}" for item in items] if items else ["  " + text("ledger.doc.none")]
    pages = [body[i : i + LINES_PER_PAGE] for i in range(0, len(body), LINES_PER_PAGE)] or [[]]
    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"Title": title, "Creator": "liaison-bot", "CreationDate": now}) as pdf:
        for index, lines in enumerate(pages):
            heading = title if index == 0 else f"{title} ({index + 1})"
            pdf.savefig(charts.text_page(heading, lines))
        for _name, figure in stats_charts(stats, text):
            figure.set_size_inches(*charts.A4_INCHES)
            pdf.savefig(figure)
    return buffer.getvalue()
