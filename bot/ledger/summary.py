"""The work summary (工作总结) as an A4 PDF document: title block, four sections, tables, charts.

Sections in the order the associations report them: 组织建设 (organisation), 活动开展 (activities),
建言献策 (suggestions), 宣传通知 (notices). Each has a table of its figures and, where numbers are
compared, a chart sized for the page (two per page at most; a sentence instead of an empty chart).
Pages are laid out first, then drawn, so every page carries "page n of N". matplotlib draws the
pages with the embedded CJK font (charts.font_family); text stays text (pdf.fonttype 42).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.ledger import charts
from bot.ledger.models import Stats, Text, median_hours

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bot.ledger.models import AnsweredItem

PAGE_W, PAGE_H = charts.A4_INCHES
MARGIN = 0.85
TOP = PAGE_H - 0.9
BOTTOM = 0.95
ROW_H = 0.27
CHART_H = 3.3
CHARTS_PER_PAGE = 2
TABLE_ROWS = 30
INK = "#222222"
ACCENT = charts.PALETTE[0]


@dataclass
class Block:
    height: float  # inches
    draw: Callable[[Figure, float], None]  # (figure, top in inches from the bottom)
    chart: bool = False


@dataclass(frozen=True)
class Item:
    """One piece of the summary, whatever draws it: "title", "heading", "sentence", "table", "chart"."""

    kind: str
    args: tuple[Any, ...]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Page:
    blocks: list[tuple[Block, float]] = field(default_factory=list)
    charts: int = 0


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _fx(x: float) -> float:
    return x / PAGE_W


def _fy(y: float) -> float:
    return y / PAGE_H


def title_block(association: str, heading: str, period: str, generated: str) -> Block:
    def draw(fig: Figure, top: float) -> None:
        fig.text(0.5, _fy(top - 0.35), association, ha="center", va="top", fontsize=20, weight="bold", color=INK)
        fig.text(0.5, _fy(top - 0.95), heading, ha="center", va="top", fontsize=17, color=ACCENT)
        fig.text(0.5, _fy(top - 1.45), period, ha="center", va="top", fontsize=11, color=INK)
        fig.text(0.5, _fy(top - 1.75), generated, ha="center", va="top", fontsize=9, color="#666666")
        fig.add_artist(_line(top - 2.1, ACCENT, 1.2))

    return Block(2.3, draw)


def _line(y: float, colour: str, width: float) -> Any:
    from matplotlib.lines import Line2D

    return Line2D([_fx(MARGIN), _fx(PAGE_W - MARGIN)], [_fy(y), _fy(y)], color=colour, linewidth=width)


def heading_block(text: str) -> Block:
    def draw(fig: Figure, top: float) -> None:
        fig.text(_fx(MARGIN), _fy(top - 0.12), text, va="top", fontsize=14, weight="bold", color=ACCENT)

    return Block(0.55, draw)


def sentence_block(text: str) -> Block:
    def draw(fig: Figure, top: float) -> None:
        fig.text(_fx(MARGIN), _fy(top - 0.05), text, va="top", fontsize=10, color="#555555", style="italic")

    return Block(0.4, draw)


def table_blocks(headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
                 numeric_from: int = 1) -> list[Block]:
    """A table cut into blocks of at most TABLE_ROWS rows (the header repeated on each)."""
    chunks = [rows[i : i + TABLE_ROWS] for i in range(0, len(rows), TABLE_ROWS)] or [[]]
    return [_table(headers, chunk, widths, numeric_from) for chunk in chunks]


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float], numeric_from: int) -> Block:
    from matplotlib.patches import Rectangle

    span = PAGE_W - 2 * MARGIN
    total = sum(widths)
    lefts = [MARGIN + span * sum(widths[:i]) / total for i in range(len(widths))]
    rights = [MARGIN + span * sum(widths[: i + 1]) / total for i in range(len(widths))]

    def draw(fig: Figure, top: float) -> None:
        for r, row in enumerate([headers, *rows]):
            y = top - r * ROW_H
            if r == 0:
                fig.add_artist(Rectangle((_fx(MARGIN), _fy(y - ROW_H)), _fx(span), _fy(ROW_H), color="#e4ecf5"))
            elif r % 2 == 0:
                fig.add_artist(Rectangle((_fx(MARGIN), _fy(y - ROW_H)), _fx(span), _fy(ROW_H), color="#f6f6f6"))
            for c, value in enumerate(row):
                numeric = c >= numeric_from
                x = rights[c] - 0.08 if numeric else lefts[c] + 0.08
                fig.text(_fx(x), _fy(y - ROW_H / 2), _fit(str(value), rights[c] - lefts[c]), va="center",
                         ha="right" if numeric else "left", fontsize=9, color=INK,
                         weight="bold" if r == 0 else "normal")
        fig.add_artist(_line(top - ROW_H, ACCENT, 0.8))
        fig.add_artist(_line(top - (len(rows) + 1) * ROW_H, "#999999", 0.5))

    return Block((len(rows) + 1) * ROW_H + 0.3, draw)


def _fit(text: str, inches: float) -> str:
    """Cut a cell's text to its column (a CJK character is about twice a Latin one at 9 pt)."""
    room = inches * 13.5
    used = 0.0
    for index, ch in enumerate(text):
        used += 2.0 if ord(ch) > 0x2E80 else 1.0
        if used > room:
            return text[: max(index - 1, 0)] + "…"
    return text


def chart_block(title: str, labels: Sequence[str], series: Sequence[charts.Series], **options: Any) -> Block:
    horizontal = bool(options.get("horizontal"))
    height = min(CHART_H + 1.2, max(2.4, 0.28 * len(labels) + 1.2)) if horizontal else CHART_H

    shown = [_fit(label, 2.3) for label in labels] if horizontal else list(labels)

    def draw(fig: Figure, top: float) -> None:
        left = MARGIN + (2.5 if horizontal else 0.45)
        ax = fig.add_axes((_fx(left), _fy(top - height + 0.55), _fx(PAGE_W - MARGIN - 0.3 - left), _fy(height - 1.05)))
        fig.text(_fx(MARGIN), _fy(top - 0.1), title, va="top", fontsize=11, weight="bold", color=INK, wrap=True)
        charts.draw_bars(ax, "", shown, series, **options)

    return Block(height, draw, chart=True)


def figures_table(text: Text, rows: Sequence[tuple[str, str]]) -> list[Block]:
    return table_blocks([text("ledger.pdf.col_item"), text("ledger.pdf.col_value")], rows, (3, 1))


def layout(blocks: Sequence[Block]) -> list[Page]:
    pages = [Page()]
    y = TOP
    for block in blocks:
        page = pages[-1]
        full = y - block.height < BOTTOM or (block.chart and page.charts >= CHARTS_PER_PAGE)
        if full and page.blocks:
            pages.append(Page())
            page, y = pages[-1], TOP
        page.blocks.append((block, y))
        page.charts += block.chart
        y -= block.height
    return pages


def render(pages: Sequence[Page], text: Text, running: str, metadata: dict[str, Any]) -> bytes:
    from matplotlib.backends.backend_pdf import PdfPages

    buffer = io.BytesIO()
    with PdfPages(buffer, metadata=metadata) as pdf:
        for number, page in enumerate(pages, 1):
            fig = charts.new_figure(charts.A4_INCHES)
            if number > 1:
                fig.text(_fx(MARGIN), _fy(PAGE_H - 0.5), running, fontsize=8, color="#777777")
            for block, top in page.blocks:
                block.draw(fig, top)
            fig.add_artist(_line(0.75, "#cccccc", 0.5))
            fig.text(0.5, _fy(0.5), text("ledger.pdf.page", page=number, pages=len(pages)), ha="center",
                     fontsize=8, color="#555555")
            pdf.savefig(fig)
    return buffer.getvalue()


def content(
    stats: Stats, text: Text, association: str, answered: Sequence[AnsweredItem], now: datetime
) -> tuple[str, list[Item]]:
    """The work summary's title and items, in order (drawn as PDF pages here, as a .docx by summary_docx)."""
    from bot.ledger.reports import category_label, kind_label, notice_label, status_label

    zone = stats.period.zone
    m, a, f, n = stats.members, stats.activities, stats.feedback, stats.notices
    heading = text("ledger.pdf.heading")
    blocks: list[Item] = [
        Item("title", (association, heading, text("ledger.pdf.period", period=stats.period.label),
                       text("ledger.pdf.generated", date=now.astimezone(zone).date().isoformat()))),
    ]
    # 组织建设
    former = sum(c.left + c.erased for c in m.by_category)
    blocks.append(_heading(text("ledger.pdf.s_org")))
    blocks.append(_figures(text, [
        (text("ledger.pdf.f_active"), str(m.active)), (text("ledger.pdf.f_total"), str(m.total)),
        (text("ledger.pdf.f_joined"), str(m.joined_in_period)), (text("ledger.pdf.f_left"), str(former)),
        (text("ledger.pdf.f_pending"), str(m.pending_approvals)), (text("ledger.pdf.f_stale"), str(m.stale_profiles)),
    ]))
    cats = m.by_category
    blocks.append(_table_item(
        text("ledger.pdf.cols_category").split("|"),
        [(category_label(text, c.category), str(c.active), str(c.pending), str(c.left + c.erased)) for c in cats],
        (7, 1, 1, 1),
    ))
    blocks.append(_chart_or_sentence(text, text("ledger.pdf.by_category_t"), [category_label(text, c.category)
                                                                               for c in cats],
                  [charts.Series(text("ledger.series.active"), [c.active for c in cats]),
                   charts.Series(text("ledger.series.former"), [c.left + c.erased for c in cats])], horizontal=True))
    groups = m.by_group
    blocks.append(_table_item(text("ledger.pdf.cols_group").split("|"),
                           [(g.name, str(g.active), str(g.pending)) for g in groups], (5, 1, 1)))
    top_groups = sorted(groups, key=lambda g: -g.active)[:15]
    blocks.append(_chart_or_sentence(text, text("ledger.pdf.by_group_t"), [g.name for g in top_groups],
                  [charts.Series(text("ledger.series.active"), [g.active for g in top_groups]),
                   charts.Series(text("ledger.series.pending"), [g.pending for g in top_groups])],
                  horizontal=True, stacked=True))
    # 活动开展
    blocks.append(_heading(text("ledger.pdf.s_act")))
    blocks.append(_figures(text, [
        (text("ledger.pdf.f_held"), str(a.held)), (text("ledger.pdf.f_signups"), str(a.signups)),
        (text("ledger.pdf.f_attended"), str(a.attended)), (text("ledger.pdf.f_rate"), _pct(a.attendance_rate)),
        (text("ledger.pdf.f_noshow"), str(a.no_shows)),
    ]))
    top = sorted(a.activities, key=lambda r: (-r.attended, -r.confirmed, r.starts_at))[:10]
    blocks.append(_sentence(text("ledger.pdf.top")))
    blocks.append(_table_item(
        text("ledger.pdf.cols_top").split("|"),
        [(r.title, r.starts_at.astimezone(zone).date().isoformat(), str(r.confirmed), str(r.attended)) for r in top],
        (5, 2, 1, 1), numeric_from=2,
    ))
    monthly = a.monthly(stats.period)
    blocks.append(_chart_or_sentence(
        text, text("ledger.chart.monthly", period=stats.period.label), [f"{mo:%Y-%m}" for mo, _s, _a in monthly],
        [charts.Series(text("ledger.series.signups"), [s for _m, s, _a in monthly]),
         charts.Series(text("ledger.series.attended"), [x for _m, _s, x in monthly])],
    ))
    # 建言献策
    hours = median_hours(f.answer_seconds)
    blocks.append(_heading(text("ledger.pdf.s_fb")))
    blocks.append(_figures(text, [
        (text("ledger.pdf.f_received"), str(f.received)), (text("ledger.pdf.f_answered"), str(f.answered)),
        (text("ledger.pdf.f_median"), "—" if hours is None else text("ledger.hours", hours=f"{hours:.1f}")),
        (text("ledger.pdf.f_overdue"), str(f.overdue)),
        *[(kind_label(text, k), str(v)) for k, v in sorted(f.by_kind().items())],
    ]))
    fb = f.by_kind_status
    kinds = [k for k in charts_kinds() if any(kk == k for kk, _ in fb)]
    statuses = [st for st in charts_statuses() if any(ss == st for _, ss in fb)]
    blocks.append(_chart_or_sentence(
        text, text("ledger.chart.feedback", period=stats.period.label), [kind_label(text, k) for k in kinds],
        [charts.Series(status_label(text, st), [fb.get((k, st), 0) for k in kinds]) for st in statuses],
        stacked=True, colours=[charts.STATUS_COLOURS.get(st, ACCENT) for st in statuses],
    ))
    blocks.append(_sentence(text("ledger.pdf.answered")))
    blocks.append(_table_item(
        text("ledger.pdf.cols_answered").split("|"),
        [(i.ref, " ".join(i.body.split()), i.answered_at.astimezone(zone).date().isoformat()) for i in answered],
        (2, 6, 2), numeric_from=2,
    ))
    # 宣传通知
    blocks.append(_heading(text("ledger.pdf.s_notice")))
    blocks.append(_figures(text, [
        (text("ledger.pdf.f_sent"), str(n.sent)), (text("ledger.pdf.f_recipients"), str(n.recipients)),
        (text("ledger.pdf.f_delivered"), str(n.delivered)), (text("ledger.pdf.f_delivery"), _pct(n.delivery_rate)),
        (text("ledger.pdf.f_acked"), str(n.acknowledged)), (text("ledger.pdf.f_ack"), _pct(n.ack_rate)),
    ]))
    recent = n.notices[-10:]
    blocks.append(_chart_or_sentence(
        text, text("ledger.chart.notices", period=stats.period.label), [notice_label(x) for x in recent],
        [charts.Series(text("ledger.series.delivery"), [_rate(x.delivered, x.recipients) for x in recent]),
         charts.Series(text("ledger.series.ack"), [_rate(x.acknowledged, x.delivered) for x in recent])],
        horizontal=True, percent=True,
    ))
    return f"{association} {heading} {stats.period.label}", blocks


def build(stats: Stats, text: Text, association: str, answered: Sequence[AnsweredItem], now: datetime) -> bytes:
    """The work summary of `stats` as PDF bytes (worker thread)."""
    title, items = content(stats, text, association, answered, now)
    pages = layout([block for item in items for block in pdf_blocks(item)])
    return render(pages, text, title, {"Title": title, "Creator": "liaison-bot", "CreationDate": now})


def pdf_blocks(item: Item) -> list[Block]:
    """An item as the PDF's blocks (a long table cut into blocks of TABLE_ROWS rows)."""
    if item.kind == "title":
        return [title_block(*item.args)]
    if item.kind == "heading":
        return [heading_block(*item.args)]
    if item.kind == "sentence":
        return [sentence_block(*item.args)]
    if item.kind == "table":
        return table_blocks(*item.args)
    title, labels, series = item.args
    return [chart_block(title, labels, series, **item.options)]


def _rate(part: int, whole: int) -> float:
    return 0.0 if whole == 0 else part * 100 / whole


def charts_kinds() -> tuple[str, ...]:
    from bot.ledger.reports import KINDS

    return tuple(KINDS)


def charts_statuses() -> tuple[str, ...]:
    from bot.ledger.reports import STATUSES

    return tuple(STATUSES)


def _chart_or_sentence(text: Text, title: str, labels: Sequence[str], series: Sequence[charts.Series],
                       **options: Any) -> Item:
    if not labels or not charts.has_data(series):
        return _sentence(f"{title}: {text('ledger.pdf.no_chart')}")
    return Item("chart", (title, list(labels), list(series)), options)


def _heading(text: str) -> Item:
    return Item("heading", (text,))


def _sentence(text: str) -> Item:
    return Item("sentence", (text,))


def _figures(text: Text, rows: Sequence[tuple[str, str]]) -> Item:
    return Item("table", ([text("ledger.pdf.col_item"), text("ledger.pdf.col_value")], list(rows), (3, 1)))


def _table_item(headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
                numeric_from: int = 1) -> Item:
    return Item("table", (list(headers), [list(r) for r in rows], tuple(widths), numeric_from))
