"""Documents of the ledger: the XLSX workbook (+ CSV zip), the charts, the period summary PDF.

The export runs in a worker thread (`asyncio.to_thread`) on the storage's read-only `Snapshot`
(one consistent picture for every sheet), so a large export never blocks other users; it reports
progress through a thread-safe `Progress` that the handler polls to edit a status message.
Every stored enum-like value (category, status, kind) is written as its label (`models.shown`),
in the reader's language, in every sheet, chart and page.
"""

from __future__ import annotations

import csv
import html
import io
import re
import threading
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot import labels
from bot.i18n import Translator
from bot.ledger.models import (
    CATEGORY,
    FEEDBACK_KIND,
    FEEDBACK_STATUS,
    ExportFiles,
    NoticeRow,
    Stats,
    Text,
    median_hours,
    shown,
)
from bot.text import export_safe

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from storage.ledger import Sheet, Snapshot

# matplotlib (about 0.9 s to import) is imported only when a chart or PDF is built, not at start-up.

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


def plain(tr: Translator) -> Text:
    """Catalogue texts as plain text (documents are not HTML)."""

    def text(key: str, **values: Any) -> str:
        return html.unescape(str(tr(key, **values)))

    return text


@dataclass
class Progress:
    """Rows written so far out of the total (shared between the worker and the handler)."""

    total: int = 0
    done: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, rows: int) -> None:
        with self._lock:
            self.done += rows

    @property
    def percent(self) -> int:
        with self._lock:
            return 100 if self.total <= 0 else min(100, self.done * 100 // self.total)


_TAG = re.compile(r"<[^>]*>")


def html_to_text(value: Any) -> Any:
    """Telegram HTML (notices) as plain text for documents."""
    if not isinstance(value, str):
        return value
    return html.unescape(_TAG.sub("", value)).strip()


_PHONE_LIKE = re.compile(r"^\+?\d+$")
_DATE_FORMAT = "yyyy-mm-dd hh:mm"


def guarded(value: str) -> str:
    """A stored text as a cell: XML-safe, and never read as a formula (phone numbers stay as they are)."""
    value = export_safe(value)
    if value and value.startswith(_FORMULA_START) and not _PHONE_LIKE.match(value):
        return "'" + value  # never let a member's text become a spreadsheet formula
    return value


def local_time(stored: str, zone: ZoneInfo) -> datetime | None:
    """A stored instant (storage/timefmt) as a naive local date-time for a spreadsheet cell."""
    try:
        moment = datetime.fromisoformat(stored[:26]).replace(tzinfo=UTC)
    except ValueError:
        return None
    return moment.astimezone(zone).replace(tzinfo=None)


class _Columns:
    """How each column of a sheet becomes a cell: labels, yes/no, local times, plain text from HTML."""

    def __init__(self, sheet: Sheet, text: Text, zone: ZoneInfo) -> None:
        self._text = text
        self._zone = zone
        self.labelled = dict(sheet.labelled)
        self.times = set(sheet.times)
        self.flags = set(sheet.flags)
        self.html = set(sheet.html_columns)
        self._known: dict[tuple[str, Any], Any] = {}
        self._moments: dict[str, datetime | None] = {}
        self.yes, self.no = text("ledger.bool.yes"), text("ledger.bool.no")

    def _label(self, kind: str, value: Any) -> Any:
        word = self._known.get((kind, value))
        if word is None:
            word = shown(self._text, kind, value) if isinstance(value, str) else value
            self._known[(kind, value)] = word
        return word

    def _time(self, value: Any) -> Any:
        """A stored instant as a local date-time (memoised: an export repeats the same instants)."""
        if not isinstance(value, str):
            return value
        known = self._moments.get(value)
        if known is None:
            if len(self._moments) > 200_000:
                self._moments.clear()
            known = self._moments[value] = local_time(value, self._zone)
        return known

    def _flag(self, value: Any) -> Any:
        return self.yes if value else self.no

    def _other(self, column: int) -> Callable[[Any], Any]:
        kind = self.labelled.get(column)
        html_column = column in self.html

        def convert(value: Any) -> Any:
            if kind is not None:
                value = self._label(kind, value)
            if html_column:
                value = html_to_text(value)
            return guarded(value) if isinstance(value, str) else value

        return convert

    def converters(self, width: int) -> list[Callable[[Any], Any]]:
        """One converter per column: stored value -> XLSX value (numbers stay numbers)."""
        return [
            self._time if i in self.times else self._flag if i in self.flags else self._other(i) for i in range(width)
        ]

    def rows(self, stored: Iterator[tuple[Any, ...]], width: int) -> Iterator[list[Any]]:
        convert = self.converters(width)
        pairs = list(enumerate(convert))
        for row in stored:
            values = list(row)
            for i, f in pairs:
                v = values[i]
                if v is not None:
                    values[i] = f(v)
            yield values


def _csv_time(value: Any) -> Any:
    return value.isoformat(" ", "minutes") if isinstance(value, datetime) else value


def build_export(
    open_snapshot: Callable[[], Snapshot], paths: Sequence[str] | None, text: Text, zone: ZoneInfo,
    progress: Progress,
) -> ExportFiles:
    """The whole ledger of the scope as one XLSX workbook and a zip of CSV files (worker thread).

    One pass over each sheet's rows feeds both files: the XLSX through rustpy-xlsxwriter in
    constant-memory mode (bold frozen header, filter, fitted widths, real date cells), the CSV
    into the zip. See bench/RESULTS.md for the writers compared.
    """
    import rustpy_xlsxwriter

    with open_snapshot() as snapshot:  # one consistent picture for every sheet
        sheets = snapshot.sheets(paths)
        # The progress total: exact per scope; for the whole ledger each table's size (no second pass).
        count = snapshot.count_rows if paths is not None else snapshot.estimate_rows
        progress.total = sum(count(s) for s in sheets)
        zipped = io.BytesIO()
        rows: dict[str, int] = {}
        names: list[str] = []
        with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:

            def records(sheet: Sheet, headers: list[str]) -> Iterator[dict[str, Any]]:
                columns = _Columns(sheet, text, zone)
                times = sorted(columns.times)
                count = 0
                with archive.open(f"{sheet.key}.csv", "w") as raw:
                    stream = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
                    writer = csv.writer(stream)
                    writer.writerow(headers)
                    for values in columns.rows(snapshot.iter_rows(sheet), len(headers)):
                        record = dict(zip(headers, values, strict=True))
                        for i in times:
                            values[i] = _csv_time(values[i])
                        writer.writerow(values)  # None is written as an empty field
                        yield record
                        count += 1
                        if count % 5000 == 0:
                            progress.add(5000)
                    progress.add(count % 5000)
                    stream.flush()
                    stream.detach()
                rows[sheet.key] = count
                if count == 0:
                    yield dict.fromkeys(headers)  # the header row of an empty sheet

            entries: list[tuple[str, Any]] = []
            for sheet in sheets:
                name = text(f"ledger.sheet.{sheet.key}").translate(_SHEET_FORBIDDEN)[:31]
                headers = [h.strip() for h in text(f"ledger.cols.{sheet.key}").split("|")]
                names.append(name)
                entries.append((name, records(sheet, headers)))
            out = io.BytesIO()
            rustpy_xlsxwriter.write_worksheets(
                entries, out, freeze_panes={"general": {"row": 1, "col": 0}}, autofit=True, bold_headers=True,
                autofilter=dict.fromkeys(names, True), datetime_format=_DATE_FORMAT,
            )
    return ExportFiles(out.getvalue(), zipped.getvalue(), rows)


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
