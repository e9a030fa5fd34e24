"""The work summary (工作总结) as a .docx the office can edit (python-docx): the same items as the PDF
(bot/ledger/summary.py `content`) — title block, the four sections, their tables, charts as pictures
(the same drawing, as PNG) — in Word's own headings and tables, page numbers in the footer.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.ledger import charts
from bot.ledger.models import Stats, Text
from bot.ledger.summary import Item, content

if TYPE_CHECKING:
    from docx.document import Document

    from bot.ledger.models import AnsweredItem

CJK_FONT = "SimSun"  # what Word shows Chinese text in when the reader has it (else its own choice)


def build_docx(stats: Stats, text: Text, association: str, answered: Sequence[AnsweredItem], now: datetime) -> bytes:
    """The work summary of `stats` as .docx bytes (worker thread)."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    title, items = content(stats, text, association, answered, now)
    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = "liaison-bot"
    normal = document.styles["Normal"]
    normal.font.size = Pt(10.5)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), CJK_FONT)
    _page_numbers(document, text)
    for item in items:
        if item.kind == "title":
            association_name, heading, period, generated = item.args
            for line, size, bold in ((association_name, 20, True), (heading, 16, True), (period, 11, False),
                                     (generated, 9, False)):
                paragraph = document.add_paragraph()
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                run = paragraph.add_run(line)
                run.font.size, run.font.bold = Pt(size), bold
        elif item.kind == "heading":
            document.add_heading(item.args[0], level=1)
        elif item.kind == "sentence":
            document.add_paragraph(item.args[0]).runs[0].italic = True
        elif item.kind == "table":
            _table(document, item)
        else:
            _chart(document, item)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _table(document: Document, item: Item) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    headers, rows, _widths, *rest = item.args
    numeric_from = rest[0] if rest else 1
    table = document.add_table(rows=1, cols=len(headers))
    table.style = "Light Grid Accent 1"
    for cell, value in zip(table.rows[0].cells, headers, strict=True):
        cell.text = str(value)
        cell.paragraphs[0].runs[0].bold = True
    for row in rows:
        cells = table.add_row().cells
        for index, (cell, value) in enumerate(zip(cells, row, strict=True)):
            cell.text = str(value)
            if index >= numeric_from:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    document.add_paragraph()


def _chart(document: Document, item: Item) -> None:
    from docx.shared import Inches

    title, labels, series = item.args
    height = min(6.0, 0.3 * len(labels) + 1.6) if item.options.get("horizontal") else 3.4
    figure = charts.bar_chart(title, labels, series, size=(6.3, height), **item.options)
    image = io.BytesIO()
    figure.savefig(image, format="png", dpi=150)
    document.add_picture(io.BytesIO(image.getvalue()), width=Inches(6.3))


def _page_numbers(document: Document, text: Text) -> None:
    """A footer 'page n of N' from Word's PAGE and NUMPAGES fields (the template's words around them)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    paragraph = document.sections[0].footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    marker = "\x00"
    words = text("ledger.pdf.page", page=marker + "PAGE" + marker, pages=marker + "NUMPAGES" + marker)
    for index, part in enumerate(words.split(marker)):
        if index % 2 == 0:
            if part:
                paragraph.add_run(part)
            continue
        run = paragraph.add_run()
        for kind, value in (("begin", None), (None, f" {part} "), ("separate", None), ("end", None)):
            if kind is None:
                element: Any = OxmlElement("w:instrText")
                element.set(qn("xml:space"), "preserve")
                element.text = value
            else:
                element = OxmlElement("w:fldChar")
                element.set(qn("w:fldCharType"), kind)
            run._r.append(element)
