"""/summary: a period summary (工作总结) as a PDF of A4 pages."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.ledger_helpers import HEAD_COORDINATOR, seed


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", data))


async def test_summary_is_a_pdf_with_the_expected_pages(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    head = tg.create_user("Head", user_id=HEAD_COORDINATOR, language_code="en")
    await head.send("/summary 2026-01-01 2026-12-31")
    document = await head.wait_for(lambda m: m.document is not None, timeout=20)
    assert document.document is not None
    assert document.document["file_name"] == "summary-20260101-20261231.pdf"
    data = await head.download(document)
    assert data.startswith(b"%PDF")
    assert b"WenQuanYi" in data  # the CJK font is embedded
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
    assert len(pages) == pdf_pages(data) >= 2
    assert "浦东新联总会" in pages[0] and "Work summary" in pages[0]  # the head group's name by default
    assert "Period: 2026-01-01" in pages[0] and "Generated on 2026-11-" in pages[0]
    for number, page in enumerate(pages, 1):
        assert f"Page {number} of {len(pages)}" in page
    whole = "\n".join(pages)
    for section in ("1. Organisation", "2. Activities", "3. Suggestions and feedback", "4. Notices"):
        assert section in whole
    for raw in ("enterprise", "new_media", "ledger.", "in_progress", "label."):
        assert raw not in whole, raw
    assert "Managers and technical staff" in whole  # categories by their labels


async def test_summary_period_buttons_offer_month_and_year(tg: FakeTelegram, bot: BotRuntime) -> None:
    head = tg.create_user("Head", user_id=HEAD_COORDINATOR, language_code="en")
    assert bot.db is not None
    await seed(bot.db)
    await head.send("/summary")
    await head.press(await head.next_message(), "This month")
    document = await head.wait_for(lambda m: m.document is not None, timeout=20)
    assert document.document is not None and document.document["file_name"] == "summary-20261101-20261130.pdf"


async def test_summary_also_comes_as_an_editable_docx(tg: FakeTelegram, bot: BotRuntime) -> None:
    """#18 (optional part): the same summary as a .docx: title block, the four sections, tables,
    charts as pictures, page numbers in the footer, labels not keys."""
    from docx import Document

    assert bot.db is not None
    await seed(bot.db)
    head = tg.create_user("Head", user_id=HEAD_COORDINATOR, language_code="en")
    await head.send("/summary 2026-01-01 2026-12-31")
    message = await head.wait_for(
        lambda m: m.document is not None and m.document.get("file_name", "").endswith(".docx"), timeout=30
    )
    assert message.document is not None and message.document["file_name"] == "summary-20260101-20261231.docx"
    document = Document(io.BytesIO(await head.download(message)))
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == "浦东新联总会" and paragraphs[1] == "Work summary"
    assert paragraphs[2].startswith("Period: 2026-01-01") and paragraphs[3].startswith("Generated on 2026-11-")
    headings = [p.text for p in document.paragraphs if p.style is not None and p.style.name == "Heading 1"]
    assert headings == ["1. Organisation", "2. Activities", "3. Suggestions and feedback", "4. Notices"]
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    assert "Managers and technical staff of private/foreign firms" in cells
    assert document.inline_shapes  # the charts
    footer = document.sections[0].footer.paragraphs[0]._p.xml
    assert "PAGE" in footer and "NUMPAGES" in footer and "Page " in footer
    whole = "\n".join([*paragraphs, *cells])
    for raw in ("enterprise", "new_media", "ledger.", "in_progress", "label."):
        assert raw not in whole, raw
